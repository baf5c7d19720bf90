"""Decontamination against HumanEval-X style benchmarks (DESIGN.md §3, bigcode's find_substrings idea).

A file is dropped when it contains a benchmark prompt or canonical solution as a normalised substring:
both sides are reduced to their `[A-Za-z_0-9]+` tokens, so whitespace, indentation and punctuation
changes do not hide a copy. Texts shorter than `MIN_TOKENS` tokens are not used: a one-line solution such
as `return a + b` occurs in countless honest files.

Matching is by token hashes: the first `ANCHOR` tokens of each benchmark text form an anchor; only where
a file has an anchor (a numpy `isin` over the file's token n-grams) is the whole sequence compared.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codegen_cli.collect.bytescan import ByteView
from codegen_cli.collect.minhash import token_hashes
from codegen_cli.errors import InputDataError, UsageError

MIN_TOKENS = 20
ANCHOR = 4
_FIELDS = ("prompt", "canonical_solution")
_MUL = np.uint64(0x9E3779B97F4A7C15)


def _grams(tokens: np.ndarray, width: int) -> np.ndarray:
    """Positional hashes of every `width`-token window (no dedup: positions matter here)."""
    count = len(tokens) - width + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        acc = tokens[:count].copy()
        for offset in range(1, width):
            acc = acc * _MUL + tokens[offset: offset + count]
    return acc


def text_tokens(text: str) -> np.ndarray:
    view = ByteView(text.encode("utf-8"))
    starts, ends = view.tokens
    return token_hashes(view.raw, starts, ends)


@dataclass
class BenchmarkIndex:
    """Token sequences of the benchmark texts, keyed by their anchor hash. Picklable for the workers."""

    anchors: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    by_anchor: dict[int, list[np.ndarray]] = field(default_factory=dict)
    texts: int = 0

    def add(self, text: str) -> None:
        tokens = text_tokens(text)
        if len(tokens) < MIN_TOKENS:
            return
        key = int(_grams(tokens[:ANCHOR], ANCHOR)[0])
        self.by_anchor.setdefault(key, []).append(tokens)
        self.texts += 1

    def freeze(self) -> BenchmarkIndex:
        self.anchors = np.array(sorted(self.by_anchor), dtype=np.uint64)
        return self

    def contains(self, tokens: np.ndarray) -> bool:
        """True when the token sequence of any benchmark text occurs in `tokens`."""
        if not len(self.anchors) or len(tokens) < MIN_TOKENS:
            return False
        grams = _grams(tokens, ANCHOR)
        for position in np.flatnonzero(np.isin(grams, self.anchors)):
            for sequence in self.by_anchor[int(grams[position])]:
                end = position + len(sequence)
                if end <= len(tokens) and np.array_equal(tokens[position:end], sequence):
                    return True
        return False


def _benchmark_files(path: Path) -> list[Path]:
    from codegen_cli.evaluate.problems import PACKAGED, packaged_dir

    if str(path) == PACKAGED and not path.exists():
        path = packaged_dir()
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz")))
        if files:
            return files
        raise InputDataError(f"--decontaminate {path}: no .jsonl or .jsonl.gz files in this folder")
    raise UsageError(f"--decontaminate {path}: no such file or folder")


def load_benchmark(path: Path) -> BenchmarkIndex:
    """Index every prompt and canonical solution of HumanEval-X style JSONL(.gz) files (`humaneval-x`:
    the copy shipped in the package)."""
    index = BenchmarkIndex()
    for file in _benchmark_files(path):
        opener = gzip.open if file.name.endswith(".gz") else open
        try:
            with opener(file, "rt", encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    if line.strip():
                        row = json.loads(line)
                        for name in _FIELDS:
                            if isinstance(row.get(name), str):
                                index.add(row[name])
        except (OSError, ValueError) as exc:
            raise InputDataError(f"--decontaminate {file}: unreadable benchmark file ({exc})") from exc
    if not index.texts:
        raise InputDataError(f"--decontaminate {path}: no 'prompt' or 'canonical_solution' texts found")
    return index.freeze()
