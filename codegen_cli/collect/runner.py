"""Cut the item stream into chunks and run them on a pool of worker processes, skipping finished ones.

Memory stays bounded: items are produced lazily by the walkers, at most `2 x workers` chunks are in
flight, and each worker writes its own chunk files, so the parent never holds file contents (except the
rows of dataset sources while their chunk waits to be sent).
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from codegen_cli.collect.items import Chunk, Item, item_weight
from codegen_cli.collect.process import WorkerSettings, chunk_paths, process_chunk
from codegen_cli.errors import Interrupted

CHUNK_BYTES = 16 * 1024 * 1024  # bounds a worker's memory and the work lost to a kill


def make_chunks(sources: Iterable[tuple[int, str, Iterator[Item]]], chunk_files: int) -> Iterator[Chunk]:
    """Chunks of at most `chunk_files` items or ~CHUNK_BYTES of input; never spanning two sources."""
    index = 0
    for source_index, name, items in sources:
        chunk = Chunk(index, source_index, name)
        weight = 0
        for item in items:
            chunk.items.append(item)
            weight += item_weight(item)
            if len(chunk.items) >= chunk_files or weight >= CHUNK_BYTES:
                yield chunk
                index += 1
                chunk, weight = Chunk(index, source_index, name), 0
        if chunk.items:
            yield chunk
            index += 1


def finished_marker(work_dir: str, chunk: Chunk) -> dict[str, Any] | None:
    """The chunk's marker when a previous run completed it with the same inputs, else None."""
    table, keys, marker = chunk_paths(work_dir, chunk.index)
    if not (marker.is_file() and table.is_file() and keys.is_file()):
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if data.get("fingerprint") == chunk.fingerprint() else None


_SETTINGS: WorkerSettings | None = None  # set once per worker process by the pool initializer


def _init_worker(settings: WorkerSettings) -> None:
    global _SETTINGS
    _SETTINGS = settings
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool


def _work(chunk: Chunk) -> dict[str, Any]:
    assert _SETTINGS is not None
    return process_chunk(chunk, _SETTINGS)


def run_chunks(chunks: Iterable[Chunk], settings: WorkerSettings, workers: int,
               on_done: Callable[[dict[str, Any], bool], None]) -> None:
    """Process every chunk not finished before; `on_done(marker, resumed)` is called for each chunk."""
    todo = _skip_finished(chunks, settings, on_done)
    if workers <= 1:
        for chunk in todo:
            on_done(process_chunk(chunk, settings), False)
        return
    method = "fork" if sys.platform == "linux" else "spawn"
    pool = multiprocessing.get_context(method).Pool(workers, initializer=_init_worker, initargs=(settings,))
    try:
        pending: deque[Any] = deque()
        for chunk in todo:
            pending.append(pool.apply_async(_work, (chunk,)))
            while len(pending) >= 2 * workers:
                on_done(pending.popleft().get(), False)
        while pending:
            on_done(pending.popleft().get(), False)
        pool.close()
    except KeyboardInterrupt:
        pool.terminate()
        raise Interrupted("interrupted; finished chunks are kept, rerun the same command to resume") from None
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


def _skip_finished(chunks: Iterable[Chunk], settings: WorkerSettings,
                   on_done: Callable[[dict[str, Any], bool], None]) -> Iterator[Chunk]:
    for chunk in chunks:
        marker = finished_marker(settings.work_dir, chunk)
        if marker is not None:
            on_done(marker, True)
        else:
            yield chunk
