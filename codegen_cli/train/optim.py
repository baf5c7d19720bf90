"""AdamW with weight decay on matrices only, and the LR as a pure function of the step.

Decay only ≥2-D weights (matmuls, embeddings), never norms or biases (GPT-3/nanoGPT). The LR is computed
from the step number and written into the param groups before each optimizer step, so there is no
scheduler object to checkpoint and no per-process stepping to get wrong under Accelerate.
"""

from __future__ import annotations

import math

import torch

from codegen_cli.train.config import OptimConfig


def build_optimizer(model: torch.nn.Module, o: OptimConfig, *, fused: bool) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for param in model.parameters():  # tied tensors are yielded once
        if param.requires_grad:
            (decay if param.dim() >= 2 else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": o.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    kwargs = {"fused": True} if fused else {}
    return torch.optim.AdamW(groups, lr=float(o.lr or 0), betas=(o.beta1, o.beta2), eps=o.eps, **kwargs)


def warmup_steps(o: OptimConfig, total_steps: int, *, warm_start: bool = False) -> int:
    """Configured warm-up, capped at 10% of the run so short runs still reach the peak LR; a warm start
    (`--init-from`) may warm up for half the run: reaching the peak late costs a pretrained model little,
    full-size first updates from a fresh optimizer cost it what it knew."""
    configured = int(o.warmup_steps if o.warmup_steps is not None else 100)
    share = 2 if warm_start else 10
    return min(configured, max(1, total_steps // share)) if total_steps > 0 else configured


def lr_at(step: int, o: OptimConfig, total_steps: int, *, warm_start: bool = False) -> float:
    """LR for optimizer step `step` (0-based): linear warm-up, then cosine to min_lr_ratio * lr."""
    peak = float(o.lr or 0)
    warm = warmup_steps(o, total_steps, warm_start=warm_start)
    if step < warm:
        return peak * (step + 1) / warm
    if o.schedule == "constant" or total_steps <= warm:
        return peak
    progress = min(1.0, (step - warm) / max(1, total_steps - warm))
    floor = peak * o.min_lr_ratio
    return floor + 0.5 * (peak - floor) * (1.0 + math.cos(math.pi * progress))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
