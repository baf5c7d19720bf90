"""The tokenize stage: a byte-level BPE for code with language tags, and packed token shards.

Public API for other stages and users:
    train_tokenizer([(text, language), ...], out_dir, vocab_size=..., tag_style="token"|"comment")
    read_tag_style(folder), add_language_tag(text, language, style), add_tag_for_path(text, path, style)
    tokenize(TokenizeConfig) -> TokenizeSummary   (the `codegen tokenize` stage)
"""

from __future__ import annotations

from typing import Any

from codegen_cli.tokenizer.specials import SPECIAL_TOKENS, TAG_STYLES
from codegen_cli.tokenizer.tagging import add_language_tag, add_tag_for_path, read_tag_style
from codegen_cli.tokenizer.train_bpe import train_tokenizer

__all__ = [
    "SPECIAL_TOKENS",
    "TAG_STYLES",
    "TokenizeConfig",
    "TokenizeSummary",
    "add_language_tag",
    "add_tag_for_path",
    "read_tag_style",
    "tokenize",
    "train_tokenizer",
]


def __getattr__(name: str) -> Any:
    """The stage entry point loads lazily (pyarrow, numpy) so tag helpers import fast."""
    if name in ("tokenize", "TokenizeConfig", "TokenizeSummary"):
        from codegen_cli.tokenizer import build_tokens, config

        return getattr(build_tokens if name == "tokenize" else config, name)
    raise AttributeError(name)
