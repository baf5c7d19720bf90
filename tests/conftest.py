"""Shared fixtures: the HumanEval-X data shipped in the package and a CLI runner that keeps stdout and stderr
apart. Nothing here (or anywhere in tests/) reads outside the repository."""

from __future__ import annotations

import os
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
