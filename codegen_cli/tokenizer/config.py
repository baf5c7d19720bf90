"""TokenizeConfig (every option of `codegen tokenize`, its defaults and why) and TokenizeSummary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen_cli.config import option
from codegen_cli.cpus import resolve_workers
from codegen_cli.errors import raise_problems
from codegen_cli.languages import language_problems
from codegen_cli.options import value_problems
from codegen_cli.tokenizer.specials import TAG_STYLES

DTYPES = ("auto", "uint16", "uint32")


_TOKENIZER = "Tokenizer"
_SPLIT = "Tokens"
_RUN = "Running"


@dataclass
class TokenizeConfig:
    corpus: Path = option(Path("corpus"), "Corpus folder written by `codegen collect`.", positional=True,
                          required=True)
    output: Path = option(Path("tokens"), "Output folder (tokenizer/, train/, val/, meta.json).", short="-o",
                          required=True)
    tokenizer: str | None = option(
        None, "Use this tokenizer instead of training one: a folder made by `codegen tokenize` (its tag style "
        "wins), or a pretrained model's: a transformers folder, a hub id (its local cache offline), a .gguf file "
        "or a folder holding one (the sources `codegen eval --model` takes).", group=_TOKENIZER,
        shown_default="train one")
    vocab_size: int = option(32768, "Vocabulary size of the trained tokenizer, specials and tags included.",
                             group=_TOKENIZER, why="fits uint16 with room to spare; codeparrot's size "
                             "(CodeGeeX: 50,400)", at_least=1)
    tag_style: str | None = option(
        None, "Language tag: token (<|lang:Python|>) or comment (# language: Python).", group=_TOKENIZER,
        shown_default="token; comment with a pretrained --tokenizer",
        why="token: measured cheaper than the comment tag at equal content bytes/token (docs/tokenize.md); "
        "comment leaves a pretrained vocabulary and its embeddings untouched", choices=TAG_STYLES)
    eos_token: str | None = option(
        None, "Token that ends every document (a pretrained --tokenizer only).", group=_TOKENIZER,
        shown_default="the tokenizer's eos token",
        why="the separator the model was pretrained with; an instruct model's eos may be its end of turn "
        "(SmolLM2-Instruct: <|im_end|>; its pretraining separator is <|endoftext|>)")
    sample_bytes: int = option(1_000_000_000, "Train the tokenizer on at most this many bytes of train "
                               "documents.", group=_TOKENIZER, why="1 GB trains a good BPE; memory grows "
                               "with distinct pieces, not bytes", at_least=1)
    min_frequency: int = option(2, "A merge must occur at least this often in the training sample.",
                                group=_TOKENIZER, why="drops one-off merges (noise)", at_least=1)
    languages: str | None = option(None, "Only these languages, comma separated (e.g. python,cpp).",
                                   group=_SPLIT, shown_default="all")
    val_fraction: float = option(0.01, "Share of documents (by id hash) written to val/ instead of train/.",
                                 group=_SPLIT, why="enough held-out text for a stable val loss", at_least=0)
    dtype: str = option("auto", "Token dtype: auto (uint16 when the vocabulary fits), uint16 or uint32.",
                        group=_SPLIT, why="half the bytes whenever it fits", choices=DTYPES)
    shard_tokens: int = option(100_000_000, "Start a new shard file after this many tokens.", group=_SPLIT,
                               why="100M tokens = 200 MB (uint16): few files, easy to memmap and copy", at_least=1)
    verify: bool = option(False, "Check decode(encode(doc)) == doc for every document while encoding.",
                          group=_SPLIT, why="costs a decode per document; the tests prove it on samples")
    chunk_docs: int = option(2048, "Documents per work unit (the resume and parallelism grain).", group=_RUN,
                             why="a few MB per unit: little lost to a kill", at_least=1)
    chunk_bytes: int = option(4_000_000, "Content bytes per work unit at most (bounds each worker's memory).",
                              group=_RUN, why="several units per worker even for tens of MB; little memory "
                              "per worker", at_least=1)
    workers: int | None = option(None, "Encoding processes.", group=_RUN, shown_default="usable CPUs",
                                 why="one per CPU this process may run on (affinity)", at_least=1)

    def validate(self) -> None:
        """All problems at once, as one UsageError, before any heavy work."""
        problems = value_problems(self) + language_problems("--languages", self.languages)
        if self.val_fraction >= 1:
            problems.append(f"--val-fraction must be < 1, got {self.val_fraction}")
        spec = str(self.tokenizer) if self.tokenizer is not None else None
        if spec is not None and not Path(spec).expanduser().exists() and _path_like(spec):
            problems.append(f"--tokenizer {spec}: no such folder or file")
        if self.eos_token is not None and (spec is None or _codegen_folder(spec)):
            problems.append("--eos-token is for a pretrained --tokenizer (codegen's own tokenizers end "
                            "documents with <|endoftext|>)")
        raise_problems(problems)

    def pretrained(self) -> bool:
        """True when --tokenizer names a pretrained model's tokenizer (not a folder codegen made)."""
        return self.tokenizer is not None and not _codegen_folder(str(self.tokenizer))

    def resolved_tag_style(self) -> str:
        """--tag-style, else comment for a pretrained tokenizer (vocabulary untouched), else token."""
        return self.tag_style or ("comment" if self.pretrained() else "token")

    def resolved_workers(self) -> int:
        return resolve_workers(self.workers)


def _path_like(spec: str) -> bool:
    """A spec that can only be a path (a hub id is `name` or `org/name`)."""
    return spec.startswith((".", "/", "~")) or spec.count("/") > 1 or spec.lower().endswith(".gguf")


def _codegen_folder(spec: str) -> bool:
    from codegen_cli.tokenizer.pretrained import is_codegen_tokenizer

    return is_codegen_tokenizer(spec)


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
    base_tokenizer: dict[str, Any] | None = None  # a pretrained --tokenizer: its source and identity
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
