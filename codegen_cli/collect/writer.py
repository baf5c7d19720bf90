"""Write the final corpus shards: the chunk tables in order, minus the duplicates, rolled by size.

Shards are `data/train-00000.parquet`, ... (zstd): the `train` in the name is what lets
`datasets.load_dataset("parquet", data_dir="corpus")` find the split's files and leave manifest.json and
README.md alone. Each is written to a temporary name and renamed, so a reader never sees half a shard;
shards left from an earlier, interrupted attempt are replaced or removed.

The write is planned first (`plan_files`): a shard is a run of consecutive chunks, closed after the chunk
that brings its kept content to the target size. The plan needs only each chunk's `size_bytes` column and
the drop codes, so it is cheap, and it lets any process write any shard (`write_file`): one process writes
them all, or the `--merge --shard I/N` tasks each write theirs, and the bytes are the same either way (and
for any `--workers`), because a shard's rows and row groups depend only on its chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from codegen_cli.atomic import atomic_open
from codegen_cli.collect import arrow
from codegen_cli.collect.process import SCHEMA

SHARD_PATTERN = "train-{:05d}.parquet"


def plan_files(table_files: list[Path], drop_code: np.ndarray, *, target_bytes: int) -> list[list[int]]:
    """Chunk positions (indexes into `table_files`) per output shard. Chunks with nothing kept join the
    current shard; an empty corpus still gets one (empty) shard, so readers find the schema."""
    files: list[list[int]] = [[]]
    filled, position = 0, 0
    for number, path in enumerate(table_files):
        handle = pq.ParquetFile(path)
        rows = handle.metadata.num_rows
        codes = drop_code[position: position + rows]
        position += rows
        if not rows:
            continue
        sizes = handle.read(columns=["size_bytes"]).column("size_bytes").to_numpy()
        kept = int(sizes[codes == 0].sum())
        if not kept:
            continue
        files[-1].append(number)
        filled += kept
        if filled >= target_bytes:
            files.append([])
            filled = 0
    if len(files) > 1 and not files[-1]:
        files.pop()
    return files


def chunk_offsets(table_files: list[Path]) -> list[int]:
    """Position of each chunk's first row in the global row order (drop codes are indexed by it)."""
    offsets, position = [], 0
    for path in table_files:
        offsets.append(position)
        position += pq.ParquetFile(path).metadata.num_rows
    return offsets


def write_file(number: int, chunks: list[int], *, table_files: list[Path], offsets: list[int],
               drop_code: np.ndarray, data_dir: Path) -> str:
    """Write shard `number` (its `chunks`, kept rows only) atomically; returns its file name."""
    name = SHARD_PATTERN.format(number)
    data_dir.mkdir(parents=True, exist_ok=True)
    with atomic_open(data_dir / name, "wb") as handle:
        writer = pq.ParquetWriter(handle, SCHEMA, compression="zstd")
        for index in chunks:
            table = pq.ParquetFile(table_files[index]).read()  # not read_table: its dataset layer imports pandas
            codes = drop_code[offsets[index]: offsets[index] + table.num_rows]
            if codes.any():
                table = table.filter(arrow.mask(codes == 0))
            if table.num_rows:
                writer.write_table(table)
        writer.close()
    return name


def report_drops(table_files: list[Path], drop_code: np.ndarray, *, reasons: tuple[str, ...],
                 on_drop: Callable[[str, str, int], None]) -> None:
    """Call `on_drop(reason, language, size)` for every dropped row (reading only those two columns)."""
    position = 0
    for path in table_files:
        handle = pq.ParquetFile(path)
        rows = handle.metadata.num_rows
        codes = drop_code[position: position + rows]
        position += rows
        if not codes.any():
            continue
        gone = np.flatnonzero(codes)
        table = handle.read(columns=["language", "size_bytes"])
        languages = table.column("language").take(gone).to_pylist()
        sizes = table.column("size_bytes").take(gone).to_pylist()
        for code, language, size in zip(codes[gone].tolist(), languages, sizes):
            on_drop(reasons[code], language, size)


def remove_stale(data_dir: Path, keep: list[str]) -> None:
    """Shards and temporary files of an earlier, interrupted or larger write that the plan does not have."""
    for stale in data_dir.glob("*.parquet"):
        if stale.name not in keep:
            stale.unlink()
    for temp in data_dir.glob(".*.tmp"):
        temp.unlink(missing_ok=True)


def write_corpus(table_files: list[Path], drop_code: np.ndarray, *, reasons: tuple[str, ...], data_dir: Path,
                 target_bytes: int, on_drop: Callable[[str, str, int], None]) -> list[str]:
    """Copy the rows whose `drop_code` is 0 into shards, all in this process; report the others
    (reasons[code]) to `on_drop`. Returns the shard file names in order."""
    report_drops(table_files, drop_code, reasons=reasons, on_drop=on_drop)
    plan = plan_files(table_files, drop_code, target_bytes=target_bytes)
    offsets = chunk_offsets(table_files)
    names = [write_file(number, chunks, table_files=table_files, offsets=offsets, drop_code=drop_code,
                        data_dir=data_dir) for number, chunks in enumerate(plan)]
    remove_stale(data_dir, names)
    return names
