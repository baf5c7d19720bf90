"""The one work-unit executor: run units on worker processes (or threads), skip finished ones, stop cleanly.

A stage cuts its job into units (collect: chunks of files; tokenize: runs of documents) and describes the
work with a `UnitWork`: `run(unit)` does one unit, writes its outputs and then its completion marker
atomically, and returns the marker (small, picklable); `finished(unit)` returns the marker an earlier run
left, or None. `run_units` then
- skips finished units (a rerun resumes; their markers are reported with resumed=True),
- runs the others on `workers` processes (`fork` or `spawn`) or threads, at most `queue` units ahead per
  worker (memory stays bounded on a lazy stream of units), or in this process with one worker,
- calls `on_done(marker, resumed)` in THIS thread as each unit finishes (progress, totals),
- turns SIGINT/SIGTERM into a stop: the workers are killed (a unit without its marker is simply redone,
  since every output is written atomically), and `Interrupted` (exit 130) is raised with how many units
  were kept; a worker that dies (killed, out of memory) fails the job (exit 1) instead of hanging it;
  an exception in a unit is re-raised here with its own exit code (bad input stays exit 3).

`WorkerPool` is the part underneath, for schedulers whose units appear as others finish (eval builds a
batch, then runs its programs): `submit(key, unit)`, `wait()` -> [(key, result)], `free`, `busy`. Only public
`multiprocessing` API is used: workers are plain `Process`es fed through queues, so they can be
terminated, and a dead one is noticed.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_mod
import signal
import threading
import traceback
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, Generic, Protocol, TypeVar

from codegen_cli.cpus import resolve_workers
from codegen_cli.errors import CodegenError, Interrupted, JobFailed
from codegen_cli.interrupts import StopFlag

U = TypeVar("U")
R = TypeVar("R")
POLL_SECONDS = 0.2  # how often the parent looks at the stop flag and the workers' health while it waits


class UnitWork(Protocol[U, R]):
    def finished(self, unit: U) -> R | None:
        """The marker of `unit` left by an earlier run, or None when it must (re)run."""

    def run(self, unit: U) -> R:
        """Do `unit` (outputs, then the marker, each atomically) and return its marker."""


class _Failure:
    """An exception raised by a unit in a worker, carried back to the parent."""

    def __init__(self, exc: BaseException) -> None:
        self.text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        try:
            import pickle

            pickle.dumps(exc)
            self.exc: BaseException | None = exc
        except Exception:  # noqa: BLE001 - an unpicklable exception is sent as its text
            self.exc = None

    def error(self) -> BaseException:
        if isinstance(self.exc, CodegenError):
            return self.exc
        return JobFailed(f"a work unit failed: {self.text}")


def _process_main(run: Callable[[Any], Any], tasks: Any, results: Any) -> None:
    """A worker process: Ctrl-C goes to the whole process group, and the parent decides what happens."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_loop(run, tasks, results)


def _worker_loop(run: Callable[[Any], Any], tasks: Any, results: Any) -> None:
    """Run units from `tasks` until told to stop (None), reporting each result or failure to `results`."""
    while True:
        item = tasks.get()
        if item is None:
            return
        key, unit = item
        try:
            results.put((key, run(unit)))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which stops the job
            results.put((key, _Failure(exc)))


class WorkerPool(Generic[U, R]):
    """`workers` processes (start method "fork" or "spawn") or threads ("thread") running `run(unit)`.

    `run` must be picklable for "spawn" (a module-level function or an object with a module-level class);
    it is sent once per worker, so a unit carries only what differs.
    """

    def __init__(self, run: Callable[[U], R], *, workers: int, start: str = "fork", queue: int = 2) -> None:
        self.slots = max(1, workers)
        self.limit = self.slots * (1 + queue)  # units in flight: one running and `queue` waiting per worker
        self.busy = 0
        self._threads = start == "thread"
        if self._threads:
            self._results: Any = queue_mod.Queue()
            self._tasks: Any = queue_mod.Queue()
            self._procs: list[Any] = [threading.Thread(target=_worker_loop, args=(run, self._tasks, self._results),
                                                       daemon=True, name=f"codegen-worker-{i}")
                                      for i in range(self.slots)]
        else:
            context = multiprocessing.get_context(start)
            self._results = context.Queue()
            self._tasks = context.Queue()
            self._procs = [context.Process(target=_process_main, args=(run, self._tasks, self._results),
                                           daemon=True, name=f"codegen-worker-{i}") for i in range(self.slots)]
        for proc in self._procs:
            proc.start()

    @property
    def free(self) -> int:
        return self.limit - self.busy

    def submit(self, key: Hashable, unit: U) -> None:
        self._tasks.put((key, unit))
        self.busy += 1

    def wait(self, timeout: float = POLL_SECONDS) -> list[tuple[Hashable, R]]:
        """Results that arrived within `timeout` (at least one when any arrive); raises a unit's error."""
        out = []
        try:
            out.append(self._results.get(timeout=timeout))
            while True:
                out.append(self._results.get_nowait())
        except queue_mod.Empty:
            pass
        if not out and not self._threads:
            self._check_alive()
        self.busy -= len(out)
        for _, result in out:
            if isinstance(result, _Failure):
                raise result.error()
        return out

    def _check_alive(self) -> None:
        dead = [p for p in self._procs if p.exitcode is not None]
        if dead and self.busy:
            codes = ", ".join(f"{p.name} exit {p.exitcode}" for p in dead)
            raise JobFailed(f"a worker process died ({codes}; killed, or out of memory?); finished units are "
                            "kept, rerun the same command to resume (fewer --workers uses less memory)")

    def stop_now(self) -> None:
        """Kill process workers at once. Threads cannot be killed: the units not yet started are dropped
        and the running ones finish in the background (daemon threads), so the caller returns at once."""
        if self._threads:
            try:
                while True:
                    self._tasks.get_nowait()
            except queue_mod.Empty:
                pass
        for proc in self._procs:
            if not self._threads and proc.is_alive():
                proc.terminate()
        self.close(wait=False)

    def close(self, *, wait: bool = True) -> None:
        for _ in self._procs:
            self._tasks.put(None)
        for proc in self._procs:
            if self._threads and not wait:
                continue
            proc.join(timeout=None if wait else 5)
            if not self._threads and proc.is_alive():
                proc.kill()
                proc.join()
        if not self._threads:
            self._tasks.close()
            self._results.close()


_END = object()


def _todo(units: Iterable[U], work: UnitWork[U, R], on_done: Callable[[R, bool], None]) -> Iterator[U]:
    for unit in units:
        marker = work.finished(unit)
        if marker is not None:
            on_done(marker, True)
        else:
            yield unit


def run_units(units: Iterable[U], work: UnitWork[U, R], *, on_done: Callable[[R, bool], None],
              workers: int | None = None, start: str = "fork", queue: int = 2, what: str = "work units") -> int:
    """Run every unit not finished before (see the module docstring); returns how many ran now."""
    todo = _todo(units, work, on_done)
    ran = 0
    with StopFlag() as stop:
        try:
            if resolve_workers(workers) <= 1:
                for unit in todo:
                    if stop.requested:
                        raise KeyboardInterrupt
                    on_done(work.run(unit), False)
                    ran += 1
                return ran
            return _run_pool(todo, work, on_done, stop=stop, workers=resolve_workers(workers), start=start,
                             queue=queue)
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted; the finished {what} are kept, rerun the same command to resume") \
                from None


def _run_pool(todo: Iterator[U], work: UnitWork[U, R], on_done: Callable[[R, bool], None], *, stop: StopFlag,
              workers: int, start: str, queue: int) -> int:
    pool: WorkerPool[U, R] = WorkerPool(work.run, workers=workers, start=start, queue=queue)
    ran, index, exhausted = 0, 0, False
    try:
        while True:
            while not exhausted and pool.free > 0:
                unit = next(todo, _END)
                if unit is _END:
                    exhausted = True
                    break
                pool.submit(index, unit)
                index += 1
            if exhausted and not pool.busy:
                break
            if stop.requested:
                raise KeyboardInterrupt
            try:
                results = pool.wait()
            except JobFailed:
                if stop.requested:  # a SIGTERM sent to the whole group killed the workers too
                    raise KeyboardInterrupt from None
                raise
            for _, marker in results:
                on_done(marker, False)
                ran += 1
    except BaseException:
        pool.stop_now()
        raise
    pool.close()
    return ran
