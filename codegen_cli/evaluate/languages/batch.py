"""Several compiler calls in ONE sandbox call: a batch of programs is built by a shell script, one
compiler process per program, each writing only its own files.

Why: a sandbox call costs about 0.013 CPU s (bwrap, the uid switch, the evaluator's thread and pump),
one per program for C++ and Rust before; 8 programs per call save 7 of them. The compilers run no
program code. The programs of a batch share the build folder, as Java's and Go's batches always did; each
file is named after its program's sha256 (`Program.name`), which no other sample can know. If the batch
runs past its time limit (one program that makes the compiler hang), each program is built again alone,
so only the one that hangs is blamed.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen_cli.evaluate.languages.base import Built, Program, batch_limits


@dataclass
class Step:
    """One program's compiler call: `argv` run in the build folder; its output goes to `<name>.errors`."""

    name: str
    argv: list[str]


@dataclass
class StepResult:
    exit_code: int | None  # None: the batch ended (timeout, sandbox failure) before this step finished
    errors: str
    seconds: float
    timed_out: bool = False


def script(steps: list[Step]) -> str:
    lines = ["set -u"]
    for step in steps:
        command = " ".join(shlex.quote(arg) for arg in step.argv)
        lines.append(f"{command} > {shlex.quote(step.name + '.errors')} 2>&1; "
                     f"echo $? > {shlex.quote(step.name + '.status')}")
    return "\n".join(lines) + "\n"


def run_steps(steps: list[Step], workdir: Path, ctx: Any, *, env: dict[str, str] | None = None,
              readonly: tuple[Path, ...] = ()) -> dict[str, StepResult]:
    """Run every step in one sandbox call; a step the batch did not finish (time limit) is run again
    alone (one sandbox call each). Seconds are the batch's wall time shared evenly."""
    results = _once(steps, workdir, ctx, env=env, readonly=readonly)
    unfinished = [step for step in steps if results[step.name].exit_code is None]
    if len(steps) > 1 and unfinished:
        for step in unfinished:
            results.update(_once([step], workdir, ctx, env=env, readonly=readonly))
    return results


def _once(steps: list[Step], workdir: Path, ctx: Any, *, env, readonly) -> dict[str, StepResult]:
    name = f"build-{steps[0].name}.sh"
    (workdir / name).write_text(script(steps))
    for step in steps:
        (workdir / f"{step.name}.status").unlink(missing_ok=True)
    start = time.monotonic()
    result = ctx.run(["/bin/sh", name], workdir=workdir, limits=batch_limits(ctx.compile_limits, len(steps)),
                     env=env, readonly=readonly)
    seconds = (time.monotonic() - start) / len(steps)
    out = {}
    for step in steps:
        status = workdir / f"{step.name}.status"
        errors = workdir / f"{step.name}.errors"
        text = errors.read_text(errors="replace") if errors.is_file() else ""
        code = status.read_text().strip() if status.is_file() else ""
        if code.isdigit():
            out[step.name] = StepResult(int(code), text, seconds)
        else:
            out[step.name] = StepResult(None, text or str(result.stderr), seconds, timed_out=result.timed_out)
    return out


def build_binaries(programs: list[Program], steps: list[Step], workdir: Path, ctx: Any, *,
                   readonly: tuple[Path, ...] = ()) -> dict[str, Built]:
    """Run the steps (one per program, named `program.name`, each making the binary `program.name`); the
    Built of each program by sha256 (run as ./main in its run dir)."""
    results = run_steps(steps, workdir, ctx, readonly=readonly)
    built = {}
    for program in programs:
        done, binary = results[program.name], workdir / program.name
        ok = done.exit_code == 0 and binary.is_file()
        built[program.sha256] = Built(ok=ok, seconds=done.seconds, files={"main": binary} if ok else {},
                                      error="" if ok else done.errors, exit_code=done.exit_code,
                                      timed_out=done.timed_out)
    return built
