"""`codegen doctor --fix`: turn the report's fixing commands into steps, say which cannot run here and why,
ask, run them.

The commands are the ones doctor prints (so a user who runs them by hand gets the same machine): Debian
packages become one `apt-get update` plus one `apt-get install` (root only; a fresh image has no package
lists, so an install without the update finds nothing), npm installs go into the eval tool cache, missing
Python packages through this interpreter's pip. Anything else (a kernel setting, a Python version, torch,
whose wheel a user must choose) is listed with the reason it was not run.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from codegen_cli.errors import UsageError
from codegen_cli.output import heartbeat, log

APT_FLAGS = ("install", "-y", "--no-install-recommends")
# torch is the one package pip must not pick by itself: unpinned, it downloads GBs of CUDA libraries.
CHOSEN_BY_USER = {"torch": "install torch yourself: the CPU wheel or the CUDA build you want (an unpinned "
                           "`pip install torch` downloads GBs of CUDA libraries)"}


@dataclass
class Step:
    """One command to run (argv), or a fix that cannot be run here (`why_not`)."""

    what: str  # the fix as doctor printed it, or the merged command
    argv: list[str] = field(default_factory=list)
    why_not: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def plan(report: Any) -> list[Step]:
    """Steps for `report.fixes` (a DoctorReport), in an order where each finds what it needs: apt first
    (it may bring npm), then npm, then pip."""
    apt: list[str] = []
    npm: list[Step] = []
    pip: list[str] = []
    other: list[Step] = []
    for fix in report.fixes:
        try:
            words = shlex.split(fix) if fix[:1].isalpha() else []
        except ValueError:  # prose with an unbalanced quote: not a command
            words = []
        if words[:2] == ["apt-get", "install"]:
            apt += [word for word in words[2:] if word not in APT_FLAGS and word not in apt]
        elif words[:2] == ["npm", "install"]:
            npm.append(Step(fix, words))
        elif words[:2] == ["pip", "install"]:
            for name in words[2:]:
                if name in CHOSEN_BY_USER:
                    other.append(Step(fix, why_not=CHOSEN_BY_USER[name]))
                elif name not in pip:
                    pip.append(name)
        else:
            other.append(Step(fix, why_not="codegen cannot do this for you"))
    steps = _apt_steps(apt) if apt else []
    steps += npm
    if pip:
        steps.append(Step(f"pip install {' '.join(pip)}", [sys.executable, "-m", "pip", "install", *pip]))
    return steps + other


def _apt_steps(packages: list[str]) -> list[Step]:
    install = ["apt-get", *APT_FLAGS, *packages]
    text = f"apt-get update && {shlex.join(install)}"
    if shutil.which("apt-get") is None:
        return [Step(text, why_not=f"no apt-get here: install {' '.join(packages)} with this system's package "
                                   "manager")]
    if os.geteuid() != 0:
        return [Step(text, why_not=f"needs root: run `sudo apt-get update && sudo {shlex.join(install)}`")]
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    return [Step("apt-get update", ["apt-get", "update"], env=env), Step(shlex.join(install), install, env=env)]


def apply(steps: list[Step], *, confirmed: bool) -> list[dict[str, Any]]:
    """Show the steps, ask (unless `confirmed`), run the runnable ones in order, each with its output on
    stderr (stdout stays free for --json). A failed step does not stop the next: each is reported.

    Returns one record per step: {"command", "exit"} or {"command", "skipped"}. Raises UsageError when it
    would have to ask but stdin is not a terminal, and when the person answers no (nothing ran)."""
    runnable = [step for step in steps if step.why_not is None]
    for step in steps:
        log(f"doctor --fix: {'will run' if step.why_not is None else 'cannot run'}: {step.what}"
            + (f" ({step.why_not})" if step.why_not else ""))
    if runnable and not confirmed:
        if not sys.stdin.isatty():
            raise UsageError(f"codegen doctor --fix would run {len(runnable)} command(s) (listed above); "
                             "add --yes to run them without asking")
        sys.stderr.write(f"Run these {len(runnable)} command(s)? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            raise UsageError("nothing was run (answered no)")
    records: list[dict[str, Any]] = []
    for step in steps:
        if step.why_not is not None:
            records.append({"command": step.what, "skipped": step.why_not})
            continue
        if shutil.which(step.argv[0]) is None:
            records.append({"command": step.what, "skipped": f"{step.argv[0]} not found (an earlier step "
                                                             "should have installed it)"})
            continue
        log(f"doctor --fix: running {step.what}")
        with heartbeat(f"doctor --fix: {step.argv[0]}"):
            returncode = _run_to_stderr(step)
        records.append({"command": step.what, "exit": returncode})
        if returncode != 0:
            log(f"doctor --fix: [red]failed[/red] (exit {returncode}): {step.what}")
    return records


def _run_to_stderr(step: Step) -> int:
    """Run a step with its output copied line by line to stderr (whatever stream sys.stderr is now)."""
    with subprocess.Popen(step.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env={**os.environ, **step.env}) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stderr.write(line.decode(errors="replace"))
        return proc.wait()
