"""Build and run programs in parallel, reporting each outcome as soon as it is known.

Work is split into chunks per language (one chunk = one build call: many programs for Java and Go, one
for the others) and handed to a thread pool of `workers`; each thread spends its time waiting on sandboxed
processes, so threads are enough. Outcomes flow back through a queue to the calling thread, which is the
only writer of results.jsonl. Every program runs in its own fresh scratch dir holding only its own files.
"""

from __future__ import annotations

import math
import queue
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from codegen_cli.evaluate.languages.base import Built, Program, new_marker, text_of
from codegen_cli.evaluate.sandbox import remove_tree, scratch_dir

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


def cap(text: str, limit: int = OUTPUT_CAP) -> str:
    return text if len(text) <= limit else text[: limit // 2] + "\n[...]\n" + text[-limit // 2:]


def chunks(programs: list[Program], batch_size: int, workers: int) -> list[list[Program]]:
    """Even chunks of at most batch_size, at least `workers` of them when there is enough work."""
    if not programs:
        return []
    if batch_size <= 1:
        return [[p] for p in programs]
    count = workers * math.ceil(len(programs) / (workers * batch_size))
    size = max(1, math.ceil(len(programs) / count))
    return [programs[i:i + size] for i in range(0, len(programs), size)]


def _compile_outcome(built: Built) -> Outcome:
    status = "timeout" if built.timed_out else "compile_error"
    return Outcome(status, built.exit_code, "", cap(built.error), round(built.seconds, 4), 0.0)


def _run_one(language, program: Program, built: Built, marker: str, ctx) -> Outcome:
    with scratch_dir() as rundir:
        for name, source in built.files.items():
            target = rundir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        spec = language.run_spec(program, rundir, ctx)
        result = ctx.run(spec.argv, workdir=rundir, limits=ctx.run_limits, env=spec.env,
                         readonly=spec.readonly_paths)
    status = language.verdict(program, result, marker)
    stdout = text_of(result.stdout).replace(marker, MARKER_SHOWN)
    return Outcome(status, result.returncode, cap(stdout), cap(text_of(result.stderr)),
                   round(built.seconds, 4), round(result.seconds, 4))


def _chunk_job(language, programs: list[Program], ctx, report: Callable[[Program, Outcome], None],
               stop: threading.Event) -> None:
    """Build one chunk in its own scratch dir, then run each built program alone."""
    marker = new_marker()
    workdir = Path(tempfile.mkdtemp(prefix="codegen-build-"))
    try:
        try:
            built = language.build(programs, marker, workdir, ctx)
        except Exception as exc:  # noqa: BLE001 - a broken toolchain call fails these samples, not the run
            for program in programs:
                report(program, Outcome("sandbox_error", None, "", f"build failed: {exc}", 0.0, 0.0))
            return
        for program in programs:
            if stop.is_set():
                return
            item = built.get(program.sha256)
            if item is None or not item.ok:
                report(program, _compile_outcome(item or Built(ok=False, seconds=0.0, error="not built")))
                continue
            try:
                report(program, _run_one(language, program, item, marker, ctx))
            except Exception as exc:  # noqa: BLE001
                report(program, Outcome("sandbox_error", None, "", f"run failed: {exc}", item.seconds, 0.0))
    finally:
        remove_tree(workdir)


def _interleave(lists: list[list]) -> list:
    """Round-robin over languages, so the pool mixes batch compiles with many small runs."""
    out = []
    for i in range(max((len(x) for x in lists), default=0)):
        out += [x[i] for x in lists if i < len(x)]
    return out


def execute(work: Iterable[tuple[object, list[Program], object]], *, workers: int,
            on_outcome: Callable[[Program, Outcome], None]) -> None:
    """Run every (language, programs, context); `on_outcome` is called in THIS thread as results arrive."""
    results: queue.Queue = queue.Queue()
    stop = threading.Event()
    jobs = _interleave([[(language, chunk, ctx) for chunk in chunks(programs, language.batch_size, workers)]
                        for language, programs, ctx in work])
    pending = sum(len(chunk) for _, chunk, _ in jobs)
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="codegen-eval")
    try:
        futures = [pool.submit(_chunk_job, lang, chunk, ctx, lambda p, o: results.put((p, o)), stop)
                   for lang, chunk, ctx in jobs]
        while pending:
            try:
                program, outcome = results.get(timeout=1.0)
            except queue.Empty:
                failed = [f for f in futures if f.done() and f.exception() is not None]
                if failed:
                    raise failed[0].exception()
                if all(f.done() for f in futures) and results.empty():
                    break
                continue
            pending -= 1
            on_outcome(program, outcome)
    except BaseException:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
