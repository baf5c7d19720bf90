"""Build and run programs in parallel, reporting each outcome as soon as it is known.

Work is split into chunks per language (one chunk = one build call: many programs for Java and Go, one
for the others) and handed to the project's one work-unit pool (`work_units.WorkerPool`, `workers` threads:
each spends its time waiting on a sandboxed process, so threads are enough). Outcomes flow back through a queue to the calling thread, which is the
only writer of results.jsonl. Every program runs in its own fresh scratch dir holding only its own files.
"""

from __future__ import annotations

import math
import shutil
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from codegen_cli.evaluate.languages.base import Built, Program, explain, new_marker, text_of
from codegen_cli.evaluate.sandbox import make_scratch, remove_tree, scratch_dir
from codegen_cli.work_units import WorkerPool

OUTPUT_CAP = 2000  # characters of stdout/stderr kept per result row
MARKER_SHOWN = "[codegen tests-done marker]"


@dataclass
class Outcome:
    status: str
    exit_code: int | None
    stdout: str
    stderr: str
    compile_seconds: float
    run_seconds: float
    reason: str = ""  # why a sample did not pass, when known (e.g. what the tamper check found)


def cap(text: str, limit: int = OUTPUT_CAP) -> str:
    return text if len(text) <= limit else text[: limit // 2] + "\n[...]\n" + text[-limit // 2 :]


def chunks(programs: list[Program], batch_size: int, workers: int) -> list[list[Program]]:
    """Even chunks of at most batch_size, a multiple of `workers` of them (pass workers=1 for a toolchain
    that compiles a batch on all cores by itself)."""
    if not programs:
        return []
    if batch_size <= 1:
        return [[p] for p in programs]
    count = workers * math.ceil(len(programs) / (workers * batch_size))
    size = max(1, math.ceil(len(programs) / count))
    return [programs[i : i + size] for i in range(0, len(programs), size)]


def _compile_outcome(built: Built) -> Outcome:
    status = "timeout" if built.timed_out else "compile_error"
    reason = "the compiler ran past its time limit" if built.timed_out else "does not compile"
    return Outcome(status, built.exit_code, "", cap(built.error), round(built.seconds, 4), 0.0, reason)


@dataclass
class _Batch:
    """A built chunk: its build dir lives until the last of its programs has run."""

    language: object
    ctx: object
    marker: str
    workdir: Path
    left: int


def _run_one(program: Program, built: Built, batch: _Batch) -> Outcome:
    language, ctx = batch.language, batch.ctx
    if hasattr(language, "run_program"):  # Python, JS: a trusted judge and a warm runtime (evaluate/runtime/)
        verdict = language.run_program(program, ctx)
        return Outcome(verdict.status, verdict.exit_code, cap(verdict.stdout), cap(verdict.stderr),
                       round(built.seconds, 4), round(verdict.seconds, 4), verdict.reason)
    marker = new_marker()  # this run's secret: on stdin only, never in a file the program can read
    with scratch_dir() as rundir:
        for name, source in built.files.items():
            target = rundir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        spec = language.run_spec(program, rundir, ctx)
        result = ctx.run(
            spec.argv, workdir=rundir, limits=ctx.run_limits, env=spec.env, readonly=spec.readonly_paths,
            stdin_data=(marker + "\n").encode(), evidence_prefix=marker,
        )
    status = language.verdict(program, result, marker)
    needed = getattr(language, "evidence_needed", None)
    reason = explain(status, result, marker, tuple(needed(program, marker)) if needed else ())
    stdout = text_of(result.stdout).replace(marker, MARKER_SHOWN)
    return Outcome(
        status,
        result.returncode,
        cap(stdout),
        cap(text_of(result.stderr)),
        round(built.seconds, 4),
        round(result.seconds, 4),
        reason,
    )


def _job(unit: tuple) -> tuple:
    """One unit of the pool: ("build", language, programs, ctx) or ("run", batch, program, built).

    A broken toolchain or sandbox call fails the samples of this unit, not the whole run, so both kinds
    turn their exceptions into results.
    """
    if unit[0] == "build":
        _, language, programs, ctx = unit
        batch = _Batch(language, ctx, new_marker(), make_scratch("build"), 0)
        try:
            return batch, language.build(programs, batch.marker, batch.workdir, ctx)
        except Exception as exc:  # noqa: BLE001
            return batch, exc
    _, batch, program, built = unit
    try:
        return _run_one(program, built, batch)
    except Exception as exc:  # noqa: BLE001
        return Outcome("sandbox_error", None, "", f"run failed: {exc}", built.seconds, 0.0)


def _interleave(lists: list[list]) -> list:
    """Round-robin over languages, so the pool mixes batch compiles with many small runs."""
    out = []
    for i in range(max((len(x) for x in lists), default=0)):
        out += [x[i] for x in lists if i < len(x)]
    return out


def _self_parallel(language) -> bool:
    return bool(getattr(language, "builds_in_parallel", False))


def execute(
    work: Iterable[tuple[object, list[Program], object]],
    *,
    workers: int,
    on_outcome: Callable[[Program, Outcome], None],
    keep_warm: bool = False,
) -> None:
    """Run every (language, programs, context); `on_outcome` is called in THIS thread as results arrive.

    At most `workers` jobs are in flight. Runs of built programs go first, builds (round-robin over
    languages) fill the remaining slots: results then flow steadily, so a killed run loses little.
    `keep_warm=True` leaves the languages' warm runtimes running for the caller's next batch (the reward
    API scores thousands of batches with the same language objects and closes them itself).
    """
    work = list(work)
    builds = deque(
        _interleave(
            [
                [
                    (language, chunk, ctx)
                    for chunk in chunks(
                        [p for p in programs if not p.meta.get("tampered")], language.batch_size,
                        1 if _self_parallel(language) else workers,
                    )
                ]
                for language, programs, ctx in work
            ]
        )
    )
    runs: deque = deque()
    for language, programs, _ctx in work:  # refused before anything is compiled
        for program in programs:
            reason = program.meta.get("tampered")
            if reason:
                on_outcome(program, Outcome("tampered", None, "", "", 0.0, 0.0, reason))
    # threads: each one spends its time waiting on a sandboxed process; queue=0 keeps exactly `workers`
    # units in flight, so a run that becomes ready (after a build) goes before the builds still waiting.
    pool = WorkerPool(_job, workers=max(1, workers), start="thread", queue=0)
    index = 0
    try:
        while builds or runs or pool.busy:
            while pool.free and (runs or builds):
                unit = ("run", *runs.popleft()) if runs else ("build", *builds.popleft())
                pool.submit((index, unit), unit)
                index += 1
            for (_, unit), result in pool.wait():
                if unit[0] == "build":
                    runs.extend(_after_build(result, unit[2], on_outcome))
                    continue
                _, batch, program, _built = unit
                on_outcome(program, result)
                batch.left -= 1
                if batch.left == 0:
                    remove_tree(batch.workdir)
    except BaseException:
        pool.stop_now()
        raise
    finally:
        for language, _programs, _ctx in work:  # warm runtimes (judge servers, zygotes) end with the run
            if hasattr(language, "close") and not keep_warm:
                language.close()
    pool.close()


def _after_build(
    result: tuple[_Batch, dict[str, Built] | Exception],
    programs: list[Program],
    on_outcome: Callable[[Program, Outcome], None],
) -> list[tuple[_Batch, Program, Built]]:
    """Report what failed to build; return the (batch, program, built) runs still to do."""
    batch, built = result
    todo = []
    for program in programs:
        if isinstance(built, Exception):
            on_outcome(program, Outcome("sandbox_error", None, "", f"build failed: {built}", 0.0, 0.0))
            continue
        item = built.get(program.sha256)
        if item is None or not item.ok:
            on_outcome(program, _compile_outcome(item or Built(ok=False, seconds=0.0, error="not built")))
            continue
        todo.append((batch, program, item))
    batch.left = len(todo)
    if not todo:
        remove_tree(batch.workdir)
    return todo
