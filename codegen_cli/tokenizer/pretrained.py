"""A pretrained model's tokenizer as the tokenize stage's tokenizer: `codegen tokenize --tokenizer MODEL`.

MODEL is any source `codegen eval --model` takes (`codegen_cli.generation.sources`): a transformers folder
(a model folder, RUN/hf, or a folder holding only tokenizer files), a hub id (read from the local cache when
offline), or a `.gguf` file or a folder holding one (its tokenizer comes from the dequantized folder, made
once and cached). A folder made by `codegen tokenize` itself keeps its own rules (`folder.py`).

The tokenizer is written into TOKENS/tokenizer with `save_pretrained`, next to our `codegen_tokenizer.json`,
which records what train needs to check it against the model it starts from:

- `special_tokens`: the roles the shards use (`eos` ends every document; `pad` when the tokenizer has one);
- `base`: where the tokenizer came from and its identity (`vocab_sha256`, a hash of its token -> id
  table: two tokenizers with the same table encode alike, and the hash does not change with the library
  version that serialised them), its size before tags, and the tag tokens added on top;
- with `token` tags, `base.embeddings` says the model's embedding matrix must grow from `from` to `to`
  rows (`codegen train --init-from` does it); `comment` tags are plain text, so the vocabulary and the
  model stay untouched (the default for a pretrained tokenizer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen_cli.atomic import atomic_dir, atomic_write_json, sha256_json
from codegen_cli.errors import InputDataError, UsageError
from codegen_cli.tokenizer.specials import CODEGEN_TOKENIZER_FILE, CODEGEN_TOKENIZER_FORMAT

# The files of a tokenizer inside a model folder: what is copied or hashed (never the weights).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                   "chat_template.jinja", "chat_template.json", "vocab.json", "merges.txt", "tokenizer.model",
                   CODEGEN_TOKENIZER_FILE)


def is_codegen_tokenizer(spec: str | Path) -> bool:
    """True for a folder holding `codegen_tokenizer.json` (TOKENS/tokenizer, RUN/hf)."""
    folder = Path(spec).expanduser()
    return folder.is_dir() and (folder / CODEGEN_TOKENIZER_FILE).is_file()


def vocab_sha256(tokenizer: Any) -> str:
    """Identity of a tokenizer's vocabulary: sha256 of its sorted (token, id) pairs, added tokens included."""
    return sha256_json(sorted(tokenizer.get_vocab().items()))


@dataclass
class PretrainedTokenizer:
    """A loaded pretrained tokenizer and where it came from (`ModelSource.describe()` plus its identity)."""

    spec: str
    tokenizer: Any  # transformers PreTrainedTokenizerFast
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    def identity(self) -> dict[str, Any]:
        """What the tokenize run hash holds for this tokenizer: its vocabulary and its full serialisation."""
        backend = self.tokenizer.backend_tokenizer.to_str()
        return {"vocab_sha256": vocab_sha256(self.tokenizer), "tokenizer_sha256": sha256_json(backend),
                "eos_token": self.tokenizer.eos_token}


def resolve_tokenizer_source(spec: str) -> Any:
    """The model source of `spec` (sources.resolve_source), plus a folder holding only tokenizer files."""
    from codegen_cli.generation.sources import ModelSource, resolve_source

    path = Path(spec).expanduser()
    if path.is_dir() and not (path / "config.json").is_file() and (path / "tokenizer.json").is_file():
        return ModelSource(spec, "folder", path)
    return resolve_source(spec)


def load_pretrained_tokenizer(spec: str, *, announce: Any = None) -> PretrainedTokenizer:
    """Load MODEL's tokenizer with transformers; one-line errors: UsageError for a path that does not
    exist, InputDataError for something that is not a loadable fast tokenizer."""
    from codegen_cli.generation.sources import loadable

    source = resolve_tokenizer_source(str(spec))
    where = loadable(source, announce=announce)  # a GGUF is dequantized (once) here; its errors are one line
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(where)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise InputDataError(f"--tokenizer {spec}: no tokenizer transformers can load ({first})") from exc
    if not getattr(tokenizer, "is_fast", False):
        raise InputDataError(f"--tokenizer {spec}: {type(tokenizer).__name__} is not a fast tokenizer; the shards "
                             "are packed with the `tokenizers` library, so give a folder with tokenizer.json")
    return PretrainedTokenizer(str(spec), tokenizer, source.describe())


def special_roles(pretrained: PretrainedTokenizer, eos_token: str | None) -> dict[str, str]:
    """role -> token text: `eos` (the document separator) and `pad` when the tokenizer has one."""
    tok = pretrained.tokenizer
    eos = eos_token or tok.eos_token
    if not eos:
        raise UsageError(f"--tokenizer {pretrained.spec}: the tokenizer has no eos token; name the token that "
                         "ends a document with --eos-token")
    if eos not in tok.get_vocab():
        raise UsageError(f"--eos-token {eos!r}: not a token of {pretrained.spec}'s tokenizer")
    roles = {"eos": eos}
    if tok.pad_token and tok.pad_token in tok.get_vocab():
        roles["pad"] = tok.pad_token
    return roles


def save_pretrained_tokenizer(pretrained: PretrainedTokenizer, out_dir: Path, *, tag_style: str,
                              languages: list[str], tag_tokens: list[str], eos_token: str | None) -> Path:
    """Write `out_dir` (a copy of the tokenizer, plus the tag tokens for `token` style, plus
    codegen_tokenizer.json) through a temporary folder renamed into place."""
    from tokenizers import AddedToken

    from codegen_cli.languages import resolve

    tok = pretrained.tokenizer
    base_size, base_sha = len(tok), vocab_sha256(tok)
    roles = special_roles(pretrained, eos_token)
    vocab = tok.get_vocab()
    added = [tag for tag in tag_tokens if tag not in vocab]
    if added:  # special: never split, never produced from text (a literal `<|lang:Go|>` in code stays text)
        tok.add_tokens([AddedToken(tag, special=True, normalized=False) for tag in added], special_tokens=True)
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        tok.save_pretrained(str(tmp))
        base = {**pretrained.source, "vocab_size": base_size, "vocab_sha256": base_sha, "added_tokens": added,
                "embeddings": {"from": base_size, "to": len(tok)} if added else None}
        atomic_write_json(tmp / CODEGEN_TOKENIZER_FILE, {
            "format_version": CODEGEN_TOKENIZER_FORMAT, "tag_style": tag_style,
            "languages": sorted({resolve(lang).name for lang in languages}),
            "special_tokens": roles, "vocab_sha256": vocab_sha256(tok), "base": base,
        })
    return out_dir
