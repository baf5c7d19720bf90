"""The Accelerator a training run uses: precision choice, DeepSpeed's micro-batch, cross-rank flags, OOM hints.

Accelerate owns devices, precision, accumulation and distribution; this module only picks its arguments and
adapts the few places where this loop differs from a DataLoader-driven one.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from codegen_cli.errors import JobFailed
from codegen_cli.output import warn
from codegen_cli.train.config import TrainConfig


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
    from accelerate.utils import ProjectConfiguration

    from codegen_cli.train.trackers import logging_dir

    cuda = torch.cuda.is_available()
    accelerator = Accelerator(
        cpu=not cuda,  # without it, torchrun on a CPU box gives N independent single-process runs
        mixed_precision=pick_precision(cfg.mixed_precision, cuda),
        gradient_accumulation_steps=cfg.grad_accum,
        log_with=list(cfg.trackers) or None,
        project_config=ProjectConfiguration(project_dir=str(cfg.output),
                                            logging_dir=str(logging_dir(cfg.output, cfg.run_name))),
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


def any_rank(accelerator: Any, flag: bool) -> bool:
    """True when any process saw the flag (all ranks must stop at the same step)."""
    if accelerator.num_processes == 1:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=accelerator.device)
    return bool(accelerator.reduce(value, "sum").item() > 0)


def oom_message(cfg: TrainConfig) -> str:
    b = int(cfg.micro_batch_size or 1)
    hint = (f"try --micro-batch-size {b // 2} --grad-accum {cfg.grad_accum * 2} (same global batch)"
            if b > 1 else "try a smaller --seq-len or preset, or --set activation_checkpointing=true")
    return f"out of memory on the device at micro_batch_size={b}, seq_len={cfg.seq_len}; {hint}"
