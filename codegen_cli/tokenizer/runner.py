"""Run the encode work units: in-process with one worker, else on a pool of spawned processes.

Each worker encodes whole units single-threaded (TOKENIZERS_PARALLELISM=false), reading its rows from
parquet itself, so the parent only hands out unit numbers and collects the small markers. Spawned (not
forked) workers: the parent may already run tokenizers' and pyarrow's thread pools, which a fork copies
in a broken state.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from codegen_cli.tokenizer.corpus import WorkUnit
from codegen_cli.tokenizer.encode import EncodeJob, encode_unit

# Units queued per worker beyond the one it runs: keeps workers busy without queueing the whole corpus.
QUEUE_PER_WORKER = 2


def _init_worker() -> None:
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


def run_units(job: EncodeJob, units: list[WorkUnit], workers: int, on_done: Callable[[dict], None]) -> None:
    """Encode `units` (the not-yet-finished ones), calling `on_done(marker)` as each completes."""
    if workers <= 1 or len(units) <= 1:
        for unit in units:
            on_done(encode_unit(job, unit))
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(units)), mp_context=context,
                             initializer=_init_worker) as pool:
        pending: set[Future] = set()
        queue = iter(units)
        limit = workers * (1 + QUEUE_PER_WORKER)
        try:
            while True:
                for unit in queue:
                    pending.add(pool.submit(encode_unit, job, unit))
                    if len(pending) >= limit:
                        break
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    on_done(future.result())
        except BaseException:
            _stop_now(pool)
            raise


def _stop_now(pool: ProcessPoolExecutor) -> None:
    """On Ctrl-C or an error, kill the workers instead of waiting for their units: every part file is
    written atomically and a unit without its marker is simply redone by the next run."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):  # no public API for this
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
