"""TokenizeConfig (every option of `codegen tokenize`, its defaults and why) and TokenizeSummary."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen_cli.config import option
from codegen_cli.errors import UsageError
from codegen_cli.tokenizer.specials import TAG_STYLES

DTYPES = ("auto", "uint16", "uint32")


@dataclass
class TokenizeConfig:
    corpus: Path = option(Path("corpus"), "Corpus folder written by `codegen collect`.")
    output: Path = option(Path("tokens"), "Output folder (tokens/ layout of DESIGN.md §1).")
    tokenizer: Path | None = option(
        None, "Use this existing tokenizer folder (made by `codegen tokenize`) instead of training one.")
    # 32768: fits uint16 with room to spare, same size as codeparrot's code tokenizer; CodeGeeX used 50,400.
    vocab_size: int = option(32768, "Vocabulary size of the trained tokenizer, specials and tags included.")
    # token: measured cheaper than the comment tag at equal content bytes/token (docs/tokenize.md).
    tag_style: str = option("token", "Language tag style: token (<|lang:Python|>) or comment (# language: Python).")
    # 1 %: enough held-out text for a stable val loss on any corpus worth training on.
    val_fraction: float = option(0.01, "Share of documents (by id hash) written to val/ instead of train/.")
    # 1 GB of text trains a good BPE; the trainer's memory grows with distinct pieces, not with bytes.
    sample_bytes: int = option(1_000_000_000, "Train the tokenizer on at most this many bytes of train documents.")
    min_frequency: int = option(2, "A merge must occur at least this often in the training sample.")
    languages: str | None = option(None, "Only these languages, comma separated (e.g. python,cpp); default all.")
    dtype: str = option("auto", "Token dtype: auto (uint16 when the vocabulary fits), uint16 or uint32.")
    # 100M tokens = 200 MB (uint16): few files, each still easy to memmap and copy.
    shard_tokens: int = option(100_000_000, "Start a new shard file after this many tokens.")
    # 2048 documents: a few MB per work unit, so resuming after a kill loses little.
    chunk_docs: int = option(2048, "Documents per work unit (the resume and parallelism grain).")
    # 4 MB: several units per worker even for a corpus of tens of MB (balance), little memory per worker
    # (a unit's text and tokens are held at once), and little work lost to a kill.
    chunk_bytes: int = option(4_000_000, "Content bytes per work unit at most (bounds each worker's memory).")
    verify: bool = option(False, "Check decode(encode(doc)) == doc for every document while encoding.")
    workers: int | None = option(None, "Encoding processes (default: all cores).")

    def validate(self) -> None:
        """All cross-field problems at once, as one UsageError, before any heavy work."""
        problems: list[str] = []
        if self.tag_style not in TAG_STYLES:
            problems.append(f"--tag-style {self.tag_style!r}: use one of {', '.join(TAG_STYLES)}")
        if not 0.0 <= self.val_fraction < 1.0:
            problems.append(f"--val-fraction {self.val_fraction}: must be in [0, 1)")
        if self.dtype not in DTYPES:
            problems.append(f"--dtype {self.dtype!r}: use one of {', '.join(DTYPES)}")
        for name in ("vocab_size", "sample_bytes", "shard_tokens", "chunk_docs", "chunk_bytes", "min_frequency"):
            if getattr(self, name) < 1:
                problems.append(f"--{name.replace('_', '-')} must be at least 1")
        if self.workers is not None and self.workers < 1:
            problems.append("--workers must be at least 1")
        if self.tokenizer is not None and not Path(self.tokenizer).is_dir():
            problems.append(f"--tokenizer {self.tokenizer}: no such folder")
        if problems:
            raise UsageError("; ".join(problems))

    def resolved_workers(self) -> int:
        return self.workers or max(1, os.cpu_count() or 1)


@dataclass
class TokenizeSummary:
    output: str
    tokenizer_dir: str
    trained_tokenizer: bool  # False when --tokenizer reused a folder
    resumed: bool  # True when finished work units from an earlier run were reused
    already_done: bool  # True when the output was complete and nothing ran
    vocab_size: int
    dtype: str
    tag_style: str
    documents: dict[str, int] = field(default_factory=dict)  # split -> documents
    tokens: dict[str, int] = field(default_factory=dict)  # split -> tokens
    tokens_per_language: dict[str, dict[str, int]] = field(default_factory=dict)
    bytes_per_token: dict[str, float] = field(default_factory=dict)  # language -> content bytes / token
    empty_languages: list[str] = field(default_factory=list)  # asked for or listed by collect, but no documents
    round_trip_failures: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)
