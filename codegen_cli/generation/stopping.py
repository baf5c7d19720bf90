"""Where a completion ends, per language: the end of the function the prompt opened.

HumanEval-X prompts stop inside a function (Python: after the docstring; C-family: after the opening
brace), so a sample is finished as soon as the model leaves that function:

- Python: the first line that starts at column 0 with a non-blank character (a new top-level `def`,
  `class`, `if`, `print`, `#`, `assert`, a markdown fence ...). CodeGeeX generation stops on
  `\\ndef|\\nclass|\\nif|\\n#|\\nprint` and its evaluator then cuts at the first non-indented line;
  this is that second, more general rule, applied while generating. The cut drops the newline.
- Brace languages (C, C++, Java, JavaScript, TypeScript, Go, Rust, C#, ...): the first `}` that closes
  every brace still open at the end of the prompt, so Java's class is closed too (CodeGeeX counts
  `{`+1 == `}`, Java +2; counting from the prompt gives the same numbers for HumanEval-X). Braces in
  comments, strings, template literals and char literals are ignored, which CodeGeeX's count does not.
  The cut keeps the closing brace. A "`}` at column 0" rule was tried and dropped: it cut 4 of 164
  Rust canonical solutions early (unindented bodies, e.g. Rust/14, /31) and caught nothing the
  balance rule missed. Like CodeGeeX's rule, a helper function written after the target function is
  cut away (Go/72 and six Rust canonical solutions do that).
- A chat reply (`CHAT`, generated after an open code fence): the first fence line closes the code; the
  cut drops it (chat.py extracts and fits the code).
- Other languages: no rule; generation ends at end-of-text or max-new-tokens.

Everything here is pure string work (no torch), so the rules are unit-tested on hand-written strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from codegen_cli.languages import resolve

# Bump when a rule changes: it is part of the samples' settings hash.
STOP_RULES_VERSION = 1

_PY_TOP_LEVEL = re.compile(r"\n(?=[^\s])")
# A chat reply generated after the response prefix (an open code fence) ends at its first fence line.
CHAT = "chat"
_FENCE_LINE = re.compile(r"(?:^|\n)[ \t]*```")


def rule_family(language: str) -> str:
    """`python`, `brace`, `chat` or `none` for a HumanEval-X key, canonical name, alias, or CHAT."""
    if language == CHAT:
        return CHAT
    try:
        style = resolve(language).block_style
    except KeyError:
        return "none"
    return "python" if style == "indent" else style


@dataclass(frozen=True)
class ScanState:
    """Where a brace scan stands: nesting depth and whether we are inside a comment or string."""

    depth: int = 0
    mode: str = "code"  # code | line | block | string
    quote: str = ""  # the quote that opened the current string


def _skip_char_literal(text: str, i: int) -> int:
    """Index just past a char literal starting at text[i] == "'", or i + 1 when it is not one (a lifetime)."""
    if i + 1 < len(text) and text[i + 1] == "\\":
        end = text.find("'", i + 3)  # an escape is at least two characters
        return end + 1 if 0 < end <= i + 12 else i + 1
    if i + 2 < len(text) and text[i + 2] == "'":
        return i + 3
    return i + 1


def scan_braces(text: str, language: str, state: ScanState = ScanState(), *, stop: bool = False):
    """Scan `text` from `state`; return (state, cut) where cut is the index just past the closing `}`.

    With stop=False (scanning a prompt) cut is always None and the final state is returned. With
    stop=True, cut is the first `}` that brings the depth to 0.
    """
    lang = resolve(language)
    name, quotes, char_quotes = lang.name, lang.string_quotes, lang.char_literals
    depth, mode, quote = state.depth, state.mode, state.quote
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if mode == "line":
            if ch == "\n":
                mode = "code"
        elif mode == "block":
            if ch == "*" and text.startswith("/", i + 1):
                mode, i = "code", i + 1
        elif mode == "string":
            if ch == "\\" and not (quote == "`" and name == "Go"):
                i += 1
            elif ch == quote:
                mode = "code"
        elif ch == "/" and text.startswith("/", i + 1):
            mode = "line"
        elif ch == "/" and text.startswith("*", i + 1):
            mode, i = "block", i + 1
        elif ch in quotes:
            mode, quote = "string", ch
        elif ch == "'" and char_quotes:
            i = _skip_char_literal(text, i) - 1
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if stop and depth <= 0:
                return ScanState(depth, mode, quote), i + 1
        i += 1
    return ScanState(depth, mode, quote), None


def prompt_state(prompt: str, language: str) -> ScanState:
    """The scan state at the end of the prompt (brace languages), where the completion starts scanning."""
    if rule_family(language) != "brace":
        return ScanState()
    state, _ = scan_braces(prompt, language)
    return state


def find_stop(completion: str, language: str, state: ScanState | None = None) -> int | None:
    """Index where `completion` ends (cut there), or None while the function is still open.

    `state` is `prompt_state(prompt, language)`; without it the completion is read as if the prompt left
    exactly one brace open (a HumanEval-X C++/JS/Go/Rust prompt).
    """
    family = rule_family(language)
    if family == "python":
        match = _PY_TOP_LEVEL.search(completion)
        return match.start() if match else None
    if family == "brace":
        _, cut = scan_braces(completion, language, state or ScanState(depth=1), stop=True)
        return cut
    if family == CHAT:
        match = _FENCE_LINE.search(completion)
        return match.start() if match else None
    return None


def cut_completion(completion: str, language: str, prompt: str | None = None) -> tuple[str, bool]:
    """(completion cut at its stop point, whether a stop point was found)."""
    state = prompt_state(prompt, language) if prompt is not None else None
    cut = find_stop(completion, language, state)
    return (completion, False) if cut is None else (completion[:cut], True)


def triggers(language: str) -> str:
    """Characters whose arrival may create a stop point (the criterion rescans only then)."""
    family = rule_family(language)
    if family == "python":
        return "\n" + "".join(chr(c) for c in range(33, 127))  # any visible char after a newline
    return {"brace": "}", CHAT: "`"}.get(family, "")


def held_back(text: str, language: str) -> int:
    """How many trailing characters a streamer must hold back because a later token may cut before them.

    Python cuts before the newline that starts a top-level line, so a trailing newline (plus blanks)
    is held until the next line shows whether it is indented. Brace cuts come after the `}` itself,
    so nothing already seen can be cut away.
    """
    if rule_family(language) != "python":
        return 0
    last = text.rfind("\n")
    if last < 0 or text[last + 1:].strip():
        return 0
    return len(text) - last
