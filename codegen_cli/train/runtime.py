"""The pieces around the loop: the Accelerator, the stop flag for SIGINT/SIGTERM, and the run folder.

Kept apart from loop.py so the loop reads top to bottom.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
from pathlib import Path
from typing import Any

import torch

from codegen_cli.errors import JobFailed, MismatchError
from codegen_cli.output import warn
from codegen_cli.train.checkpoint import checkpoints_dir, list_checkpoints
from codegen_cli.train.config import TrainConfig
from codegen_cli.train.export import resolve_checkpoint


def pick_precision(requested: str, cuda: bool) -> str:
    """auto: bf16 on GPUs that have it, fp16 on older GPUs, fp32 on CPUs (CPU autocast rarely pays off
    for small models, and fp16 on a CPU would silently run in fp32 anyway)."""
    if requested == "auto":
        if not cuda:
            return "no"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if requested == "fp16" and not cuda:
        warn("fp16 does not run on a CPU (Accelerate would silently use fp32); using bf16 instead")
        return "bf16"
    return requested


def make_accelerator(cfg: TrainConfig) -> Any:
    from accelerate import Accelerator

    cuda = torch.cuda.is_available()
    accelerator = Accelerator(
        cpu=not cuda,  # without it, torchrun on a CPU box gives N independent single-process runs
        mixed_precision=pick_precision(cfg.mixed_precision, cuda),
        gradient_accumulation_steps=cfg.grad_accum,
        log_with=list(cfg.trackers) or None,
        project_dir=str(cfg.output),
    )
    expected = int(os.environ.get("WORLD_SIZE", "1"))
    if accelerator.num_processes != expected:
        raise JobFailed(f"WORLD_SIZE is {expected} but Accelerate started {accelerator.num_processes} "
                        "process(es); launch with `accelerate launch` or torchrun")
    return accelerator


def configure_deepspeed(accelerator: Any, cfg: TrainConfig) -> None:
    """DeepSpeed must know the micro-batch before `prepare()`; it normally reads it from a DataLoader,
    which this loop does not use (its data order is its own, see data.py)."""
    plugin = getattr(accelerator.state, "deepspeed_plugin", None)
    if plugin is not None:
        plugin.deepspeed_config["train_micro_batch_size_per_gpu"] = int(cfg.micro_batch_size or 1)


def reset_accelerate_state() -> None:
    """Forget the process-wide Accelerate singletons so one Python process can run train() again."""
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


class StopFlag:
    """SIGINT/SIGTERM ask the loop to finish its step, save and exit 130; a second SIGINT aborts."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        warn(f"{signal.Signals(signum).name} received: finishing this step, then saving a checkpoint")

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def any_rank(accelerator: Any, flag: bool) -> bool:
    """True when any process saw the flag (all ranks must stop at the same step)."""
    if accelerator.num_processes == 1:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=accelerator.device)
    return bool(accelerator.reduce(value, "sum").item() > 0)


def choose_checkpoint(cfg: TrainConfig) -> Path | None:
    """The checkpoint to resume from per --resume, or None for a fresh start. Writes nothing."""
    run = Path(cfg.output)
    if cfg.resume == "auto":
        found = list_checkpoints(run)
        return found[-1] if found else None
    if cfg.resume == "never":
        used = list_checkpoints(run) or (run / "metrics.jsonl").exists() or (run / "hf").exists()
        if used and not cfg.force:
            raise MismatchError(f"{run} already holds a training run; use --resume auto to continue it, "
                                "another -o, or --force to start over (deletes its checkpoints)")
        return None
    return resolve_checkpoint(Path(cfg.resume))


def clear_run(run: Path) -> None:
    """--resume never --force: remove the old run's outputs (only after all input checks passed)."""
    shutil.rmtree(checkpoints_dir(run), ignore_errors=True)
    shutil.rmtree(run / "hf", ignore_errors=True)
    for name in ("metrics.jsonl", "manifest.json"):
        (run / name).unlink(missing_ok=True)


def oom_message(cfg: TrainConfig) -> str:
    b = int(cfg.micro_batch_size or 1)
    hint = (f"try --micro-batch-size {b // 2} --grad-accum {cfg.grad_accum * 2} (same global batch)"
            if b > 1 else "try a smaller --seq-len or preset, or --set activation_checkpointing=true")
    return f"out of memory on the device at micro_batch_size={b}, seq_len={cfg.seq_len}; {hint}"
