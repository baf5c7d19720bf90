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


def iter_rows(location: str, *, hub: bool, content_column: str, path_column: str,
              language_column: str | None) -> Iterator[RowItem]:
    """RowItems in file order; rows without a path get `row-000000042` (the row number)."""
    columns = [content_column, path_column] + ([language_column] if language_column else [])
    for number, (prefix, row) in enumerate(_rows(location, hub, columns)):
        content = row.get(content_column)
        if content is None:
            content = ""
        path = row.get(path_column)
        name = f"{prefix}{path}" if isinstance(path, str) and path else f"{prefix}row-{number:09d}"
        language = row.get(language_column) if language_column else None
        yield RowItem(name, content if isinstance(content, (str, bytes)) else str(content), None,
                      str(language) if language is not None else None)
