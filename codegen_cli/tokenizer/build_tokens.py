"""`tokenize(TokenizeConfig) -> TokenizeSummary`: the whole stage, top to bottom.

1. check the corpus and scan its languages; 2. train the tokenizer on a sample of the train split (or
check a given one); 3. encode every document in work units, in parallel; 4. join the parts into shards
and write meta.json and manifest.json (last: its presence means the output is complete).

Resume: `OUT/.work/state.json` records the run hash (options + corpus + given tokenizer). A rerun with the
same hash reuses the trained tokenizer and every finished unit; any other hash is a MismatchError.

`--tokenizer` may name a pretrained model instead of a folder made here (`pretrained.py`): its tokenizer is
saved into OUT/tokenizer (with the tag tokens added for `token` style) and every later step is the same.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path
from typing import Any

from codegen_cli.atomic import atomic_write_json, sha256_json
from codegen_cli.config import to_dict
from codegen_cli.errors import InputDataError, MismatchError, UsageError
from codegen_cli.jsonl_store import writer_lock
from codegen_cli.languages import parse_language_list
from codegen_cli.manifest import MANIFEST_NAME, Manifest, write_manifest
from codegen_cli.output import heartbeat, is_interactive, log, progress, warn
from codegen_cli.tokenizer import corpus as corpus_io
from codegen_cli.tokenizer.config import TokenizeConfig, TokenizeSummary
from codegen_cli.tokenizer.encode import EncodeJob
from codegen_cli.tokenizer.folder import (
    TOKENIZER_JSON,
    TokenizerFolder,
    check_covers,
    folder_sha256,
    load_tokenizer_folder,
    resolve_dtype,
)
from codegen_cli.tokenizer.pretrained import (
    TOKENIZER_FILES,
    PretrainedTokenizer,
    load_pretrained_tokenizer,
    save_pretrained_tokenizer,
    special_roles,
)
from codegen_cli.tokenizer.runner import encode_units
from codegen_cli.tokenizer.shards import build_meta, read_markers, total_counts, write_shards
from codegen_cli.tokenizer.specials import CODEGEN_TOKENIZER_FILE
from codegen_cli.tokenizer.train_bpe import (
    check_vocab_size,
    save_tokenizer_folder,
    tag_tokens_for,
    train_bpe,
    training_texts,
)

WORK_DIR = ".work"
META_NAME = "meta.json"
# Options that do not change a single output byte, so a rerun may change them freely.
NOT_HASHED = ("output", "workers", "verify")


def _given_identity(cfg: TokenizeConfig, pretrained: PretrainedTokenizer | None) -> Any:
    """What identifies a given tokenizer: a codegen folder's tokenizer files, a pretrained one's vocabulary
    and serialisation (a GGUF or a hub cache holds no tokenizer file to hash)."""
    if cfg.tokenizer is None:
        return None
    if pretrained is not None:
        return pretrained.identity()
    return folder_sha256(Path(cfg.tokenizer).expanduser(), only=TOKENIZER_FILES)


def _run_hash(cfg: TokenizeConfig, fingerprint: dict[str, Any], given: Any) -> str:
    options = {k: v for k, v in to_dict(cfg).items() if k not in NOT_HASHED}
    options.pop("corpus")
    if options.get("eos_token") is None:  # added after format 1: absent keeps earlier runs' hashes
        options.pop("eos_token", None)
    return sha256_json({"options": options, "corpus": fingerprint["manifest_sha256"],
                        "shards": fingerprint["shards"], "tokenizer": given})


def _select_languages(cfg: TokenizeConfig, docs: dict[str, int], corpus: Path) -> tuple[list[str], list[str]]:
    """(languages to encode, empty languages to report): asked-for or manifest-listed ones with no rows."""
    try:
        wanted = parse_language_list(cfg.languages)
    except KeyError as exc:
        raise UsageError(f"--languages: {exc.args[0]}") from exc
    listed = json.loads((corpus / MANIFEST_NAME).read_text(encoding="utf-8")).get("counts", {}).get("per_language", {})
    candidates = set(wanted) if wanted is not None else set(docs) | set(listed)
    empty = sorted(lang for lang in candidates if docs.get(lang, 0) == 0)
    present = sorted(lang for lang in candidates if docs.get(lang, 0) > 0)
    if not present:
        raise InputDataError(f"{corpus}: no documents{' in ' + cfg.languages if wanted else ''}; "
                             "collect some sources first or change --languages")
    return present, empty


def _finished(cfg: TokenizeConfig, run_hash: str) -> bool:
    """True when OUT already holds this exact run; a finished run of other settings is a MismatchError."""
    path = cfg.output / MANIFEST_NAME
    if not path.is_file():
        return False
    if json.loads(path.read_text(encoding="utf-8")).get("run_hash") == run_hash:
        return True
    raise MismatchError(f"{cfg.output}: holds a finished tokenize output made with other options or input; "
                        "use another --output or delete it")


def _has_progress(out: Path, work: Path) -> bool:
    return (out / "tokenizer").is_dir() or any((work / "parts").glob("*.json"))


def _prepare_output(cfg: TokenizeConfig, run_hash: str) -> Path:
    """Create OUT/.work (or reuse it for the same run hash); returns the work folder."""
    out, work = cfg.output, cfg.output / WORK_DIR
    state_path = work / "state.json"
    if state_path.is_file():
        same = json.loads(state_path.read_text(encoding="utf-8")).get("run_hash") == run_hash
        if not same and _has_progress(out, work):
            raise MismatchError(f"{out}: holds a partial tokenize run with other options or input; rerun with "
                                "the same options to resume, or delete it")
    elif out.exists() and any(out.iterdir()):
        raise UsageError(f"{out}: exists, is not empty and is not a tokenize output; choose another --output")
    (work / "parts").mkdir(parents=True, exist_ok=True)
    atomic_write_json(state_path, {"run_hash": run_hash})
    return work


def _check_before_work(cfg: TokenizeConfig, languages: list[str], pretrained: PretrainedTokenizer | None) -> None:
    """Every check that can fail on the options or the given tokenizer, before OUT is touched."""
    if pretrained is not None:
        special_roles(pretrained, cfg.eos_token)
        resolve_dtype(cfg.dtype, pretrained.vocab_size + len(tag_tokens_for(languages, str(cfg.tag_style))))
    elif cfg.tokenizer is not None:
        given = load_tokenizer_folder(Path(cfg.tokenizer).expanduser())
        check_covers(given, languages)
        resolve_dtype(cfg.dtype, given.vocab_size)
    else:
        check_vocab_size(cfg.vocab_size, len(tag_tokens_for(languages, cfg.tag_style)))
        resolve_dtype(cfg.dtype, cfg.vocab_size)


def _sample_rate(cfg: TokenizeConfig, languages: list[str], sizes: dict[str, int]) -> tuple[float, float]:
    """(share of train documents to sample, expected sample bytes) for about `sample_bytes` of text."""
    total = sum(sizes.get(lang, 0) for lang in languages) * (1.0 - cfg.val_fraction)
    rate = min(1.0, cfg.sample_bytes / total) if total > 0 else 1.0
    return rate, total * rate


def _training_texts(cfg: TokenizeConfig, files: list[Path], languages: list[str], rate: float):
    """Train-split documents of the selected languages, sampled by id (never the val split)."""
    keep = set(languages)
    for doc_id, lang, content in corpus_io.iter_documents(files):
        if lang in keep and not corpus_io.is_val(doc_id, cfg.val_fraction) and corpus_io.in_sample(doc_id, rate):
            yield content, lang


def _get_tokenizer(cfg: TokenizeConfig, files: list[Path], languages: list[str], sizes: dict[str, int], *,
                   pretrained: PretrainedTokenizer | None) -> tuple[TokenizerFolder, bool]:
    """Train (or reuse from an earlier run, or copy from --tokenizer) OUT/tokenizer; returns it + trained?."""
    target = cfg.output / "tokenizer"
    if pretrained is not None:
        if not (target / CODEGEN_TOKENIZER_FILE).is_file():  # else written by a killed run of this run hash
            tags = tag_tokens_for(languages, str(cfg.tag_style))
            log(f"tokenize: the tokenizer of {cfg.tokenizer} ({pretrained.vocab_size:,} ids, {cfg.tag_style} tags"
                + (f"; {len(tags)} tag tokens added, the model's embeddings must grow" if tags else "") + ")")
            save_pretrained_tokenizer(pretrained, target, tag_style=str(cfg.tag_style), languages=languages,
                                      tag_tokens=tags, eos_token=cfg.eos_token)
        return load_tokenizer_folder(target), False
    if cfg.tokenizer is not None:
        given = Path(cfg.tokenizer).expanduser()
        if not (target / TOKENIZER_JSON).is_file() or folder_sha256(target) != folder_sha256(given, TOKENIZER_FILES):
            _copy_folder(given, target)
        return load_tokenizer_folder(target), False
    if not (target / TOKENIZER_JSON).is_file():
        rate, sample = _sample_rate(cfg, languages, sizes)
        log(f"tokenize: training a {cfg.vocab_size:,}-token BPE ({cfg.tag_style} tags) on ~{sample / 1e6:,.1f} MB "
            f"of train documents ({rate:.1%} sample)")
        fed = {"docs": 0, "chars": 0, "read": False}

        def counted():  # what the trainer has read so far, for the heartbeat lines
            for text, lang in _training_texts(cfg, files, languages, rate):
                fed["docs"] += 1
                fed["chars"] += len(text)
                yield text, lang
            fed["read"] = True

        def detail() -> str:
            return (f"{fed['docs']:,} documents, {fed['chars'] / 1e6:,.1f} M characters read"
                    + ("; all read, computing the merges" if fed["read"] else ""))

        with heartbeat("tokenize: BPE", detail):
            tok = train_bpe(training_texts(counted(), cfg.tag_style), vocab_size=cfg.vocab_size,
                            tag_tokens=tag_tokens_for(languages, cfg.tag_style), min_frequency=cfg.min_frequency,
                            show_progress=is_interactive())
        save_tokenizer_folder(tok, target, tag_style=cfg.tag_style, languages=languages)
    return load_tokenizer_folder(target), True


def _copy_folder(source: Path, target: Path) -> None:
    """The tokenizer files of `source` (a model folder such as RUN/hf also holds weights: left behind)."""
    tmp = target.with_name(f".{target.name}.copy.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, tmp / name)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def _encode_all(cfg: TokenizeConfig, job: EncodeJob, units: list[corpus_io.WorkUnit]) -> bool:
    """Encode the units without a marker yet; returns True when some were already done (a resume)."""
    with progress("tokenize: encode", total=len(units), unit="units") as bar:
        state = {"tokens": 0}

        def done(marker: dict[str, Any], resumed: bool) -> None:
            state["tokens"] += marker["splits"]["train"]["tokens"] + marker["splits"]["val"]["tokens"]
            bar.advance(1, tokens=state["tokens"])

        ran = encode_units(job, units, cfg.resolved_workers(), done)
    return ran < len(units)


def _summary(cfg: TokenizeConfig, meta: dict[str, Any], counts: dict[str, Any], **flags: Any) -> TokenizeSummary:
    splits = meta["splits"]
    return TokenizeSummary(
        output=str(cfg.output), tokenizer_dir=str(cfg.output / meta["tokenizer_dir"]),
        vocab_size=meta["vocab_size"], dtype=meta["dtype"], tag_style=meta["tag_style"],
        base_tokenizer=meta.get("tokenizer_base"),
        documents={s: splits[s]["documents"] for s in splits}, tokens={s: splits[s]["tokens"] for s in splits},
        tokens_per_language=meta["tokens_per_language"], bytes_per_token=counts["bytes_per_token"],
        empty_languages=counts["empty_languages"], round_trip_failures=counts["round_trip_failures"], **flags,
    )


def _bytes_per_token(totals: dict[str, Any]) -> dict[str, float]:
    """Content bytes / document tokens (tag and eos included) per language, both splits together."""
    acc: dict[str, list[int]] = {}
    for split in totals["splits"].values():
        for lang, per in split["languages"].items():
            pair = acc.setdefault(lang, [0, 0])
            pair[0] += per["bytes"]
            pair[1] += per["tokens"]
    return {lang: round(b / t, 4) for lang, (b, t) in sorted(acc.items()) if t}


def tokenize(cfg: TokenizeConfig) -> TokenizeSummary:
    """Run the stage; see the module docstring for the steps and the resume rules."""
    cfg.validate()
    cfg = dataclasses.replace(cfg, tag_style=cfg.resolved_tag_style())
    started = time.monotonic()
    corpus = Path(cfg.corpus)
    files = corpus_io.parquet_files(corpus)
    fingerprint = corpus_io.corpus_fingerprint(corpus, files)
    pretrained = None
    if cfg.pretrained():
        with heartbeat(f"tokenize: loading the tokenizer of {cfg.tokenizer}"):
            pretrained = load_pretrained_tokenizer(str(cfg.tokenizer), announce=log)
    run_hash = _run_hash(cfg, fingerprint, _given_identity(cfg, pretrained))
    if _finished(cfg, run_hash):
        shutil.rmtree(cfg.output / WORK_DIR, ignore_errors=True)  # killed between manifest and clean-up
        manifest = json.loads((cfg.output / MANIFEST_NAME).read_text(encoding="utf-8"))
        meta = json.loads((cfg.output / META_NAME).read_text(encoding="utf-8"))
        return _summary(cfg, meta, manifest["counts"], trained_tokenizer=cfg.tokenizer is None, resumed=False,
                        already_done=True)
    docs, sizes = corpus_io.scan_languages(files)
    languages, empty = _select_languages(cfg, docs, corpus)
    _check_before_work(cfg, languages, pretrained)
    with writer_lock(cfg.output):
        return _build(cfg, files, fingerprint=fingerprint, run_hash=run_hash, languages=languages, empty=empty,
                      sizes=sizes, started=started, pretrained=pretrained)


def _build(cfg: TokenizeConfig, files: list[Path], *, fingerprint: dict[str, Any], run_hash: str,
           languages: list[str], empty: list[str], sizes: dict[str, int], started: float,
           pretrained: PretrainedTokenizer | None = None) -> TokenizeSummary:
    """Every check passed: train (or copy) the tokenizer, encode the units, write shards, meta and manifest."""
    corpus = Path(cfg.corpus)
    work = _prepare_output(cfg, run_hash)
    for lang in empty:
        warn(f"no documents for language {lang} in {corpus}")
    t0 = time.monotonic()
    loaded, trained = _get_tokenizer(cfg, files, languages, sizes, pretrained=pretrained)
    t_train = time.monotonic() - t0
    dtype = resolve_dtype(cfg.dtype, loaded.vocab_size)
    job = EncodeJob(
        tokenizer_file=str(loaded.path / TOKENIZER_JSON), tag_style=loaded.tag_style, tag_ids=loaded.tag_ids,
        eos_id=loaded.special_ids["eos"], dtype=dtype, val_fraction=cfg.val_fraction,
        languages=tuple(languages), parts_dir=str(work / "parts"), verify=cfg.verify,
    )
    units = corpus_io.work_units(files, cfg.chunk_docs, cfg.chunk_bytes)
    t0 = time.monotonic()
    resumed = _encode_all(cfg, job, units)
    t_encode = time.monotonic() - t0
    markers = read_markers(work / "parts", len(units))
    totals = total_counts(markers)
    if totals["round_trip_failures"]:
        warn(f"{totals['round_trip_failures']} documents do not round-trip, e.g. ids {totals['failed_ids'][:3]}")
    shards = write_shards(work / "parts", cfg.output, len(units), itemsize=2 if dtype == "uint16" else 4,
                          shard_tokens=cfg.shard_tokens)
    meta = build_meta(totals=totals, shards=shards, dtype=dtype, vocab_size=loaded.vocab_size,
                      tag_style=loaded.tag_style, tokenizer_sha256=folder_sha256(loaded.path),
                      special_tokens=loaded.special_tokens, special_ids=loaded.special_ids, base=loaded.base)
    atomic_write_json(cfg.output / META_NAME, meta)
    counts = {"bytes_per_token": _bytes_per_token(totals), "empty_languages": empty,
              "round_trip_failures": totals["round_trip_failures"], "failed_ids": totals["failed_ids"],
              "languages": languages, "units": len(units),
              "splits": {s: {k: v for k, v in totals["splits"][s].items()} for s in totals["splits"]}}
    timings = {"train_tokenizer": round(t_train, 3), "encode": round(t_encode, 3),
               "total": round(time.monotonic() - started, 3)}
    write_manifest(cfg.output, Manifest(
        stage="tokenize", inputs=[fingerprint], options=to_dict(cfg), counts=counts, timings=timings,
        extra={"run_hash": run_hash, "tokenizer_sha256": meta["tokenizer_sha256"]},
    ))
    shutil.rmtree(work, ignore_errors=True)
    return _summary(cfg, meta, counts, trained_tokenizer=trained, resumed=resumed, already_done=False,
                    seconds=timings)
