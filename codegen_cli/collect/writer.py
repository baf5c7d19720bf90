"""Write the final corpus shards: the chunk tables in order, minus the duplicates, rolled by size.

Shards are `data/train-00000.parquet`, ... (zstd): the `train` in the name is what lets
`datasets.load_dataset("parquet", data_dir="corpus")` find the split's files and leave manifest.json and
README.md alone. Each is written to a temporary name and renamed, so a
reader never sees half a shard; shards left from an earlier, interrupted attempt are replaced or
removed. The rows and row groups depend only on the chunks, so the bytes are the same for any
`--workers`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from codegen_cli.atomic import atomic_open
from codegen_cli.collect import arrow
from codegen_cli.collect.process import SCHEMA

SHARD_PATTERN = "train-{:05d}.parquet"


class ShardWriter:
    def __init__(self, data_dir: Path, target_bytes: int) -> None:
        self.data_dir = data_dir
        self.target = target_bytes
        self.written: list[str] = []
        self._stack: contextlib.ExitStack | None = None
        self._writer: pq.ParquetWriter | None = None
        self._bytes = 0

    def _open(self) -> None:
        name = SHARD_PATTERN.format(len(self.written))
        self._stack = contextlib.ExitStack()
        handle = self._stack.enter_context(atomic_open(self.data_dir / name, "wb"))
        self._writer = pq.ParquetWriter(handle, SCHEMA, compression="zstd")
        self.written.append(name)
        self._bytes = 0

    def _close(self) -> None:
        if self._writer is not None and self._stack is not None:
            self._writer.close()
            self._stack.close()  # fsync + rename
        self._writer, self._stack = None, None

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self._writer is None:
            self._open()
        assert self._writer is not None
        self._writer.write_table(table)
        self._bytes += arrow.int64_sum(table.column("size_bytes"))
        if self._bytes >= self.target:
            self._close()

    def finish(self) -> list[str]:
        if self._writer is None and not self.written:
            self._open()  # an empty corpus still gets one (empty) shard with the schema
        self._close()
        keep = set(self.written)
        for stale in self.data_dir.glob("*.parquet"):
            if stale.name not in keep:
                stale.unlink()
        for temp in self.data_dir.glob(".*.tmp"):
            temp.unlink(missing_ok=True)
        return self.written


def write_corpus(table_files: list[Path], drop_code: np.ndarray, *, reasons: tuple[str, ...], data_dir: Path,
                 target_bytes: int, on_drop: Callable[[str, str, int], None]) -> list[str]:
    """Copy the rows whose `drop_code` is 0 into shards; report the others (reasons[code]) to `on_drop`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    writer = ShardWriter(data_dir, target_bytes)
    position = 0
    for path in table_files:
        table = pq.ParquetFile(path).read()  # not read_table: its dataset layer imports pandas
        codes = drop_code[position: position + table.num_rows]
        position += table.num_rows
        if codes.any():
            gone = np.flatnonzero(codes)
            languages = table.column("language").take(gone).to_pylist()
            sizes = table.column("size_bytes").take(gone).to_pylist()
            for code, language, size in zip(codes[gone].tolist(), languages, sizes):
                on_drop(reasons[code], language, size)
            table = table.filter(arrow.mask(codes == 0))
        writer.write(table)
    return writer.finish()
