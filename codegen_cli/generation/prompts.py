"""The text a model sees for a problem: the problem's prompt with the language tag it was trained with.

A model trained here records its tag style (`comment`: `# language: Python` on its own line, CodeGeeX's
convention; `token`: a `<|lang:Python|>` special token) in `codegen_tokenizer.json` next to its tokenizer.
A third-party model has no such file: it gets the bare prompt unless `--tag-style` says otherwise
(CodeGeeX checkpoints want `comment`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen_cli.errors import UsageError
from codegen_cli.evaluate.problems import Problem
from codegen_cli.languages import PROMPT_TAG_STYLES, tag_token, with_tag
from codegen_cli.tokenizer.tagging import read_tag_style


def resolve_tag_style(model: str | Path, override: str | None) -> str:
    """`override` when given, else what the model folder records, else `none` (a third-party model)."""
    if override is not None:
        if override not in PROMPT_TAG_STYLES:
            raise UsageError(f"--tag-style {override!r}: use one of {', '.join(PROMPT_TAG_STYLES)}")
        return override
    folder = Path(model)
    return (read_tag_style(folder) if folder.is_dir() else None) or "none"


def problem_text(problem: Problem) -> str:
    """The code the completion continues: the prompt, plus the declaration for Rust.

    HumanEval-X Rust prompts hold only the doc comment; the signature (and the `use` lines) live in
    `declaration`, so the model is shown comment + declaration and writes the body, as CodeGeeX2 and
    HumanEvalPack do. A program is then prompt + declaration + completion + test.
    """
    if problem.language == "rust" and problem.declaration and problem.declaration not in problem.prompt:
        return problem.prompt + problem.declaration
    return problem.prompt


def tagged_prompt(text: str, language: str | None, style: str) -> str:
    """`text` with the language tag in `style` (no tag without a language)."""
    if language is None or style == "none":
        return text
    try:
        return with_tag(text, language, style)
    except KeyError as exc:
        raise UsageError(f"--language {language!r}: {exc.args[0]}") from exc


def missing_tag_tokens(tokenizer, languages, style: str) -> list[str]:
    """Token-style tags the tokenizer does not hold as one token (it would read them as plain text).

    A model trained with tags for some languages only sees `<|lang:Rust|>` split into pieces, which is
    not what it was trained on: worth a warning, not an error (a third-party model may still cope).
    """
    if style != "token":
        return []
    vocab = tokenizer.get_vocab()
    return sorted({tag_token(lang) for lang in languages if lang} - set(vocab))


@dataclass(frozen=True)
class PromptFormat:
    """Another way to turn a problem into the model's prompt (default: tag + problem text, above).

    Used by `codegen eval --task translate`. `name` goes into the samples' settings hash (samples of
    another format are never reused); `build(problem, tag_style)` is the whole prompt; `scan_text(problem)`
    is the code whose open braces the completion must close (the stop rule scans only that, not e.g. a
    source program in another language placed before it); `row_fields` are added to every samples row;
    `chat_user(problem)` is the instruction of `--prompt-style chat`.
    """

    name: str
    build: Callable[[Problem, str], str]
    scan_text: Callable[[Problem], str]
    row_fields: dict[str, Any] = field(default_factory=dict)
    chat_user: Callable[[Problem], str] | None = None  # the user turn for --prompt-style chat
