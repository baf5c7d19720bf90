"""What every HumanEval-X language module provides, and the pieces they share.

A language turns (problem, completion) into program text, builds a batch of programs inside the sandbox
(one compiler call for many programs where the toolchain allows it, never running their code), and runs
each built program in its OWN fresh scratch dir and sandbox. The verdict never trusts exit code 0 alone.
The proof that the tests ran to the end is a per-run SECRET: it is in no file (not the source, binary or
class files), the program gets it on stdin, and the compiled languages' harness reads it only AFTER the tests
passed, in a routine whose name is random per build (PLACEHOLDER in the source, substituted by `text(name)`,
so the program hash stays stable). While sample code runs before or during the tests the secret exists
nowhere in the process, and a failing test never reaches the routine. It prints `<secret> done` on a fresh
line; the whole output stream is scanned for it, however much the program prints. A static check
(tamper.py) refuses samples that touch stdin, hook the exit paths or reach for the harness (`tampered`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Bump when assembly, build or verdict rules change: cached results of older rules are then not reused
# (4: C++ without the special math functions, issue 16; 5: Python/JS judges keep argument changes in the
# candidate and fail a NaN/infinity where the reference returns a finite value, issue 21).
RULES_VERSION = "5"

STATUSES = ("passed", "failed", "compile_error", "timeout", "memory", "tampered", "sandbox_error")


# Stands for the harness's routine names in Program.source; every build substitutes a fresh random name.
PLACEHOLDER = "CODEGEN_HARNESS_NAME"


def new_marker() -> str:
    """A run's secret (96 random bits), given to the program on stdin."""
    return "CODEGEN-TESTS-DONE-" + secrets.token_hex(12)


def new_harness_name() -> str:
    """A fresh identifier for the harness's routines (valid in every language; 96 random bits)."""
    return "h" + secrets.token_hex(12)


@dataclass
class Program:
    """One assembled program; `sha256` identifies it across samples and runs (the result cache key)."""

    language: str
    task_id: str
    source: str  # with PLACEHOLDER where the harness's random routine names go
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        text = f"{RULES_VERSION}\0{self.language}\0{self.task_id}\0{self.source}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def name(self) -> str:
        """A short identifier usable as a Java package / Go directory / file name."""
        return "p" + self.sha256[:20]

    def text(self, name: str = "") -> str:
        """The program text with the harness's routines named `name` (a new_harness_name(); the secret is
        never part of the text)."""
        if PLACEHOLDER in self.source and not name.isidentifier():
            raise ValueError("this program needs a harness name: text(new_harness_name())")
        return self.source.replace(PLACEHOLDER, name) if name else self.source


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
    def from_compile(cls, result: Any, binary: Path) -> Built:
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


def evidence_lines(result: Any) -> list[str]:
    """The evidence lines the sandbox collected from the whole stdout stream (all of it, not the kept head
    and tail); older results without them fall back to the kept text."""
    lines = getattr(result, "evidence", None)
    if lines is None:
        return text_of(result.stdout).splitlines()
    return [line.rstrip() for line in lines]


def marker_verdict(result: Any, marker: str, need: tuple[str, ...] = ()) -> str:
    """Passed only with exit 0 AND `<secret> done` printed after the tests (and every line in `need`,
    per-test evidence such as Go's `--- PASS: TestX`). `marker` is the run's secret."""
    if result.timed_out:
        return "timeout"
    if result.memory_exceeded:
        return "memory"
    if result.returncode is None:
        return "sandbox_error"
    lines = evidence_lines(result)
    done = marker and f"{marker} done" in lines
    if result.returncode == 0 and done and all(any(line.startswith(n) for line in lines) for n in need):
        return "passed"
    return "failed"


def explain(status: str, result: Any, marker: str, need: tuple[str, ...] = ()) -> str:
    """Why a run got `status` (for the result row's `reason`); empty for a pass."""
    if status == "passed":
        return ""
    if status == "timeout":
        return "ran past its time limit"
    if status == "memory":
        return "ran out of memory"
    if status == "sandbox_error" or result.returncode is None:
        return "the sandbox could not run the program"
    code = result.returncode
    if code != 0:
        signal = -code if code < 0 else code - 128 if code > 128 else 0
        return f"exit code {code}" + (f" (signal {signal})" if signal else "") + ": a test failed or the program crashed"
    lines = evidence_lines(result)
    if not (marker and f"{marker} done" in lines):
        return "exited 0, but the harness never printed its verdict line: the tests did not all run and pass"
    missing = [n.strip() for n in need if not any(line.startswith(n) for line in lines)]
    if missing:
        return "per-test evidence missing: " + ", ".join(m.replace(marker, "<secret>") for m in missing[:3])
    return "no test of the dataset ran"


def undef_test_names(test: str, completion: str) -> str:
    """`#undef` of every macro the completion defines (plus `assert`), placed between the completion and the
    test: no macro a sample defined reaches the test or the assert.h it re-includes (e.g. a function-like
    `__assert_fail` that would turn failed asserts into no-ops). Only the sample's own macros are undone;
    undefining the headers' macros would break honest tests."""
    from codegen_cli.evaluate.languages.lexing import strip_comments

    defined = set(re.findall(r"^\s*#\s*define\s+([A-Za-z_]\w*)", strip_comments(completion, "cpp"), re.MULTILINE))
    names = sorted(defined | {"assert"})
    return "".join(f"#undef {n}\n" for n in names)


_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)


def strip_c_comments(code: str) -> str:
    """Remove // and /* */ comments (string literals are not special-cased; good enough for counting)."""
    return _COMMENT.sub(" ", code)
