"""Exact resume after a real SIGKILL, and a clean stop on SIGTERM (real `codegen train` subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from codegen_cli.train.metrics import read_metrics
from tests.conftest import freeze_when, thaw
from tests.train.conftest import REPO, run_cli, train_args

pytestmark = pytest.mark.slow
STEPS = 40
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "CODEGEN_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}


def _args(tokens: Path, run: Path) -> list[str]:
    return train_args(tokens, run, "--max-steps", str(STEPS), "--save-every", "5", "--eval-every", "20")


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "codegen_cli", *args], cwd=REPO, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _last_step(metrics: Path) -> int:
    if not metrics.exists():
        return 0
    rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.endswith("}")]
    return rows[-1]["step"] if rows else 0


def _freeze_at_step(proc: subprocess.Popen, metrics: Path, step: int) -> None:
    """Stop the run (SIGSTOP) once metrics.jsonl shows `step`, so a signal lands mid-run at any load."""
    freeze_when(proc, lambda: _last_step(metrics) >= step, f"step {step} in {metrics}")


def _losses(run: Path) -> dict[int, float]:
    rows = [r for r in read_metrics(run / "metrics.jsonl") if "loss" in r]
    steps = [r["step"] for r in rows]
    assert steps == sorted(set(steps)), "duplicated or unordered steps after resume"
    return {r["step"]: r["loss"] for r in rows}


def test_sigkill_then_resume_gives_the_same_losses(tokens_dir: Path, tmp_path: Path) -> None:
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    proc = _start(_args(tokens_dir, killed))
    try:
        _freeze_at_step(proc, killed / "metrics.jsonl", 12)
        assert _last_step(killed / "metrics.jsonl") < STEPS
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=600)
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "hf").exists()
    result = run_cli(_args(tokens_dir, killed) + ["--json"], env={"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    resumed = json.loads(result.stdout)
    assert resumed["resumed_from"] is not None and resumed["steps"] == STEPS
    result = run_cli(_args(tokens_dir, straight) + ["--json"], env={"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    a, b = _losses(straight), _losses(killed)
    assert sorted(a) == sorted(b) == list(range(1, STEPS + 1))
    assert [a[s] for s in a] == [b[s] for s in a]  # bit-identical per-step losses
    assert json.loads(result.stdout)["final_val_loss"] == resumed["final_val_loss"]


def test_sigterm_finishes_the_step_saves_and_exits_130(tokens_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = _start(train_args(tokens_dir, run, "--max-steps", "100000", "--save-every", "100000"))
    try:
        _freeze_at_step(proc, run / "metrics.jsonl", 3)
        proc.send_signal(signal.SIGTERM)
        thaw(proc)
        _, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "interrupted at step" in err and "rerun the same command" in err
    saved = sorted((run / "checkpoints").iterdir())
    assert len(saved) == 1
    state = json.loads((saved[0] / "trainer_state.json").read_text())
    assert state["step"] == max(_losses(run))  # the checkpoint is the last finished step
