"""Shared fixtures: the HumanEval-X data shipped in the package and a CLI runner that keeps stdout and stderr
apart. Nothing here (or anywhere in tests/) reads outside the repository."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

from codegen_cli.evaluate.problems import PACKAGED_DIR as HUMANEVAL_X

REPO_ROOT = Path(__file__).resolve().parents[1]

# Progress bars never render in tests; plain progress lines stay rare.
os.environ.setdefault("CODEGEN_NO_PROGRESS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# One BLAS/OpenMP thread per process: tests start several torch processes at once on a 2-core box, and
# oversubscribed OpenMP threads spin-wait (measured: tiny-model generate 20x slower with 2 threads under load).
os.environ.setdefault("OMP_NUM_THREADS", "1")


# .ci/run sets this: there every toolchain is installed, so a missing one is a failure, not a skip.
STRICT_ENV = "CODEGEN_TEST_REQUIRE_TOOLCHAINS"


def toolchain_missing(reason: str) -> NoReturn:
    """Skip a test whose toolchain is truly absent (`reason` carries the install command), or fail it
    where CODEGEN_TEST_REQUIRE_TOOLCHAINS=1 says everything was installed (CI)."""
    if os.environ.get(STRICT_ENV, "") not in ("", "0"):
        pytest.fail(f"TOOLCHAIN MISSING although {STRICT_ENV} is set: {reason}")
    pytest.skip(f"TOOLCHAIN MISSING, test skipped: {reason}")


@functools.cache
def _not_ready(language: str) -> str | None:
    """Why `language` cannot be scored here, each missing piece with the command that fixes it, from the
    same checks as `codegen doctor --build` (static requirements, tool-cache build, dependency probe in the
    sandbox); None when it can."""
    from codegen_cli.doctor import language_readiness

    return "; ".join(language_readiness([language])[language]) or None


def require_toolchains(*languages: str) -> None:
    """Skip (naming each missing piece and its fix) unless every language in `languages` is ready to be
    scored here, toolchain AND test dependencies; under CODEGEN_TEST_REQUIRE_TOOLCHAINS=1 (CI) fail instead.
    Every test that compiles or runs a program of a language other than Python calls this first."""
    from codegen_cli.languages import language_key

    problems = [message for message in map(_not_ready, [language_key(name) for name in languages]) if message]
    if problems:
        toolchain_missing("; ".join(problems))


def freeze_when(proc: subprocess.Popen, ready: Callable[[], bool], what: str, timeout: float = 600) -> None:
    """Wait until `ready()` (an observable state: a file, a count of finished units), then stop the whole
    session of `proc` (started with start_new_session=True) with SIGSTOP, so the test checks and signals
    it in exactly that state, however loaded the machine is. Nothing here relies on how long a sleep is:
    the short poll only bounds how often `ready()` is read. Fails if the process ends first.
    """
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the process ended (exit {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout:.0f} s")
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGSTOP)


def thaw(proc: subprocess.Popen) -> None:
    """Continue a session stopped by freeze_when (signals sent meanwhile are delivered first)."""
    os.killpg(proc.pid, signal.SIGCONT)


def path_without(folder: Path, *tools: str) -> str:
    """A PATH that finds every command the current PATH finds except `tools`: each PATH folder holding
    one of them is replaced by `folder`, filled with links to that folder's other entries. Simulates a
    machine where those tools were never installed, without touching the real one."""
    folder.mkdir(parents=True, exist_ok=True)
    kept = []
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        here = Path(entry)
        if not any((here / tool).exists() for tool in tools):
            kept.append(entry)
            continue
        for item in here.iterdir():
            if item.name not in tools and not (folder / item.name).exists():
                (folder / item.name).symlink_to(item)
        if str(folder) not in kept:
            kept.append(str(folder))
    return os.pathsep.join(kept)


@pytest.fixture
def humaneval_x_dir() -> Path:
    """The packaged HumanEval-X folder (humaneval_<lang>.jsonl.gz x 6)."""
    return HUMANEVAL_X


@pytest.fixture
def cli():
    """Invoke the real Typer app in-process; result has .exit_code, .stdout and .stderr separately."""
    from typer.testing import CliRunner

    from codegen_cli.cli.app import app

    runner = CliRunner()

    def invoke(*args: str, **kwargs):
        return runner.invoke(app, [str(a) for a in args], **kwargs)

    return invoke
