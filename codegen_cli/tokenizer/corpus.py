"""Reading a corpus/ folder (contracts.md): checks, the split by id, work units and document streams.

Nothing here loads the whole corpus: the checks read parquet footers, the language scan reads two small
columns, and documents stream one record batch at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from codegen_cli.atomic import sha256_file
from codegen_cli.errors import InputDataError
from codegen_cli.languages import BY_NAME
from codegen_cli.manifest import MANIFEST_NAME, read_manifest

REQUIRED_COLUMNS = ("id", "content", "language")
READ_COLUMNS = ["id", "language", "content"]


@dataclass(frozen=True)
class WorkUnit:
    """A slice of one row group: rows [start, start + rows) of `row_group` in `path`."""

    index: int
    path: str
    row_group: int
    start: int
    rows: int


def unit_fraction(doc_id: str, salt: str) -> float:
    """A number in [0, 1) fixed by the document id: same id, same split, on every machine and run."""
    digest = hashlib.sha256(f"{salt}:{doc_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def is_val(doc_id: str, val_fraction: float) -> bool:
    return val_fraction > 0 and unit_fraction(doc_id, "split") < val_fraction


def in_sample(doc_id: str, rate: float) -> bool:
    return rate >= 1.0 or unit_fraction(doc_id, "sample") < rate


def parquet_files(corpus: Path) -> list[Path]:
    """The corpus shards in sorted name order, after checking the manifest and every file's columns."""
    read_manifest(corpus, stage="collect")
    files = sorted((corpus / "data").glob("*.parquet"))
    if not files:
        raise InputDataError(f"{corpus / 'data'}: no *.parquet files; rerun `codegen collect` into {corpus}")
    for path in files:
        try:
            names = set(pq.ParquetFile(path).schema_arrow.names)
        except Exception as exc:
            raise InputDataError(f"{path}: not a readable parquet file ({exc}); rerun `codegen collect`") from exc
        missing = [col for col in REQUIRED_COLUMNS if col not in names]
        if missing:
            raise InputDataError(f"{path}: missing column(s) {', '.join(missing)}; not a corpus shard of "
                                 "`codegen collect`")
    return files


def corpus_fingerprint(corpus: Path, files: list[Path]) -> dict[str, Any]:
    """What identifies the input for resume checks and the manifest: manifest hash + shard names and sizes."""
    return {
        "path": str(corpus),
        "manifest_sha256": sha256_file(corpus / MANIFEST_NAME),
        "shards": [{"name": p.name, "bytes": p.stat().st_size} for p in files],
    }


def work_units(files: list[Path], chunk_docs: int, chunk_bytes: int) -> list[WorkUnit]:
    """Cut every row group into slices of at most `chunk_docs` rows and about `chunk_bytes` of content
    (by the `size_bytes` column when present), in corpus order: bounds each worker's memory."""
    units: list[WorkUnit] = []
    for path in files:
        handle = pq.ParquetFile(path)
        has_size = "size_bytes" in handle.schema_arrow.names
        for group in range(handle.metadata.num_row_groups):
            rows = handle.metadata.row_group(group).num_rows
            sizes = (handle.read_row_group(group, columns=["size_bytes"]).column(0).to_pylist()
                     if has_size else [0] * rows)
            start, total = 0, 0
            for row, size in enumerate(sizes):
                total += int(size or 0)
                if row + 1 - start >= chunk_docs or total >= chunk_bytes or row + 1 == rows:
                    units.append(WorkUnit(len(units), str(path), group, start, row + 1 - start))
                    start, total = row + 1, 0
    return units


def read_unit(unit: WorkUnit) -> tuple[list[str], list[str], list[str]]:
    """(ids, languages, contents) of one work unit, reading only its row group up to its slice."""
    handle = pq.ParquetFile(unit.path)
    table = handle.read_row_group(unit.row_group, columns=READ_COLUMNS).slice(unit.start, unit.rows)
    ids, langs, contents = (table.column(name).to_pylist() for name in READ_COLUMNS)
    for row, (doc_id, lang, content) in enumerate(zip(ids, langs, contents)):
        if not isinstance(doc_id, str) or not isinstance(content, str) or lang not in BY_NAME:
            where = f"{unit.path} row {unit.start + row} of row group {unit.row_group}"
            raise InputDataError(f"{where}: id/content must be strings and language a known name, got "
                                 f"language={lang!r}; rerun `codegen collect`")
    return ids, langs, contents


def scan_languages(files: list[Path]) -> tuple[dict[str, int], dict[str, int]]:
    """Documents and bytes per language (reads only the small columns)."""
    docs: dict[str, int] = {}
    size: dict[str, int] = {}
    for path in files:
        handle = pq.ParquetFile(path)
        has_size = "size_bytes" in handle.schema_arrow.names
        for batch in handle.iter_batches(columns=["language", "size_bytes"] if has_size else ["language"]):
            langs = batch.column(0).to_pylist()
            sizes = batch.column(1).to_pylist() if has_size else [0] * len(langs)
            for lang, nbytes in zip(langs, sizes):
                if lang not in BY_NAME:
                    raise InputDataError(f"{path}: unknown language {lang!r} in column `language`; rerun "
                                         "`codegen collect`")
                docs[lang] = docs.get(lang, 0) + 1
                size[lang] = size.get(lang, 0) + int(nbytes or 0)
    return docs, size


def iter_documents(files: list[Path], batch_rows: int = 1024) -> Iterator[tuple[str, str, str]]:
    """(id, language, content) of every document in corpus order, one record batch in memory at a time."""
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=READ_COLUMNS):
            yield from zip(*(batch.column(i).to_pylist() for i in range(3)))
