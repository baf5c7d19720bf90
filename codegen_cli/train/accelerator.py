"""The Accelerator a training run uses: precision choice, DeepSpeed's micro-batch, cross-rank flags, OOM hints.

Accelerate owns devices, precision, accumulation and distribution; this module only picks its arguments and
adapts the few places where this loop differs from a DataLoader-driven one.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from codegen_cli.errors import JobFailed, UsageError
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
    check_strategy(requested_strategy(os.environ), strategy(accelerator), accelerator.device.type)
    return accelerator


def requested_strategy(env: dict[str, str] | os._Environ) -> str | None:
    """The sharding strategy the launch asked for, from the variables `accelerate launch` sets from its
    config file (ACCELERATE_USE_FSDP + FSDP_VERSION, ACCELERATE_USE_DEEPSPEED + its ZeRO stage); None
    when it asked for none (DDP or a single process)."""
    if env.get("ACCELERATE_USE_FSDP", "false").lower() == "true":
        return "fsdp2" if env.get("FSDP_VERSION", "1") == "2" else "fsdp"
    if env.get("ACCELERATE_USE_DEEPSPEED", "false").lower() == "true":
        stage = env.get("ACCELERATE_DEEPSPEED_ZERO_STAGE", "")
        return f"deepspeed-zero{stage}" if stage else "deepspeed"
    return None


def strategy(accelerator: Any) -> str:
    """What actually runs: single, ddp, fsdp / fsdp2, or deepspeed-zeroN (reported by `--json`)."""
    from accelerate.utils import DistributedType

    kind = accelerator.distributed_type
    if kind == DistributedType.FSDP:
        return "fsdp2" if getattr(accelerator, "is_fsdp2", False) else "fsdp"
    if kind == DistributedType.DEEPSPEED:
        plugin = accelerator.state.deepspeed_plugin
        stage = plugin.deepspeed_config.get("zero_optimization", {}).get("stage", plugin.zero_stage)
        return f"deepspeed-zero{stage}"
    return "single" if accelerator.num_processes == 1 else "ddp"


def check_strategy(requested: str | None, running: str, device: str) -> None:
    """Refuse (exit 2) a run whose launch asked for FSDP or DeepSpeed that Accelerate did not start: it
    would train with every rank holding the whole model (plain DDP), which at the sizes these configs are
    for runs out of memory hours later, or silently measures the wrong thing. Accelerate starts FSDP and
    DeepSpeed on accelerators only; on a CPU it falls back to DDP without a word."""
    if requested is None or running.split("-")[0] == requested.split("-")[0]:
        return
    hint = ("Accelerate runs FSDP and DeepSpeed on GPUs (and other accelerators) only; on a CPU use "
            "pipelines/accelerate/multi_cpu.yaml (DDP)") if device == "cpu" else "check the config file"
    raise UsageError(f"the launch asked for {requested} but Accelerate started {running} on {device}; {hint}")


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
