"""Loading and checking a tokenizer folder made by `codegen tokenize` (ours or a reused `--tokenizer`).

A folder that cannot serve the stage (no tokenizer.json, unparsable, missing special or tag tokens) is a
one-line InputDataError that says how to get a good one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from codegen_cli.atomic import sha256_file
from codegen_cli.errors import InputDataError, UsageError
from codegen_cli.languages import tag_token
from codegen_cli.tokenizer.specials import CODEGEN_TOKENIZER_FILE, SPECIAL_TOKENS
from codegen_cli.tokenizer.tagging import read_codegen_info

TOKENIZER_JSON = "tokenizer.json"
UINT16_LIMIT = 1 << 16


@dataclass
class TokenizerFolder:
    path: Path
    tokenizer: Tokenizer
    tag_style: str
    languages: list[str]
    special_ids: dict[str, int]  # role -> id
    tag_ids: dict[str, int]  # language -> tag token id (token style only)
    special_tokens: dict[str, str] = field(default_factory=lambda: dict(SPECIAL_TOKENS))  # role -> text
    base: dict[str, Any] | None = None  # a pretrained tokenizer's origin (pretrained.py); None for ours

    @property
    def vocab_size(self) -> int:
        """len(tokenizer) in transformers terms: every id the model's embedding must cover."""
        return self.tokenizer.get_vocab_size(with_added_tokens=True)


def folder_sha256(folder: str | Path, only: Iterable[str] | None = None) -> str:
    """One hash for a folder: sha256 over the sorted (name, file sha256) lines of its files (`only`: just
    the top-level files of these names, e.g. a model folder's tokenizer files without its weights)."""
    digest = hashlib.sha256()
    names = set(only) if only is not None else None
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        if names is not None and (path.parent != Path(folder) or path.name not in names):
            continue
        digest.update(f"{path.relative_to(folder).as_posix()}\t{sha256_file(path)}\n".encode())
    return digest.hexdigest()


def _fix(folder: Path) -> str:
    return f"retrain it with `codegen tokenize CORPUS -o OUT` (without --tokenizer) or point at {folder.name}/ of one"


def load_tokenizer_folder(folder: str | Path) -> TokenizerFolder:
    """Open and check a codegen tokenizer folder; every failure is one InputDataError line."""
    folder = Path(folder)
    info = read_codegen_info(folder)
    if info is None:
        raise InputDataError(f"{folder / CODEGEN_TOKENIZER_FILE}: missing, so {folder} was not made by "
                             f"`codegen tokenize`; {_fix(folder)}")
    path = folder / TOKENIZER_JSON
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:
        raise InputDataError(f"{path}: cannot load ({str(exc).splitlines()[0][:200]}); {_fix(folder)}") from exc
    special_ids: dict[str, int] = {}
    roles = info.get("special_tokens") or SPECIAL_TOKENS  # a pretrained tokenizer names its own (pretrained.py)
    if not isinstance(roles, dict) or not isinstance(roles.get("eos"), str):
        raise InputDataError(f"{folder / CODEGEN_TOKENIZER_FILE}: special_tokens must map roles (eos at least) to "
                             f"token texts; {_fix(folder)}")
    for role, text in roles.items():
        token_id = tok.token_to_id(text)
        if token_id is None:
            raise InputDataError(f"{path}: special token {text} ({role}) is missing; {_fix(folder)}")
        special_ids[role] = token_id
    languages = [str(lang) for lang in info.get("languages", [])]
    tag_ids: dict[str, int] = {}
    if info["tag_style"] == "token":
        for lang in languages:
            token_id = tok.token_to_id(tag_token(lang))
            if token_id is None:
                raise InputDataError(f"{path}: tag token {tag_token(lang)} is missing; {_fix(folder)}")
            tag_ids[lang] = token_id
    base = info.get("base") if isinstance(info.get("base"), dict) else None
    return TokenizerFolder(folder, tok, str(info["tag_style"]), languages, special_ids, tag_ids, dict(roles), base)


def check_covers(loaded: TokenizerFolder, languages: Iterable[str]) -> None:
    """Token style needs a tag token for every language being encoded."""
    if loaded.tag_style != "token":
        return
    missing = sorted(set(languages) - set(loaded.tag_ids))
    if missing:
        raise InputDataError(
            f"{loaded.path}: has no tag token for {', '.join(missing)} (trained on {', '.join(loaded.languages)}); "
            "retrain the tokenizer on this corpus or pass --languages to leave those out"
        )


def resolve_dtype(requested: str, vocab_size: int) -> str:
    """uint16 when every id fits (ids < 65536), else uint32; a forced uint16 that cannot fit is an error."""
    fits16 = vocab_size <= UINT16_LIMIT
    if requested == "auto":
        return "uint16" if fits16 else "uint32"
    if requested == "uint16" and not fits16:
        raise UsageError(f"--dtype uint16 cannot hold a vocabulary of {vocab_size} ids (max {UINT16_LIMIT}); "
                         "use --dtype uint32 or auto")
    return requested
