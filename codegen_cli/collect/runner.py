"""Cut the item stream into chunks and run them on the shared executor (codegen_cli/work_units.py).

Memory stays bounded: items are produced lazily by the walkers, at most `2 x workers` chunks are in
flight, and each worker writes its own chunk files, so the parent never holds file contents (except the
rows of dataset sources while their chunk waits to be sent).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from codegen_cli.collect.datasets_src import LocalRows
from codegen_cli.collect.items import Chunk, Item, item_weight
from codegen_cli.collect.process import WorkerSettings, chunk_paths, process_chunk
from codegen_cli.work_units import run_units

CHUNK_BYTES = 16 * 1024 * 1024  # bounds a worker's memory and the work lost to a kill


def make_chunks(sources: Iterable[tuple[int, str, Iterator[Item] | LocalRows]], chunk_files: int,
                wanted: Callable[[int], bool] = lambda _index: True) -> Iterator[Chunk]:
    """The `wanted` chunks (by global index) of at most `chunk_files` items or ~CHUNK_BYTES of input;
    never spanning two sources. A local dataset source (LocalRows) is cut by row count alone, so the
    boundaries are known without reading it, and only the wanted chunks' rows are read (a `--shard I/N`
    run reads its own rows, not every row)."""
    index = 0
    for source_index, name, items in sources:
        if isinstance(items, LocalRows):
            for start in range(0, len(items), chunk_files):
                if wanted(index):
                    chunk = Chunk(index, source_index, name)
                    chunk.items.extend(items.read(start, min(start + chunk_files, len(items))))
                    yield chunk
                index += 1
            continue
        chunk = Chunk(index, source_index, name)
        weight = 0
        for item in items:
            chunk.items.append(item)
            weight += item_weight(item)
            if len(chunk.items) >= chunk_files or weight >= CHUNK_BYTES:
                if wanted(index):
                    yield chunk
                index += 1
                chunk, weight = Chunk(index, source_index, name), 0
        if chunk.items:
            if wanted(index):
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


class ChunkWork:
    """The collect stage's units for `run_units`: a chunk is done when its marker matches its inputs."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings  # sent to each worker once (forked: not even copied)

    def finished(self, chunk: Chunk) -> dict[str, Any] | None:
        return finished_marker(self.settings.work_dir, chunk)

    def run(self, chunk: Chunk) -> dict[str, Any]:
        return process_chunk(chunk, self.settings)


def run_chunks(chunks: Iterable[Chunk], settings: WorkerSettings, workers: int,
               on_done: Callable[[dict[str, Any], bool], None]) -> None:
    """Process every chunk not finished before; `on_done(marker, resumed)` is called for each chunk."""
    start = "fork" if sys.platform == "linux" else "spawn"  # fork: the settings are not pickled per worker
    run_units(chunks, ChunkWork(settings), on_done=on_done, workers=workers, start=start, queue=1, what="chunks")
