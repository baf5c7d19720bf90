"""Exceptions the engine raises, each tied to one exit code of DESIGN.md §2.

The engine never exits; it raises one of these with a one-line message that names the file or field and
says what to do. The CLI layer maps them to exit codes, so shell scripts can branch on the code.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_MISMATCH = 4
EXIT_INTERRUPTED = 130

# The one exit-code table: `codegen --help` prints it, docs/architecture.md lists it (a test compares them).
EXIT_CODES = {
    EXIT_OK: "ok",
    EXIT_FAILED: "the job failed",
    EXIT_USAGE: "bad usage or config (a path argument that does not exist included)",
    EXIT_BAD_INPUT: "bad input data (no input at all included)",
    EXIT_MISMATCH: "resume/compatibility mismatch, or the output folder is in use by another process",
    EXIT_INTERRUPTED: "interrupted by SIGINT/SIGTERM (after saving what could be saved)",
}
EXIT_CODES_HELP = "Exit codes: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()) + "."


class CodegenError(Exception):
    """Base class: a message for the user and the exit code it maps to."""

    exit_code: int = EXIT_FAILED


class JobFailed(CodegenError):
    """The job ran but could not finish (e.g. a toolchain crashed, NaN loss)."""

    exit_code = EXIT_FAILED


class UsageError(CodegenError):
    """Bad flags, bad config keys or values, a path argument that does not exist."""

    exit_code = EXIT_USAGE


class InputDataError(CodegenError):
    """An input folder or file exists but its content is wrong (not a corpus, corrupt shard, bad JSONL)."""

    exit_code = EXIT_BAD_INPUT


class MismatchError(CodegenError):
    """Resuming into an output made with other settings, or reading an output of an incompatible version."""

    exit_code = EXIT_MISMATCH


class Interrupted(CodegenError):
    """SIGINT/SIGTERM arrived; whatever could be saved was saved before this was raised."""

    exit_code = EXIT_INTERRUPTED


def raise_problems(problems: list[str]) -> None:
    """Raise every collected config problem at once, as one UsageError (exit 2); nothing when empty."""
    if problems:
        raise UsageError("; ".join(problems))
