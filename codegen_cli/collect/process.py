"""Per-file work, run in the worker processes: read, classify, filter, redact, hash, sign.

`process_chunk` turns one Chunk into three files in the work folder, each written atomically:
`NNNNNN.parquet` (the rows that passed every per-file step), `NNNNNN.npy` (per row: the 128-bit id
prefix and the LSH band keys, which is all the global dedup step needs) and `NNNNNN.json` (the counts,
written last: its presence marks the chunk done for a resumed run).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from codegen_cli.atomic import atomic_write_bytes, atomic_write_json
from codegen_cli.collect import arrow, licenses, minhash, secrets
from codegen_cli.collect.bytescan import ByteView
from codegen_cli.collect.decontaminate import BenchmarkIndex
from codegen_cli.collect.filters import FilterSettings, quality_reason
from codegen_cli.collect.items import Chunk, FileItem, Item, RowItem, SkipItem
from codegen_cli.collect.stats import Stats
from codegen_cli.languages import detect_language, resolve

SCHEMA = pa.schema([
    ("id", pa.string()), ("content", pa.string()), ("language", pa.string()), ("path", pa.string()),
    ("source", pa.string()), ("license", pa.string()), ("size_bytes", pa.int64()), ("num_lines", pa.int64()),
])
BINARY_PROBE = 8192  # NUL byte in the first 8 KiB = binary (what git and grep do)
_BOM = "\ufeff"


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker needs; picklable and identical for every worker."""

    work_dir: str
    filters: FilterSettings
    languages: frozenset[str] | None
    max_file_size: int
    allow_licenses: frozenset[str] | None
    redact_secrets: bool
    near_dedup: bool
    ngram_size: int
    num_perm: int
    bands: int
    rows: int
    benchmark: BenchmarkIndex | None


@dataclass
class Kept:
    row: dict[str, Any]
    keys: np.ndarray  # [id_hi, id_lo, band keys...]


class Dropped(Exception):
    """Raised inside the per-file steps to leave early with a reason."""

    def __init__(self, reason: str, language: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.language = language


def _read(item: FileItem, limit: int) -> bytes:
    """Read at most `limit + 1` bytes, so a huge file (or one that grew since the walk) is never loaded."""
    if item.size > limit:
        raise Dropped("too_large")
    try:
        with open(item.abs_path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise Dropped("unreadable") from exc
    if len(data) > limit:
        raise Dropped("too_large")
    return data


def _decode(data: bytes) -> str:
    if b"\x00" in data[:BINARY_PROBE]:
        raise Dropped("binary")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Dropped("encoding") from exc
    return text[1:] if text.startswith(_BOM) else text


def _language(path: str, text: str, given: str | None, settings: WorkerSettings) -> str:
    if given is not None:
        try:
            language: str | None = resolve(given).name
        except KeyError:
            language = None
    else:
        language = detect_language(path, text)
    if language is None:
        raise Dropped("unknown_language")
    if settings.languages is not None and language not in settings.languages:
        raise Dropped("language_filter", language)
    return language


def document_id(text: str) -> str:
    """sha256 of the content with CRLF -> LF: the corpus `id` and the exact-dedup key."""
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def num_lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def _keys(doc_id: str, view: ByteView, settings: WorkerSettings) -> tuple[np.ndarray, np.ndarray | None]:
    prefix = np.frombuffer(bytes.fromhex(doc_id[:32]), dtype=">u8").astype(np.uint64)
    if not settings.near_dedup and settings.benchmark is None:
        return np.concatenate([prefix, np.zeros(settings.bands, dtype=np.uint64)]), None
    starts, ends = view.tokens
    tokens = minhash.token_hashes(view.raw, starts, ends)
    bands = np.zeros(settings.bands, dtype=np.uint64)
    if settings.near_dedup:
        shingles = minhash.shingle_hashes(tokens, settings.ngram_size)
        bands = minhash.band_keys(minhash.signature(shingles, settings.num_perm), settings.bands, settings.rows)
    return np.concatenate([prefix, bands]), tokens


def process_item(item: FileItem | RowItem, source: str, settings: WorkerSettings, stats: Stats) -> Kept:
    """All per-file steps for one file; raises Dropped with the reason."""
    if isinstance(item, FileItem):
        data = _read(item, settings.max_file_size)
        stats.read(len(data))
        text = _decode(data)
    elif isinstance(item.content, bytes):
        stats.read(len(item.content))
        text = _decode(item.content)
    else:
        text = item.content
        stats.read(_input_size(item))
        if len(text) > settings.max_file_size:
            raise Dropped("too_large")
    language = _language(item.path, text, getattr(item, "language", None), settings)
    if not licenses.allowed(item.license, settings.allow_licenses):
        raise Dropped("license", language)
    data = text.encode("utf-8")
    view = ByteView(data)
    reason = quality_reason(text, view, language, settings.filters)
    if reason:
        raise Dropped(reason, language)
    if settings.redact_secrets:
        redacted, counts = secrets.redact(text)
        if counts:
            stats.redactions.update(counts)
            text, data = redacted, redacted.encode("utf-8")
            view = ByteView(data)
    doc_id = document_id(text)
    keys, tokens = _keys(doc_id, view, settings)
    if settings.benchmark is not None and tokens is not None and settings.benchmark.contains(tokens):
        raise Dropped("decontaminated", language)
    row = {"id": doc_id, "content": text, "language": language, "path": item.path, "source": source,
           "license": item.license, "size_bytes": len(data), "num_lines": num_lines(text)}
    return Kept(row, keys)


def _input_size(item: Item) -> int:
    if isinstance(item, RowItem):
        content = item.content
        return len(content) if isinstance(content, bytes) else len(content.encode("utf-8", "surrogatepass"))
    return item.size


def run_chunk(chunk: Chunk, settings: WorkerSettings) -> tuple[list[Kept], Stats]:
    stats = Stats()
    kept: list[Kept] = []
    for item in chunk.items:
        size = _input_size(item)
        stats.seen(size)
        if isinstance(item, SkipItem):
            stats.drop(item.reason, item.language, size)
            continue
        try:
            doc = process_item(item, chunk.source_name, settings, stats)
        except Dropped as drop:
            stats.drop(drop.reason, drop.language, size)
            continue
        stats.keep(doc.row["language"], doc.row["size_bytes"])
        kept.append(doc)
    return kept, stats


def chunk_paths(work_dir: str | Path, index: int) -> tuple[Path, Path, Path]:
    base = Path(work_dir) / "parts" / f"{index:06d}"
    return base.with_suffix(".parquet"), base.with_suffix(".npy"), base.with_suffix(".json")


def process_chunk(chunk: Chunk, settings: WorkerSettings) -> dict[str, Any]:
    """Worker entry point: process and persist one chunk; returns its marker (counts + fingerprint)."""
    kept, stats = run_chunk(chunk, settings)
    table_path, keys_path, marker_path = chunk_paths(settings.work_dir, chunk.index)
    table = arrow.table([doc.row for doc in kept], SCHEMA)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="lz4")  # intermediate: cheap to write, read once
    atomic_write_bytes(table_path, sink.getvalue())
    keys = np.stack([doc.keys for doc in kept]) if kept else np.zeros((0, 2 + settings.bands), np.uint64)
    buffer = io.BytesIO()
    np.save(buffer, keys)
    atomic_write_bytes(keys_path, buffer.getvalue())
    marker = {"index": chunk.index, "fingerprint": chunk.fingerprint(), "rows": len(kept),
              "stats": stats.to_dict()}
    atomic_write_json(marker_path, marker)
    return marker
