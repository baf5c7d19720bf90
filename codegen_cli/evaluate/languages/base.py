"""What every HumanEval-X language module provides, and the pieces they share.

A language turns (problem, completion) into program text, builds a batch of programs inside the sandbox
(one compiler call for many programs where the toolchain allows it, never running their code), and runs
each built program in its OWN fresh scratch dir and sandbox. The verdict never trusts exit code 0 alone:
the harness appends code that prints a random marker only after the tests complete, so a program that
exits 0 early (sys.exit(0), process.exit(0), System.exit(0), exit(0)) or prints a fake "passed" fails.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Stands for the run's random marker in the program text, so that the program hash (the cache key)
# does not change from run to run while the marker a program must print does.
MARKER_PLACEHOLDER = "@@CODEGEN_MARKER@@"

# Bump when assembly or verdict rules change: cached results of older rules are then not reused.
RULES_VERSION = "1"

STATUSES = ("passed", "failed", "compile_error", "timeout", "memory", "sandbox_error")


def new_marker() -> str:
    return "CODEGEN-TESTS-DONE-" + secrets.token_hex(12)


@dataclass
class Program:
    """One assembled program; `sha256` identifies it across samples and runs (the result cache key)."""

    language: str
    task_id: str
    source: str  # with MARKER_PLACEHOLDER where the marker goes
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        text = f"{RULES_VERSION}\0{self.language}\0{self.task_id}\0{self.source}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def name(self) -> str:
        """A short identifier usable as a Java package / Go directory / file name."""
        return "p" + self.sha256[:20]

    def text(self, marker: str) -> str:
        return self.source.replace(MARKER_PLACEHOLDER, marker)


@dataclass
class Built:
    """The outcome of building one program: files to copy into its run dir, or the compiler's complaint."""

    ok: bool
    seconds: float
    files: dict[str, Path] = field(default_factory=dict)  # run-dir relative name -> built file
    error: str = ""
    exit_code: int | None = None
    timed_out: bool = False

    @classmethod
    def from_compile(cls, result: Any, binary: Path) -> "Built":
        """One compiler call that should have produced `binary` (run as ./main in the run dir)."""
        ok = result.returncode == 0 and binary.is_file()
        return cls(ok=ok, seconds=result.seconds, files={"main": binary} if ok else {},
                   error="" if ok else text_of(result.stderr), exit_code=result.returncode,
                   timed_out=result.timed_out)


@dataclass
class RunSpec:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    readonly_paths: tuple[Path, ...] = ()


def batch_limits(limits: Any, count: int) -> Any:
    """Limits for one compiler call over `count` programs: the per-program time plus 2 s each, <= 10 min."""
    wall = min(600.0, max(limits.wall_seconds, limits.wall_seconds + 2.0 * (count - 1)))
    return dataclasses.replace(limits, wall_seconds=wall)


def text_of(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value or ""


def has_marker(stdout: str, marker: str) -> bool:
    return any(line.strip() == marker for line in stdout.splitlines())


def marker_verdict(result: Any, marker: str) -> str:
    """Common verdict: passed only with exit 0 AND the marker the harness prints after the tests."""
    if result.timed_out:
        return "timeout"
    if result.memory_exceeded:
        return "memory"
    if result.returncode is None:
        return "sandbox_error"
    if result.returncode == 0 and has_marker(text_of(result.stdout), marker):
        return "passed"
    return "failed"


_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)


def strip_c_comments(code: str) -> str:
    """Remove // and /* */ comments (string literals are not special-cased; good enough for counting)."""
    return _COMMENT.sub(" ", code)
