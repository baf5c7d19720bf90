"""`codegen train` settings: one dataclass tree whose keys are the recipe keys and CLI option names.

Fields left at `None` are filled from the chosen preset (`presets.py`) by `resolve()`, so a recipe only
states what it changes. `resolve()` also checks every cross-field rule at once before any heavy work.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen_cli.config import apply_overrides, from_mapping, option, to_dict
from codegen_cli.errors import UsageError
from codegen_cli.train.presets import get_preset

ARCHES = ("llama", "gpt2")
PRECISIONS = ("auto", "no", "bf16", "fp16")
RESUME_HELP = "auto: continue from the newest checkpoint in RUN; never: start fresh; or a checkpoint folder"


@dataclass
class ModelConfig:
    arch: str = option("llama", "Architecture: llama (RoPE, SwiGLU, RMSNorm, SDPA) or gpt2.")
    hidden_size: int | None = option(None, "Model width d (default: from the preset).")
    num_layers: int | None = option(None, "Transformer blocks L (default: from the preset).")
    num_heads: int | None = option(None, "Attention heads (default: from the preset).")
    num_kv_heads: int | None = option(None, "Key/value heads for grouped-query attention (llama only).")
    intermediate_size: int | None = option(None, "MLP width (default: from the preset).")
    rope_theta: float = option(10000.0, "RoPE base (Llama-2 value; raise it for long contexts).")
    tie_embeddings: bool = option(True, "Share input embedding and output projection (saves V*d params).")
    vocab_multiple: int = option(1, "Pad the embedding to a multiple of this (64 helps GPUs; 1 = exact vocab).")
    init_std: float = option(0.02, "Std of the normal weight init (GPT-2/Llama value).")


@dataclass
class OptimConfig:
    lr: float | None = option(None, "Peak learning rate (default: from the preset).")
    min_lr_ratio: float = option(0.1, "Final LR as a fraction of the peak (Chinchilla: decay to ~lr/10).")
    warmup_steps: int = option(100, "Linear warm-up steps (capped at 10% of max_steps).")
    schedule: str = option("cosine", "LR schedule after warm-up: cosine or constant.")
    weight_decay: float = option(0.1, "AdamW weight decay on matrices only (CodeGeeX/GPT-3: 0.1).")
    beta1: float = option(0.9, "Adam beta1 (CodeGeeX: 0.9).")
    beta2: float = option(0.95, "Adam beta2 (CodeGeeX/GPT-3: 0.95).")
    eps: float = option(1e-8, "Adam epsilon.")
    grad_clip: float = option(1.0, "Clip the global gradient norm to this (0 = off).")


@dataclass
class TrainConfig:
    tokens: Path = option(Path("tokens"), "Tokens folder written by `codegen tokenize`.")
    output: Path = option(Path("run"), "Run folder (checkpoints, metrics, hf export).")
    preset: str = option("tiny", "Model preset: tiny, small, 125m, 350m, 1.3b, codegeex-13b.")
    seq_len: int | None = option(None, "Tokens per training window (default: from the preset).")
    micro_batch_size: int | None = option(None, "Windows per device per forward pass (default: preset).")
    grad_accum: int = option(1, "Micro-batches accumulated per optimizer step.")
    max_steps: int | None = option(None, "Stop after this many optimizer steps.")
    max_tokens: int | None = option(None, "Stop once this many training tokens were seen.")
    seed: int = option(1234, "Seed for the weight init and the data order.")
    save_every: int = option(500, "Save a checkpoint every N optimizer steps (and at the end).")
    keep_checkpoints: int = option(3, "Keep only the newest N checkpoints (0 = keep all).")
    eval_every: int = option(500, "Validation loss every N steps (and at the end; 0 = only at the end).")
    eval_batches: int = option(20, "Micro-batches per device used for one validation pass.")
    log_every: int = option(10, "Write a metrics.jsonl row and a log line every N steps.")
    mixed_precision: str = option("auto", "auto (bf16 on GPUs that support it, else fp32), no, bf16, fp16.")
    compile: bool = option(False, "torch.compile the model (worth it on GPUs for long runs).")
    activation_checkpointing: bool = option(False, "Recompute activations in backward to save memory.")
    peak_tflops: float | None = option(None, "Device peak TFLOP/s for MFU (default: known-GPU table).")
    trackers: list[str] = option([], "Extra Accelerate trackers, e.g. tensorboard,wandb (when installed).")
    export: bool = option(True, "Write RUN/hf (safetensors + tokenizer) at the end.")
    resume: str = option("auto", RESUME_HELP)
    force: bool = option(False, "Resume despite a config/world-size mismatch, or start over in a used RUN.")
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)

    @property
    def tokens_per_step_per_rank(self) -> int:
        return int(self.seq_len or 0) * int(self.micro_batch_size or 0) * self.grad_accum


def resolve(cfg: TrainConfig) -> TrainConfig:
    """Fill preset defaults and check every rule; all problems are reported in one UsageError."""
    preset = get_preset(cfg.preset)
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model), optim=dataclasses.replace(cfg.optim))
    for key, value in preset["model"].items():
        if getattr(cfg.model, key) is None:
            setattr(cfg.model, key, value)
    if cfg.seq_len is None:
        cfg.seq_len = preset["seq_len"]
    if cfg.micro_batch_size is None:
        cfg.micro_batch_size = preset["micro_batch_size"]
    if cfg.optim.lr is None:
        cfg.optim.lr = preset["lr"]
    problems = _problems(cfg)
    if problems:
        raise UsageError("; ".join(problems))
    return cfg


def _problems(cfg: TrainConfig) -> list[str]:
    m, o = cfg.model, cfg.optim
    checks = [
        (m.arch in ARCHES, f"model.arch {m.arch!r} is not one of {', '.join(ARCHES)}"),
        (cfg.mixed_precision in PRECISIONS, f"mixed_precision {cfg.mixed_precision!r}: use {'|'.join(PRECISIONS)}"),
        (o.schedule in ("cosine", "constant"), f"optim.schedule {o.schedule!r}: use cosine or constant"),
        ((cfg.seq_len or 0) >= 2, "--seq-len must be at least 2"),
        ((cfg.micro_batch_size or 0) >= 1, "--micro-batch-size must be at least 1"),
        (cfg.grad_accum >= 1, "--grad-accum must be at least 1"),
        (cfg.max_steps is None or cfg.max_steps >= 0, "--max-steps must be >= 0"),
        (cfg.max_tokens is None or cfg.max_tokens >= 0, "--max-tokens must be >= 0"),
        (cfg.max_steps is not None or cfg.max_tokens is not None, "set --max-steps or --max-tokens"),
        (cfg.save_every >= 1, "--save-every must be at least 1"),
        (cfg.eval_every >= 0 and cfg.log_every >= 1, "--eval-every must be >= 0 and log_every >= 1"),
        (cfg.keep_checkpoints >= 0 and cfg.eval_batches >= 1, "keep_checkpoints >= 0, eval_batches >= 1"),
        ((o.lr or 0) > 0, "--lr must be positive"),
        (0 <= o.min_lr_ratio <= 1 and o.warmup_steps >= 0, "optim.min_lr_ratio in [0, 1], warmup_steps >= 0"),
        (m.vocab_multiple >= 1, "model.vocab_multiple must be at least 1"),
    ]
    problems = [msg for ok, msg in checks if not ok]
    if m.hidden_size and m.num_heads and m.hidden_size % m.num_heads:
        problems.append(f"model.hidden_size {m.hidden_size} is not divisible by num_heads {m.num_heads}")
    if m.num_heads and m.num_kv_heads and m.num_heads % m.num_kv_heads:
        problems.append(f"model.num_heads {m.num_heads} is not a multiple of num_kv_heads {m.num_kv_heads}")
    if cfg.resume not in ("auto", "never") and not Path(cfg.resume).exists():
        problems.append(f"--resume {cfg.resume}: no such checkpoint folder")
    return problems


def load_train_config(mapping: dict[str, Any], overrides: list[str] | None = None,
                      *, where: str = "train") -> TrainConfig:
    """Build a TrainConfig from a recipe/`--config` mapping plus `key=value` overrides (not resolved)."""
    data = apply_overrides(_deep_copy(mapping), list(overrides or []))
    return from_mapping(TrainConfig, data, where=where)


def _deep_copy(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in mapping.items()}


# Keys whose change does not alter the training trajectory: a run may be continued with other values.
NON_IDENTITY_KEYS = ("tokens", "output", "max_steps", "max_tokens", "save_every", "keep_checkpoints",
                     "eval_every", "eval_batches", "log_every", "trackers", "export", "resume", "force",
                     "compile", "activation_checkpointing", "peak_tflops")


def identity(cfg: TrainConfig) -> dict[str, Any]:
    """The settings that define the loss curve; a resume with other values is a mismatch (exit 4)."""
    data = to_dict(cfg)
    for key in NON_IDENTITY_KEYS:
        data.pop(key, None)
    return data


def to_toml(data: dict[str, Any]) -> str:
    """A small TOML writer for config.toml (scalars, lists and nested tables; None is left out)."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif value is not None:
            lines.append(f"{key} = {_toml_value(value)}")
    for name, table in tables:
        lines.append(f"\n[{name}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in table.items() if v is not None)
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    import json

    return json.dumps(str(value))
