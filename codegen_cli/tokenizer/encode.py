"""Encode one work unit: read its rows, tag + encode + eos every document, write its train/val parts.

Runs inside worker processes (or in-process with one worker). Each unit writes `parts/NNNNNN.train.bin`,
`parts/NNNNNN.val.bin` and, last, `parts/NNNNNN.json` with its counts: the JSON is the completion
marker, so a unit killed half-way is simply redone by the next run.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from codegen_cli.atomic import atomic_write_bytes, atomic_write_text
from codegen_cli.errors import JobFailed
from codegen_cli.languages import with_tag
from codegen_cli.tokenizer.corpus import WorkUnit, is_val, read_unit

SPLITS = ("train", "val")
MAX_REPORTED_FAILURES = 20


@dataclass(frozen=True)
class EncodeJob:
    """Everything a worker needs (picklable: paths and plain values, no live tokenizer)."""

    tokenizer_file: str
    tag_style: str
    tag_ids: dict[str, int]
    eos_id: int
    dtype: str
    val_fraction: float
    languages: tuple[str, ...] | None  # None: every language
    parts_dir: str
    verify: bool


@functools.lru_cache(maxsize=2)
def _load(tokenizer_file: str) -> Tokenizer:
    """One tokenizer per worker process; literal `<|endoftext|>` in source code stays plain text."""
    tok = Tokenizer.from_file(tokenizer_file)
    tok.encode_special_tokens = True
    return tok


def marker_path(parts_dir: str | Path, index: int) -> Path:
    return Path(parts_dir) / f"{index:06d}.json"


def part_path(parts_dir: str | Path, index: int, split: str) -> Path:
    return Path(parts_dir) / f"{index:06d}.{split}.bin"


def _empty_split() -> dict[str, Any]:
    return {"tokens": 0, "documents": 0, "languages": {}}


def _count(stats: dict[str, Any], lang: str, tokens: int, nbytes: int) -> None:
    stats["tokens"] += tokens
    stats["documents"] += 1
    per = stats["languages"].setdefault(lang, {"tokens": 0, "documents": 0, "bytes": 0})
    per["tokens"] += tokens
    per["documents"] += 1
    per["bytes"] += nbytes


def _texts(job: EncodeJob, langs: list[str], contents: list[str]) -> list[str]:
    # Comment tags are text, encoded together with the content exactly as eval will encode a prompt.
    if job.tag_style == "comment":
        return [with_tag(text, lang, "comment") for text, lang in zip(contents, langs)]
    return contents


def encode_unit(job: EncodeJob, unit: WorkUnit) -> dict[str, Any]:
    """Encode one unit and write its parts + marker; returns the marker's counts."""
    ids, langs, contents = read_unit(unit)
    keep = [i for i, lang in enumerate(langs) if job.languages is None or lang in job.languages]
    ids, langs, contents = [ids[i] for i in keep], [langs[i] for i in keep], [contents[i] for i in keep]
    tok = _load(job.tokenizer_file)
    texts = _texts(job, langs, contents)
    try:
        encodings = tok.encode_batch_fast(texts, add_special_tokens=False)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - a Rust panic arrives as pyo3's PanicException(BaseException)
        raise JobFailed(f"{unit.path} row group {unit.row_group} rows {unit.start}..{unit.start + unit.rows}: "
                        f"the tokenizer failed ({type(exc).__name__}: {str(exc)[:200]})") from None
    streams: dict[str, list[int]] = {split: [] for split in SPLITS}
    stats: dict[str, Any] = {split: _empty_split() for split in SPLITS}
    failures: list[str] = []
    encoded = [enc.ids for enc in encodings]
    if job.verify:
        decoded = tok.decode_batch(encoded, skip_special_tokens=False)
        failures = [doc_id for doc_id, text, back in zip(ids, texts, decoded) if back != text]
    for doc_id, lang, content, token_ids in zip(ids, langs, contents, encoded):
        split = "val" if is_val(doc_id, job.val_fraction) else "train"
        out = streams[split]
        if job.tag_style == "token":
            out.append(job.tag_ids[lang])
        out.extend(token_ids)
        out.append(job.eos_id)
        extra = 2 if job.tag_style == "token" else 1
        _count(stats[split], lang, len(token_ids) + extra, len(content.encode("utf-8")))
    for split in SPLITS:
        atomic_write_bytes(part_path(job.parts_dir, unit.index, split),
                           np.asarray(streams[split], dtype=np.dtype(job.dtype).newbyteorder("<")).tobytes())
    marker = {"unit": unit.index, "splits": stats, "round_trip_failures": len(failures),
              "failed_ids": failures[:MAX_REPORTED_FAILURES]}
    atomic_write_text(marker_path(job.parts_dir, unit.index), json.dumps(marker, sort_keys=True))
    return marker
