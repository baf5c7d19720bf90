"""Dataset sources: rows of a text column from local Parquet/JSONL files or a Hugging Face dataset.

Local files are streamed (Parquet by record batch, JSONL line by line) so a file larger than memory
works. Hub datasets go through `datasets.load_dataset(..., streaming=True)`, which is how The Stack or
codeparrot-clean style sources are read by users who are online.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codegen_cli.collect.items import RowItem
from codegen_cli.errors import InputDataError

_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz", ".json", ".ndjson")


def dataset_files(location: str) -> list[Path]:
    path = Path(location)
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(_SUFFIXES))
    if not files:
        raise InputDataError(f"{path}: no .parquet or .jsonl files in this folder")
    return files


def _split_hub(location: str) -> tuple[str, str | None]:
    name, _, config = location.partition(":")
    return name, config or None


def _hub_dataset(location: str) -> Any:
    import datasets

    name, config = _split_hub(location)
    try:
        return datasets.load_dataset(name, config, split="train", streaming=True)
    except Exception as exc:
        raise InputDataError(f"dataset hf:{location}: cannot load it ({type(exc).__name__}: {exc})") from exc


def _columns_of(path: Path) -> list[str]:
    if path.name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(path).schema_arrow.names
        except Exception as exc:
            raise InputDataError(f"{path}: not a readable Parquet file ({exc})") from exc
    for row in _jsonl_rows(path):
        return list(row)
    return []


def check_columns(location: str, *, hub: bool, content_column: str) -> None:
    """Raise InputDataError naming the file and its columns when the content column is missing."""
    if hub:
        features = getattr(_hub_dataset(location), "features", None)
        names = list(features) if features else []
        if names and content_column not in names:
            raise InputDataError(f"dataset hf:{location}: no column {content_column!r} (columns: "
                                 f"{', '.join(names)}); choose one with --content-column")
        return
    for path in dataset_files(location):
        names = _columns_of(path)
        if content_column not in names:
            raise InputDataError(f"{path}: no column {content_column!r} (columns: {', '.join(names) or 'none'}); "
                                 "choose one with --content-column")


def _jsonl_rows(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise InputDataError(f"{path}:{number}: invalid JSON ({exc.msg}); fix or remove the line") from exc
            if isinstance(row, dict):
                yield row


def _parquet_rows(path: Path, columns: list[str]) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(path)
    wanted = [name for name in columns if name in handle.schema_arrow.names]
    for batch in handle.iter_batches(batch_size=1024, columns=wanted):
        yield from batch.to_pylist()


def _rows(location: str, hub: bool, columns: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    if hub:
        for row in _hub_dataset(location):
            yield "", row
        return
    many = Path(location).is_dir()
    for path in dataset_files(location):
        prefix = f"{path.relative_to(location)}/" if many else ""
        rows = _parquet_rows(path, columns) if path.name.lower().endswith(".parquet") else _jsonl_rows(path)
        for row in rows:
            yield prefix, row


def _row_item(prefix: str, number: int, row: dict[str, Any], *, content_column: str, path_column: str,
              language_column: str | None) -> RowItem:
    content = row.get(content_column)
    if content is None:
        content = ""
    path = row.get(path_column)
    name = f"{prefix}{path}" if isinstance(path, str) and path else f"{prefix}row-{number:09d}"
    language = row.get(language_column) if language_column else None
    return RowItem(name, content if isinstance(content, (str, bytes)) else str(content), None,
                   str(language) if language is not None else None)


class LocalRows:
    """A local dataset source (Parquet/JSONL files) as numbered rows read by range, so that a `--shard I/N`
    run reads only the rows of its own chunks: Parquet by row group (the counts come from the footers),
    JSONL by seeking to recorded line offsets (one scan of the file's lines, no JSON parsing, finds them).
    Row numbers run over every row of every file in order; a JSONL line that is not an object keeps its
    number and yields no item."""

    def __init__(self, location: str, *, content_column: str, path_column: str, language_column: str | None,
                 stride: int) -> None:
        self.location = location
        self.columns = [content_column, path_column] + ([language_column] if language_column else [])
        self.names = {"content_column": content_column, "path_column": path_column,
                      "language_column": language_column}
        self.stride = stride  # rows between recorded JSONL offsets (the chunk size: one seek per chunk)
        self.files = dataset_files(location)
        self.many = Path(location).is_dir()
        self._offsets: dict[Path, list[tuple[int, int]]] = {}  # (byte offset, line number) every `stride` rows
        self.counts = [self._count(path) for path in self.files]

    def __len__(self) -> int:
        return sum(self.counts)

    def _count(self, path: Path) -> int:
        if path.name.lower().endswith(".parquet"):
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        offsets, count, position = [], 0, 0
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as handle:
            for line_number, line in enumerate(handle, 1):
                if line.strip():
                    if count % self.stride == 0:
                        offsets.append((position, line_number))
                    count += 1
                position += len(line)
        self._offsets[path] = offsets
        return count

    def read(self, start: int, stop: int) -> Iterator[RowItem]:
        """The items of rows [start, stop) in order."""
        first = 0
        for path, count in zip(self.files, self.counts):
            lo, hi = max(start, first), min(stop, first + count)
            if lo < hi:
                prefix = f"{path.relative_to(self.location)}/" if self.many else ""
                for number, row in self._range(path, lo - first, hi - first):
                    yield _row_item(prefix, first + number, row, **self.names)
            first += count

    def _range(self, path: Path, lo: int, hi: int) -> Iterator[tuple[int, dict[str, Any]]]:
        if path.name.lower().endswith(".parquet"):
            import pyarrow.parquet as pq

            handle = pq.ParquetFile(path)
            wanted = [name for name in self.columns if name in handle.schema_arrow.names]
            begin = 0
            for group in range(handle.metadata.num_row_groups):
                size = handle.metadata.row_group(group).num_rows
                if begin + size > lo and begin < hi:
                    rows = handle.read_row_group(group, columns=wanted).to_pylist()
                    for offset in range(max(lo, begin), min(hi, begin + size)):
                        yield offset, rows[offset - begin]
                begin += size
            return
        mark = lo // self.stride
        number = mark * self.stride
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        offset, first_line = self._offsets[path][mark]
        with opener(path, "rb") as handle:
            handle.seek(offset)
            for line_number, line in enumerate(handle, first_line):
                if not line.strip():
                    continue
                if number >= hi:
                    return
                if number >= lo:
                    try:
                        row = json.loads(line)
                    except ValueError as exc:
                        raise InputDataError(f"{path}:{line_number}: invalid JSON ({exc}); fix or remove the "
                                             "line") from exc
                    if isinstance(row, dict):
                        yield number, row
                number += 1


def iter_rows(location: str, *, hub: bool, content_column: str, path_column: str,
              language_column: str | None) -> Iterator[RowItem]:
    """RowItems in file order (a hub dataset, streamed); rows without a path get `row-000000042` (the row
    number). Local files go through LocalRows, which reads by range."""
    columns = [content_column, path_column] + ([language_column] if language_column else [])
    for number, (prefix, row) in enumerate(_rows(location, hub, columns)):
        yield _row_item(prefix, number, row, content_column=content_column, path_column=path_column,
                        language_column=language_column)
