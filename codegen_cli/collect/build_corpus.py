"""`collect(CollectConfig) -> CollectSummary`: the one entry point of the collect stage.

Two passes, both resumable:
1. per-chunk work (runner.py / process.py): read, filter, redact, hash, sign -> `.work/parts/NNNNNN.*`;
   a `--shard I/N` run does only its chunks and stops here with a shard marker;
2. finish (or `--merge`): global exact + near dedup over the key arrays of all chunks, then the
   surviving rows are copied into `data/train-NNNNN.parquet`, and `manifest.json` is written last.
A finished corpus folder is recognised on rerun (same options, same source listing: listing.py) and
returned as is; when a source changed since (a file added, removed or edited) the corpus is rebuilt.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from codegen_cli.atomic import atomic_open, atomic_write_json, sha256_json
from codegen_cli.collect import dedup
from codegen_cli.collect import sources as src
from codegen_cli.collect.card import CARD_NAME, write_dataset_card
from codegen_cli.collect.config import CollectConfig, CollectSummary
from codegen_cli.collect.decontaminate import load_benchmark
from codegen_cli.collect.licenses import parse_allow_list
from codegen_cli.collect.listing import describe_change, list_source
from codegen_cli.collect.process import WorkerSettings, chunk_paths
from codegen_cli.collect.runner import make_chunks, run_chunks
from codegen_cli.collect.stats import Stats
from codegen_cli.collect.writer import (
    SHARD_PATTERN,
    chunk_offsets,
    plan_files,
    remove_stale,
    report_drops,
    write_file,
)
from codegen_cli.errors import InputDataError, MismatchError, UsageError
from codegen_cli.jsonl_store import writer_lock
from codegen_cli.languages import parse_language_list
from codegen_cli.manifest import MANIFEST_NAME, Manifest, write_manifest
from codegen_cli.output import log, progress, warn

DEDUP_REASONS = ("", "exact_duplicate", "near_duplicate")


def collect(cfg: CollectConfig) -> CollectSummary:
    cfg.validate()
    started = time.monotonic()
    if cfg.merge:
        # `--merge --shard I/N` tasks run at once by design (each writes its own files; merge_lock orders
        # the shared steps): only a whole merge is one writer
        with contextlib.nullcontext() if cfg.shard else writer_lock(cfg.output):
            return merge(cfg)
    options = cfg.row_options()
    options["sources"] = source_specs(cfg)
    digest = sha256_json(options)
    parsed = [src.parse_spec(spec) for spec in options["sources"]]  # bad paths fail before any write
    sources = [src.prepare(source, cache_dir=cfg.cache_dir) for source in parsed]
    _check_sources(sources, cfg)
    source_info = described_sources(sources, cfg.skip_vendored)
    _check_not_empty(source_info)
    done = _finished(cfg, digest, source_info)
    if done is not None:
        return done
    # --shard runs share the folder by design (each writes only its own chunks): only whole runs are locked
    with contextlib.nullcontext() if cfg.shard else writer_lock(cfg.output):
        return _collect_chunks(cfg, sources, source_info, options=options, digest=digest, started=started)


def _collect_chunks(cfg: CollectConfig, sources: list[src.Source], source_info: list[dict[str, Any]], *,
                    options: dict[str, Any], digest: str, started: float) -> CollectSummary:
    """Pass 1 (every chunk not finished before), then pass 2 unless this is a --shard run."""
    settings = _worker_settings(cfg, cfg.output / ".work")
    work = _prepare_work_dir(cfg, options, digest)
    shard_index, shard_count = cfg.shard_spec()
    stats, chunk_ids, resumed = Stats(), [], 0

    def on_done(marker: dict[str, Any], was_resumed: bool) -> None:
        nonlocal resumed
        part = Stats.from_dict(marker["stats"])
        stats.add(part)
        chunk_ids.append(marker["index"])
        resumed += was_resumed
        bar.advance(part.files_seen, MB_read=round(stats.bytes_read / 1e6, 1),
                    kept_before_dedup=sum(v[0] for v in stats.kept.values()))

    streams = ((i, s.name, src.iter_items(s, skip_vendored=cfg.skip_vendored, content_column=cfg.content_column,
                                          path_column=cfg.path_column, language_column=cfg.language_column,
                                          chunk_files=cfg.chunk_files))
               for i, s in enumerate(sources))
    mine = make_chunks(streams, cfg.chunk_files, wanted=lambda index: index % shard_count == shard_index)
    with progress("collect", total=sum(s["listing"]["files"] for s in source_info) or None, unit="files") as bar:
        run_chunks(mine, settings, cfg.worker_count(), on_done)
    atomic_write_json(work / "shards" / f"{shard_index}-of-{shard_count}.json",
                      {"options_sha256": digest, "chunks": sorted(chunk_ids), "sources": source_info})
    if cfg.shard:
        return _summary(cfg, stats, source_info, [], complete=False, chunks=len(chunk_ids), resumed=resumed,
                        seconds=time.monotonic() - started)
    return _finish(cfg, work, options=options, digest=digest, source_info=source_info, stats=stats,
                   chunk_ids=sorted(chunk_ids), resumed=resumed, started=started)


def _check_not_empty(source_info: list[dict[str, Any]]) -> None:
    """No input is an error (exit 3), not a corpus of 0 documents: a wrong path must not look like success.

    A hub dataset (hf:NAME) is streamed, so its size is unknown here: it is never called empty."""
    empty = [s for s in source_info if not s.get("error") and s.get("kind") != "hf" and not s["listing"]["files"]]
    usable = [s for s in source_info if not s.get("error")]
    if usable and len(empty) == len(usable):
        names = ", ".join(str(s["spec"]) for s in empty)
        raise InputDataError(f"no files in the sources ({names}): nothing to collect; check the paths, and "
                             "--keep-vendored if everything is under vendor/ or node_modules/")
    for source in empty:
        warn(f"source {source['spec']}: no files")


def _check_kept(summary: CollectSummary) -> None:
    """Every file dropped is an error with the reasons (exit 3): the filters or --languages exclude them all."""
    if summary.documents == 0:
        reasons = ", ".join(f"{reason} {row['files']}" for reason, row in
                            sorted(summary.dropped.items(), key=lambda kv: (-kv[1]["files"], kv[0])))
        raise InputDataError(f"no documents kept: {summary.files_seen} files listed, dropped: {reasons or 'none'}; "
                             "loosen the filters or --languages (the work folder is kept: a rerun resumes)")


def described_sources(sources: list[src.Source], skip_vendored: bool) -> list[dict[str, Any]]:
    """Each prepared source as the manifest records it: spec, kind, commit, and its listing (listing.py)."""
    return [{**source.to_dict(), "listing": asdict(list_source(source, skip_vendored=skip_vendored))}
            for source in sources]


def source_description(cfg: CollectConfig) -> list[dict[str, Any]]:
    """What `cfg`'s sources hold now (`described_sources`): `codegen run` fingerprints collect with it."""
    parsed = [src.parse_spec(spec) for spec in source_specs(cfg)]
    return described_sources([src.prepare(s, cache_dir=cfg.cache_dir) for s in parsed], cfg.skip_vendored)


def source_specs(cfg: CollectConfig) -> list[str]:
    specs = list(cfg.sources)
    if cfg.sources_file is not None:
        specs += src.read_sources_file(cfg.sources_file)
    return specs or [str(src.stdlib_dir())]


def _worker_settings(cfg: CollectConfig, work: Path) -> WorkerSettings:
    languages = parse_language_list(cfg.languages)
    return WorkerSettings(
        work_dir=str(work), filters=cfg.filter_settings(),
        languages=frozenset(languages) if languages else None, max_file_size=cfg.max_file_size,
        allow_licenses=parse_allow_list(cfg.licenses), redact_secrets=cfg.redact_secrets,
        near_dedup=cfg.near_dedup, ngram_size=cfg.ngram_size, num_perm=cfg.num_perm, bands=cfg.bands,
        rows=cfg.rows, benchmark=load_benchmark(cfg.decontaminate) if cfg.decontaminate else None,
    )


def _check_sources(sources: list[src.Source], cfg: CollectConfig) -> None:
    for source in sources:
        if source.error:
            warn(source.error)
        else:
            src.check_dataset(source, content_column=cfg.content_column)
    if all(source.error for source in sources):
        raise InputDataError("no source could be read: " + "; ".join(str(s.error) for s in sources))


def _finished(cfg: CollectConfig, digest: str, source_info: list[dict[str, Any]]) -> CollectSummary | None:
    """The summary of an already finished corpus made with the same options from the same source listing
    (a rerun is a no-op). Same options but a source changed since: the old corpus is removed, and rebuilt."""
    path = cfg.output / MANIFEST_NAME
    if not path.is_file() or cfg.shard:
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("options_sha256") == digest and not cfg.overwrite:
        change = describe_change(data.get("inputs") or [], source_info)
        if change is None:
            if not (cfg.output / CARD_NAME).is_file():  # a corpus made before cards existed
                write_dataset_card(cfg.output, data)
            summary = CollectSummary(**data["summary"])
            summary.already_complete = True
            return summary
        log(f"collect: the sources changed since {cfg.output} was built ({change}); rebuilding it")
        _clear_output(cfg.output)
        return None
    if not cfg.overwrite:
        raise MismatchError(f"{cfg.output} holds a corpus made with other options or sources; "
                            "use another --output or add --overwrite")
    return None


def _prepare_work_dir(cfg: CollectConfig, options: dict[str, Any], digest: str) -> Path:
    work = cfg.output / ".work"
    if cfg.overwrite:
        _clear_output(cfg.output)
    recorded = work / "options.json"
    if recorded.is_file():
        old = json.loads(recorded.read_text(encoding="utf-8"))
        started = any((work / "parts").glob("*.json"))  # no finished chunk: nothing to protect
        if old.get("options_sha256") != digest and not started:
            atomic_write_json(recorded, {"options_sha256": digest, "options": options})
        elif old.get("options_sha256") != digest:
            changed = sorted(k for k in set(old["options"]) | set(options)
                             if old["options"].get(k) != options.get(k))
            raise MismatchError(f"{work} holds an unfinished run with other options ({', '.join(changed)}); "
                                "rerun with the same options, or add --overwrite to start again")
    else:
        atomic_write_json(recorded, {"options_sha256": digest, "options": options})
    (work / "parts").mkdir(parents=True, exist_ok=True)
    return work


def _clear_output(output: Path) -> None:
    """Remove a corpus and its work folder (only once every input check passed)."""
    shutil.rmtree(output / ".work", ignore_errors=True)
    shutil.rmtree(output / "data", ignore_errors=True)
    (output / MANIFEST_NAME).unlink(missing_ok=True)
    (output / CARD_NAME).unlink(missing_ok=True)


def merge(cfg: CollectConfig) -> CollectSummary:
    """Finish a corpus from the `--shard I/N` runs recorded in OUTPUT/.work (global dedup across shards)."""
    started = time.monotonic()
    work = cfg.output / ".work"
    recorded = work / "options.json"
    manifest = cfg.output / MANIFEST_NAME
    if not recorded.is_file() and manifest.is_file():
        summary = CollectSummary(**json.loads(manifest.read_text(encoding="utf-8"))["summary"])
        summary.already_complete = True  # merged before: a rerun of the same command is a no-op
        return summary
    if not recorded.is_file():
        raise UsageError(f"{cfg.output}: no shard runs to merge; run `codegen collect ... --shard I/N -o "
                         f"{cfg.output}` for every I first")
    data = json.loads(recorded.read_text(encoding="utf-8"))
    markers = sorted((work / "shards").glob("*-of-*.json"))
    counts = {int(m.stem.split("-of-")[1]) for m in markers}
    if len(counts) != 1:
        raise InputDataError(f"{work / 'shards'}: shard markers of different shard counts: {sorted(counts)}")
    total = counts.pop()
    present = {int(m.stem.split("-of-")[0]) for m in markers}
    missing = sorted(set(range(total)) - present)
    if missing:
        raise InputDataError(f"cannot merge: shards {missing} of {total} have not finished; run them first")
    chunk_ids: list[int] = []
    stats = Stats()
    infos = [(marker, json.loads(marker.read_text(encoding="utf-8"))) for marker in markers]
    for marker, info in infos:
        problem = _shard_mismatch(infos[0][1], info, data["options_sha256"])
        if problem:
            raise MismatchError(f"cannot merge: shard {marker.stem} and shard {infos[0][0].stem} {problem}; the "
                                "chunks would not add up to one corpus. Rerun every shard against the same "
                                "sources (pin git sources with @COMMIT), then --merge")
        chunk_ids += info["chunks"]
    source_info = infos[0][1]["sources"]
    for index in chunk_ids:
        stats.add(Stats.from_dict(json.loads(chunk_paths(work, index)[2].read_text(encoding="utf-8"))["stats"]))
    stored = CollectConfig(**{**_config_fields(data["options"]), "output": cfg.output, "keep_work": cfg.keep_work})
    return _finish(stored, work, options=data["options"], digest=data["options_sha256"], source_info=source_info,
                   stats=stats, chunk_ids=sorted(chunk_ids), resumed=0, started=started, part=cfg.shard_spec())


def _shard_mismatch(first: dict[str, Any], other: dict[str, Any], digest: str) -> str | None:
    """How two shard markers disagree (options, source listing, pinned commit), or None. Each shard lists
    its sources itself, so a file added between two shard runs, or an unpinned git ref that moved, gives
    shards that chunked different listings: their chunks neither cover every file nor only once."""
    if other.get("options_sha256") != digest:
        return "ran with other options"
    change = describe_change(first["sources"], other["sources"])
    if change is not None:
        return f"saw different sources ({change})"
    commits = [(a.get("spec"), a.get("commit"), b.get("commit"))
               for a, b in zip(first["sources"], other["sources"]) if a.get("commit") != b.get("commit")]
    if commits:
        spec, one, two = commits[0]
        return f"saw different commits of {spec} ({one} vs {two})"
    return None


def _config_fields(options: dict[str, Any]) -> dict[str, Any]:
    from codegen_cli.config import from_mapping

    fields = {k: v for k, v in options.items() if k != "sources"}
    cfg = from_mapping(CollectConfig, fields, where="recorded options")
    return {**cfg.__dict__, "sources": options["sources"]}


def _finish(cfg: CollectConfig, work: Path, *, options: dict[str, Any], digest: str,
            source_info: list[dict[str, Any]], stats: Stats, chunk_ids: list[int], resumed: int,
            started: float, part: tuple[int, int] = (0, 1)) -> CollectSummary:
    """Pass 2: decide the drops (global exact + near dedup) and the shard plan once, write this process's
    part of the shards (all of them unless `part` = (I, N) of a `--merge --shard I/N` task), and, once
    every shard is written, the manifest and card. Only the last part to finish writes those."""
    tables = [chunk_paths(work, i)[0] for i in chunk_ids]
    with merge_lock(work):
        decision = _decision(cfg, work, tables=tables, chunk_ids=chunk_ids, stats=stats)
        _check_parts(work, decision, part)
    codes = np.load(work / "drops.npy", mmap_mode="r")
    offsets = chunk_offsets(tables)
    index, count = part
    t_write = time.monotonic()
    names = [SHARD_PATTERN.format(number) for number in range(len(decision["plan"]))]
    for number, chunks in enumerate(decision["plan"]):
        if number % count == index:
            write_file(number, chunks, table_files=tables, offsets=offsets, drop_code=codes,
                       data_dir=cfg.output / "data")
            _mark_written(work, number, cfg.output / "data" / names[number])
    write_s = time.monotonic() - t_write
    with merge_lock(work):
        manifest = cfg.output / MANIFEST_NAME
        if count > 1 and manifest.is_file() and not (work / "options.json").is_file():
            summary = CollectSummary(**json.loads(manifest.read_text(encoding="utf-8"))["summary"])
            summary.already_complete = True  # another part finished the corpus a moment ago
            return summary
        if count > 1 and not all(_written(work, number, cfg.output / "data" / name)
                                 for number, name in enumerate(names)):
            log(f"collect --merge: wrote part {index}/{count} ({sum(1 for n in range(len(names)) if n % count == index)} "
                f"of {len(names)} shards); the last part to finish writes the manifest")
            partial = _summary(cfg, Stats.from_dict(decision["stats"]), source_info, [], complete=False,
                               chunks=len(chunk_ids), resumed=resumed, seconds=time.monotonic() - started)
            return partial
        remove_stale(cfg.output / "data", names)
        summary = _summary(cfg, Stats.from_dict(decision["stats"]), source_info, [f"data/{name}" for name in names],
                           complete=True, chunks=len(chunk_ids), resumed=resumed, seconds=time.monotonic() - started)
        _check_kept(summary)
        counts = {"documents": summary.documents, "files_seen": summary.files_seen, "bytes_in": summary.bytes_in,
                  "bytes_read": summary.bytes_read, "bytes_out": summary.bytes_out,
                  "per_language": summary.per_language, "dropped": summary.dropped,
                  "dropped_per_language": summary.dropped_per_language, "redactions": summary.redactions,
                  "near_duplicate_clusters": decision["clusters"]}
        timings = {"dedup_s": decision["dedup_s"], "write_s": round(write_s, 3), "total_s": round(summary.seconds, 3)}
        write_manifest(cfg.output, Manifest(
            stage="collect", inputs=source_info, options=options, counts=counts, timings=timings,
            extra={"options_sha256": digest, "shards": summary.shards, "summary": summary.to_dict()},
        ))
        write_dataset_card(cfg.output, json.loads(manifest.read_text(encoding="utf-8")))
        if not cfg.keep_work:
            _remove_work(work, keep_lock=count > 1)
    return summary


def _remove_work(work: Path, *, keep_lock: bool) -> None:
    """The work folder once the corpus is complete; with concurrent parts, all but the lock file that a
    part still waiting on it opens next (it then finds the manifest and stops)."""
    if not keep_lock:
        shutil.rmtree(work, ignore_errors=True)
        return
    for entry in work.iterdir():
        if entry.name != "merge.lock":
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)


@contextlib.contextmanager
def merge_lock(work: Path) -> Iterator[None]:
    """Orders the shared steps of concurrent `--merge --shard I/N` tasks (the drop decision, the final
    manifest) with a file lock in the work folder, which every task sees (a shared filesystem)."""
    with open(work / "merge.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _decision(cfg: CollectConfig, work: Path, *, tables: list[Path], chunk_ids: list[int],
              stats: Stats) -> dict[str, Any]:
    """The drops (`drops.npy`: 0 kept, else an index into DEDUP_REASONS per row, in chunk order), the shard
    plan and the counts after the drops: computed by the first process that needs them, reused by the
    others and by a rerun after a kill (`decision.json`, keyed by the chunks it was made from)."""
    path = work / "decision.json"
    if path.is_file() and (work / "drops.npy").is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("chunks") == chunk_ids and data.get("target_bytes") == cfg.shard_size_mb * 1_000_000:
            return data
    keys = [chunk_paths(work, i)[1] for i in chunk_ids]
    t_dedup = time.monotonic()
    codes = np.zeros(sum(np.load(k, mmap_mode="r").shape[0] for k in keys), dtype=np.uint8)
    if cfg.exact_dedup:
        codes[dedup.exact_duplicates(keys)] = 1
    clusters = 0
    if cfg.near_dedup:
        near, clusters = dedup.near_duplicates(keys, codes != 0, cfg.bands)
        codes[near] = 2
    after = Stats.from_dict(stats.to_dict())
    report_drops(tables, codes, reasons=DEDUP_REASONS, on_drop=after.unkeep)
    plan = plan_files(tables, codes, target_bytes=cfg.shard_size_mb * 1_000_000)
    with atomic_open(work / "drops.npy", "wb") as handle:
        np.save(handle, codes)
    data = {"chunks": chunk_ids, "target_bytes": cfg.shard_size_mb * 1_000_000, "plan": plan,
            "clusters": clusters, "stats": after.to_dict(), "dedup_s": round(time.monotonic() - t_dedup, 3)}
    for stale in (work / "written").glob("*.json"):
        stale.unlink()  # written under another decision
    atomic_write_json(path, data)
    return data


def _check_parts(work: Path, decision: dict[str, Any], part: tuple[int, int]) -> None:
    """The write parts of one merge must agree on N: parts of another N leave files nobody writes, and
    the manifest never comes. The first `--merge --shard I/N` task records N; `--merge` alone (N = 1)
    always may finish the corpus (it writes every file)."""
    count = part[1]
    if count == 1:
        return
    recorded = decision.get("parts")
    if recorded is None:
        decision["parts"] = count
        atomic_write_json(work / "decision.json", decision)
    elif recorded != count:
        raise MismatchError(f"cannot write part {part[0]}/{count}: this merge is being written in {recorded} "
                            f"parts; run `--merge --shard I/{recorded}` for the missing parts, or `--merge` "
                            "alone to finish it in one process")


def _mark_written(work: Path, number: int, file: Path) -> None:
    info = file.stat()
    atomic_write_json(work / "written" / f"{number:05d}.json", {"bytes": info.st_size, "mtime_ns": info.st_mtime_ns})


def _written(work: Path, number: int, file: Path) -> bool:
    """Whether shard `number` was written under the current decision and is still that file."""
    marker = work / "written" / f"{number:05d}.json"
    if not marker.is_file() or not file.is_file():
        return False
    info, data = file.stat(), json.loads(marker.read_text(encoding="utf-8"))
    return data == {"bytes": info.st_size, "mtime_ns": info.st_mtime_ns}


def _summary(cfg: CollectConfig, stats: Stats, source_info: list[dict[str, Any]], shards: list[str], *,
             complete: bool, chunks: int, resumed: int, seconds: float) -> CollectSummary:
    per_language = {lang: {"files": n, "bytes": b} for lang, (n, b) in sorted(stats.kept.items())}
    return CollectSummary(
        output=str(cfg.output), complete=complete, documents=sum(v["files"] for v in per_language.values()),
        files_seen=stats.files_seen, bytes_in=stats.bytes_in, bytes_read=stats.bytes_read,
        bytes_out=sum(v["bytes"] for v in per_language.values()), per_language=per_language,
        dropped=stats.dropped_table(), dropped_per_language=stats.per_language_dropped(), redactions=dict(sorted(stats.redactions.items())), sources=source_info,
        shards=shards, chunks=chunks, chunks_resumed=resumed, seconds=round(seconds, 3),
    )
