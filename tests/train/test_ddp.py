"""A real 2-process CPU DDP run (torchrun + gloo) of `codegen train` matches one process on the same
global batch; gradient accumulation matches a bigger micro-batch."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from codegen_cli.train.metrics import read_metrics
from tests.train.conftest import run_cli, train_args

pytestmark = pytest.mark.slow
STEPS = 8


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _losses(run: Path) -> list[float]:
    return [r["loss"] for r in read_metrics(run / "metrics.jsonl") if "loss" in r]


def _torchrun(nproc: int, args: list[str]):
    import os
    import subprocess

    from tests.train.conftest import REPO

    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
           "--master_port", str(_free_port()), "-m", "codegen_cli", *args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CODEGEN_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_two_process_ddp_matches_one_process_with_the_same_global_batch(tokens_dir: Path, tmp_path: Path):
    common = ("--max-steps", str(STEPS), "--save-every", "4", "--json")
    ddp = _torchrun(2, train_args(tokens_dir, tmp_path / "ddp", "--micro-batch-size", "4", *common))
    assert ddp.returncode == 0, ddp.stderr
    single = run_cli(train_args(tokens_dir, tmp_path / "one", "--micro-batch-size", "8", *common))
    assert single.returncode == 0, single.stderr
    d, s = json.loads(ddp.stdout), json.loads(single.stdout)  # one JSON object: only rank 0 reports
    assert d["world_size"] == 2 and s["world_size"] == 1
    assert d["global_batch_tokens"] == s["global_batch_tokens"] == 8 * 32
    assert d["tokens"] == s["tokens"] == STEPS * 8 * 32
    assert _losses(tmp_path / "ddp") == pytest.approx(_losses(tmp_path / "one"), rel=1e-4)
    state = json.loads((tmp_path / "ddp" / "checkpoints" / "step-00000008" / "trainer_state.json").read_text())
    assert state["world_size"] == 2 and state["data_position"] == STEPS * 8
    assert (tmp_path / "ddp" / "checkpoints" / "step-00000008" / "random_states_1.pkl").is_file()
    assert d["strategy"] == "ddp" and s["strategy"] == "single"
    # a checkpoint written by 2 processes resumes in 1 when the global batch is the same (issue 23: it was
    # refused), and is refused, naming the global batch, when it is not
    smaller = run_cli(train_args(tokens_dir, tmp_path / "ddp", "--micro-batch-size", "4", "--max-steps", "10"))
    assert smaller.returncode == 4 and "global batch was 8 sequences per step, this run's is 4" in smaller.stderr
    again = run_cli(train_args(tokens_dir, tmp_path / "ddp", "--micro-batch-size", "4", "--grad-accum", "2",
                               "--max-steps", "10", "--json"))
    assert again.returncode == 0, again.stderr
    resumed = json.loads(again.stdout)
    assert resumed["steps"] == 10 and resumed["world_size"] == 1 and resumed["resumed_from"]
    # the same two steps resumed from the single-process run: the same losses (the schedule of a resume that
    # raises --max-steps is the same in both)
    one_more = run_cli(train_args(tokens_dir, tmp_path / "one", "--micro-batch-size", "8", "--max-steps", "10"))
    assert one_more.returncode == 0, one_more.stderr
    assert _losses(tmp_path / "ddp")[-2:] == pytest.approx(_losses(tmp_path / "one")[-2:], rel=1e-4)


def test_gradient_accumulation_matches_a_bigger_micro_batch(cli, tokens_dir: Path, tmp_path: Path):
    runs = {"accum": ("--micro-batch-size", "4", "--grad-accum", "2"), "big": ("--micro-batch-size", "8")}
    for name, extra in runs.items():
        result = cli(*train_args(tokens_dir, tmp_path / name, "--max-steps", "6", *extra))
        assert result.exit_code == 0, result.stderr
    assert _losses(tmp_path / "accum") == pytest.approx(_losses(tmp_path / "big"), rel=1e-4)


def test_fsdp_config_on_a_cpu_stops_instead_of_running_ddp(tokens_dir: Path, tmp_path: Path):
    """Issue 23: pipelines/accelerate/fsdp.yaml on CPU with 2 processes exited 0 having run plain DDP. Now
    each rank stops with exit 2 naming what was asked and what Accelerate started, before any step."""
    import os
    import subprocess

    from tests.train.conftest import REPO

    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
           str(REPO / "pipelines" / "accelerate" / "fsdp.yaml"), "--num_processes", "2", "--mixed_precision", "no",
           "--main_process_port", str(_free_port()), "-m", "codegen_cli",
           *train_args(tokens_dir, tmp_path / "fsdp", "--max-steps", "2")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CODEGEN_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode != 0
    assert "the launch asked for fsdp2 but Accelerate started ddp on cpu" in done.stderr, done.stderr[-3000:]
    assert not (tmp_path / "fsdp" / "metrics.jsonl").exists()


def test_strategy_names():
    from codegen_cli.errors import UsageError
    from codegen_cli.train.accelerator import check_strategy, requested_strategy

    assert requested_strategy({"ACCELERATE_USE_FSDP": "true", "FSDP_VERSION": "2"}) == "fsdp2"
    assert requested_strategy({"ACCELERATE_USE_DEEPSPEED": "true", "ACCELERATE_DEEPSPEED_ZERO_STAGE": "3"}) \
        == "deepspeed-zero3"
    assert requested_strategy({}) is None
    check_strategy("fsdp2", "fsdp2", "cuda")
    check_strategy(None, "ddp", "cpu")
    with pytest.raises(UsageError, match="asked for deepspeed-zero3 but Accelerate started ddp on cpu"):
        check_strategy("deepspeed-zero3", "ddp", "cpu")
