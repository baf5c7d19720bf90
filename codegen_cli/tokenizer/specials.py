"""Names every tokenizer folder shares: the special tokens, the tag styles and our side file.

Special tokens get the first ids (0..4) in the order below, then the language tag tokens (token style),
then the 256 byte symbols, then the merges. Fixed low ids mean `eos` is 0 in every tokenizer we train.
"""

from __future__ import annotations

from codegen_cli.languages import TAG_STYLES

__all__ = ["BYTE_ALPHABET_SIZE", "CODEGEN_TOKENIZER_FILE", "CODEGEN_TOKENIZER_FORMAT", "SPECIAL_TOKENS", "TAG_STYLES"]

# role -> token text (contracts.md: meta.json "special_tokens")
SPECIAL_TOKENS: dict[str, str] = {
    "eos": "<|endoftext|>",
    "pad": "<|pad|>",
    "fim_prefix": "<|fim_prefix|>",
    "fim_middle": "<|fim_middle|>",
    "fim_suffix": "<|fim_suffix|>",
}


# Our side file inside the Hugging Face tokenizer folder (contracts.md).
CODEGEN_TOKENIZER_FILE = "codegen_tokenizer.json"
CODEGEN_TOKENIZER_FORMAT = 1

# Byte-level BPE always holds the 256 byte symbols; merges come on top.
BYTE_ALPHABET_SIZE = 256
