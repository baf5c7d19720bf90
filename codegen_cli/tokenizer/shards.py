"""Join the per-unit parts into the final shards, and total their counts into meta.json.

Parts are joined in unit order (= corpus order), so the shards and their bytes do not depend on the
number of workers or on which units an earlier, killed run had finished. A new shard starts once the
current one holds `shard_tokens` tokens, always at a unit boundary, so no document is ever cut in two.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from codegen_cli.atomic import atomic_open
from codegen_cli.tokenizer.encode import SPLITS, marker_path, part_path

FORMAT_VERSION = 1
COPY_CHUNK = 8 << 20


def read_markers(parts_dir: Path, count: int) -> list[dict[str, Any]]:
    return [json.loads(marker_path(parts_dir, i).read_text(encoding="utf-8")) for i in range(count)]


def _groups(parts_dir: Path, count: int, split: str, *, itemsize: int, shard_tokens: int) -> list[list[Path]]:
    """Which part files go into which shard (empty parts skipped)."""
    groups: list[list[Path]] = []
    current: list[Path] = []
    tokens = 0
    for index in range(count):
        path = part_path(parts_dir, index, split)
        size = path.stat().st_size // itemsize
        if size == 0:
            continue
        current.append(path)
        tokens += size
        if tokens >= shard_tokens:
            groups.append(current)
            current, tokens = [], 0
    if current:
        groups.append(current)
    return groups


def write_shards(parts_dir: Path, output: Path, count: int, *, itemsize: int, shard_tokens: int) -> dict[str, list[str]]:
    """Write output/<split>/NNNNNN.bin for both splits; returns the shard paths relative to output."""
    shards: dict[str, list[str]] = {}
    for split in SPLITS:
        folder = output / split
        if folder.exists():
            shutil.rmtree(folder)  # leftovers of a killed merge; rewritten identically below
        folder.mkdir(parents=True)
        names: list[str] = []
        for number, group in enumerate(_groups(parts_dir, count, split, itemsize=itemsize, shard_tokens=shard_tokens)):
            name = f"{split}/{number:06d}.bin"
            with atomic_open(output / name, "wb") as out:
                for part in group:
                    with part.open("rb") as src:
                        shutil.copyfileobj(src, out, COPY_CHUNK)
            names.append(name)
        shards[split] = names
    return shards


def total_counts(markers: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum the unit markers: tokens/documents per split, tokens/documents/bytes per split and language."""
    splits: dict[str, Any] = {s: {"tokens": 0, "documents": 0, "languages": {}} for s in SPLITS}
    failures, failed_ids = 0, []
    for marker in markers:
        for split in SPLITS:
            src, dst = marker["splits"][split], splits[split]
            dst["tokens"] += src["tokens"]
            dst["documents"] += src["documents"]
            for lang, per in src["languages"].items():
                acc = dst["languages"].setdefault(lang, {"tokens": 0, "documents": 0, "bytes": 0})
                for key in acc:
                    acc[key] += per[key]
        failures += marker["round_trip_failures"]
        failed_ids.extend(marker["failed_ids"])
    return {"splits": splits, "round_trip_failures": failures, "failed_ids": failed_ids[:20]}


def build_meta(*, totals: dict[str, Any], shards: dict[str, list[str]], dtype: str, vocab_size: int,
               tag_style: str, tokenizer_sha256: str, special_tokens: dict[str, str],
               special_ids: dict[str, int], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """meta.json exactly as contracts.md describes it; `tokenizer_base` only for a pretrained tokenizer."""
    splits = totals["splits"]
    extra = {"tokenizer_base": base} if base else {}
    return {**extra,
        "format_version": FORMAT_VERSION,
        "dtype": dtype,
        "vocab_size": vocab_size,
        "tag_style": tag_style,
        "tokenizer_dir": "tokenizer",
        "tokenizer_sha256": tokenizer_sha256,
        "special_tokens": dict(special_tokens),
        "special_ids": dict(special_ids),
        "splits": {s: {"tokens": splits[s]["tokens"], "documents": splits[s]["documents"], "shards": shards[s]}
                   for s in SPLITS},
        "tokens_per_language": {s: {lang: per["tokens"] for lang, per in sorted(splits[s]["languages"].items())}
                                for s in SPLITS},
    }
