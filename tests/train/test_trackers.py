"""Trackers: a missing one is exit 2 with its install command; TensorBoard gets the loss curves under the run
name, and `eval --model RUN/hf` logs pass@k into the same event folder at the run's last step."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.train.conftest import run_cli, train_args


def _scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out: dict[str, list[tuple[int, float]]] = {}
    for directory in sorted({events.parent for events in folder.rglob("events.out.tfevents.*")}):
        acc = EventAccumulator(str(directory), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            out.setdefault(tag, []).extend((e.step, e.value) for e in acc.Scalars(tag))
    return out


def test_missing_or_unknown_tracker_is_a_usage_error(cli, tokens_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if it were not installed
    done = cli(*train_args(tokens_dir, tmp_path / "run", "--max-steps", "2", "--trackers", "tensorboard,nope"))
    assert done.exit_code == 2
    assert "pip install 'codegen-cli[tracking]'" in done.stderr and "--trackers nope: unknown tracker" in done.stderr
    assert not (tmp_path / "run").exists()  # checked before any work


@pytest.mark.slow
def test_tensorboard_gets_losses_then_eval_pass_at_k(tokens_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    trained = run_cli(train_args(tokens_dir, run, "--max-steps", "4", "--trackers", "tensorboard",
                                 "--run-name", "exp1", "--seq-len", "128"))
    assert trained.returncode == 0, trained.stderr[-2000:]
    folder = run / "tensorboard" / "exp1" / "codegen"
    scalars = _scalars(folder)
    assert [step for step, _ in scalars["loss"]] == [1, 2, 3, 4] and "lr" in scalars
    evaluated = run_cli(["eval", "--model", str(run / "hf"), "--benchmark", "humaneval", "--limit", "2",
                         "--max-new-tokens", "8", "-k", "1", "--allow-code-execution", "-o", str(tmp_path / "res")])
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert "pass@k logged to the run's trackers: tensorboard" in evaluated.stderr
    scalars = _scalars(folder)
    assert scalars["eval/pass@1"] == [(4, 0.0)] and scalars["eval/python/pass@1"] == [(4, 0.0)]
