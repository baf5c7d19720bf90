"""The language tag: what goes before every document in training and before every prompt in eval.

`add_language_tag` is the one function both sides call, so the model is prompted exactly as it was
trained. The tag style a tokenizer was trained with is recorded in its folder (`codegen_tokenizer.json`);
`read_tag_style` returns None for a folder without that file (a third-party tokenizer: use no tag).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codegen_cli.errors import InputDataError
from codegen_cli.languages import detect_language, with_tag
from codegen_cli.tokenizer.specials import CODEGEN_TOKENIZER_FILE, TAG_STYLES


def read_codegen_info(folder: str | Path) -> dict[str, Any] | None:
    """The parsed `codegen_tokenizer.json` of a tokenizer folder, or None when the file is absent."""
    path = Path(folder) / CODEGEN_TOKENIZER_FILE
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputDataError(f"{path}: unreadable ({exc}); rerun `codegen tokenize` to rebuild the tokenizer") from exc
    if not isinstance(info, dict) or info.get("tag_style") not in TAG_STYLES:
        raise InputDataError(
            f"{path}: tag_style must be one of {', '.join(TAG_STYLES)}; rerun `codegen tokenize` to rebuild it"
        )
    return info


def read_tag_style(folder: str | Path) -> str | None:
    """`comment` or `token` for a tokenizer made by `codegen tokenize`; None for any other tokenizer."""
    info = read_codegen_info(folder)
    return None if info is None else str(info["tag_style"])


def add_language_tag(text: str, language: str, style: str | None) -> str:
    """Prefix `text` with the tag for `language` (name, alias or HumanEval-X key) in `style`.

    `style=None` (a tokenizer without codegen_tokenizer.json) means no tag, like style `none`.
    """
    return with_tag(text, language, style or "none")


def add_tag_for_path(text: str, path: str, style: str | None) -> str:
    """Like add_language_tag, with the language taken from a file name (`main.go`, `Makefile`, `x.h`)."""
    language = detect_language(path, text)
    if language is None:
        raise ValueError(f"{path}: no language known for this file name; pass the language explicitly")
    return add_language_tag(text, language, style)
