"""`codegen train` settings: one dataclass tree whose keys are the recipe keys and CLI option names.

Fields left at `None` are filled from the chosen preset (`presets.py`) by `resolve()`, so a recipe only
states what it changes. `resolve()` also checks every cross-field rule at once before any heavy work.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen_cli.config import apply_overrides, from_mapping, option, section, to_dict, to_toml  # noqa: F401
from codegen_cli.errors import UsageError, raise_problems
from codegen_cli.options import value_problems
from codegen_cli.train.presets import get_preset
from codegen_cli.train.trackers import check_trackers

ARCHES = ("llama", "gpt2")
DEFAULT_WARMUP = 100
INIT_FROM_LR = 1e-4
PRECISIONS = ("auto", "no", "bf16", "fp16")
RESUME_HELP = "auto: continue from the newest checkpoint in RUN; never: start fresh; or a checkpoint folder"


_DATA = "Data and length"
_SAVE = "Checkpoints and logging"
_PERF = "Performance"
_PRESET = "from the preset"


@dataclass
class ModelConfig:
    arch: str = option("llama", "Architecture: llama (RoPE, SwiGLU, RMSNorm, SDPA) or gpt2.",
                       why="the modern default (DESIGN.md §7); gpt2 for comparison", choices=ARCHES)
    hidden_size: int | None = option(None, "Model width d.", shown_default=_PRESET, at_least=1)
    num_layers: int | None = option(None, "Transformer blocks L.", shown_default=_PRESET, at_least=1)
    num_heads: int | None = option(None, "Attention heads.", shown_default=_PRESET, at_least=1)
    num_kv_heads: int | None = option(None, "Key/value heads for grouped-query attention (llama only).",
                                      shown_default="num_heads", at_least=1)
    intermediate_size: int | None = option(None, "MLP width.", shown_default=_PRESET, at_least=1)
    rope_theta: float = option(10000.0, "RoPE base.", why="Llama-2 value; raise it for long contexts")
    tie_embeddings: bool = option(True, "Share input embedding and output projection.", why="saves V*d parameters")
    vocab_multiple: int = option(1, "Pad the embedding to a multiple of this (64 helps GPUs; 1 = exact vocab).",
                                 why="exact vocabulary: no unused rows", at_least=1)
    init_std: float = option(0.02, "Std of the normal weight init.", why="GPT-2/Llama value")


@dataclass
class OptimConfig:
    lr: float | None = option(None, "Peak learning rate.", shown_default=f"{_PRESET}; {INIT_FROM_LR:g} with --init-from",
                              why="continued pretraining re-warms to well below a from-scratch peak, or the model "
                              "forgets what it knew (Ibrahim et al. 2024, Simple and Scalable Strategies to "
                              "Continually Pre-train LLMs)", above=0)
    min_lr_ratio: float = option(0.1, "Final LR as a fraction of the peak.", why="Chinchilla: decay to ~lr/10", at_least=0, at_most=1)
    warmup_steps: int | None = option(
        None, "Linear warm-up steps (capped at 10% of max_steps; 50% with --init-from).",
        shown_default="100; 2/(1-beta2) with --init-from (40 at beta2 0.95)",
        why="short runs still warm up; a warm start has a fresh AdamW whose second moments are noise for "
        "~1/(1-beta2) steps, and its first updates hit trained weights at full size: 2/(1-beta2) is the "
        "untuned warm-up of Ma & Yarats 2021 (On the adequacy of untuned warmup for adaptive optimization)",
        at_least=0)
    schedule: str = option("cosine", "LR schedule after warm-up: cosine or constant.", why="CodeGeeX: cosine", choices=("cosine", "constant"))
    weight_decay: float = option(0.1, "AdamW weight decay on matrices only.", why="CodeGeeX/GPT-3: 0.1")
    beta1: float = option(0.9, "Adam beta1.", why="CodeGeeX: 0.9")
    beta2: float = option(0.95, "Adam beta2.", why="CodeGeeX/GPT-3: 0.95")
    eps: float = option(1e-8, "Adam epsilon.", why="PyTorch default")
    grad_clip: float = option(1.0, "Clip the global gradient norm to this (0 = off).", why="GPT-3/Llama value", at_least=0)


@dataclass
class TrainConfig:
    tokens: Path = option(Path("tokens"), "Tokens folder written by `codegen tokenize`.", positional=True,
                          required=True)
    output: Path = option(Path("run"), "Run folder (checkpoints, metrics, hf export).", short="-o",
                          required=True)
    preset: str = option("tiny", "Model preset: tiny, small, 125m, 350m, 1.3b, codegeex-13b (with --init-from "
                         "only its seq_len and micro_batch_size apply).", why="trains in seconds on a CPU")
    init_from: str | None = option(
        None, "Start from this pretrained causal LM (weights and architecture): a transformers folder (a run's "
        "hf/ continues it on new data), a hub id (its local cache offline), a .gguf file or a folder holding "
        "one. The step counter, optimizer and schedule start fresh.", shown_default="random weights",
        why="a warm start is not a resume: --resume continues a run of this folder")
    seq_len: int | None = option(None, "Tokens per training window.", group=_DATA, shown_default=_PRESET, at_least=2)
    micro_batch_size: int | None = option(None, "Windows per device per forward pass.", group=_DATA,
                                          shown_default=_PRESET, at_least=1)
    grad_accum: int = option(1, "Micro-batches accumulated per optimizer step.", group=_DATA,
                             why="raise it to grow the batch without memory", at_least=1)
    max_steps: int | None = option(None, "Stop after this many optimizer steps.", group=_DATA,
                                   shown_default="set it or --max-tokens", at_least=0)
    max_tokens: int | None = option(None, "Stop once this many training tokens were seen.", group=_DATA,
                                    shown_default="set it or --max-steps", at_least=0)
    seed: int = option(1234, "Seed for the weight init and the data order.", group=_DATA)
    save_every: int = option(500, "Save a checkpoint every N optimizer steps (and at the end).", group=_SAVE,
                             why="a kill loses at most a few minutes of a small run", at_least=1)
    keep_checkpoints: int = option(3, "Keep only the newest N checkpoints (0 = keep all).", group=_SAVE,
                                   why="room to step back without filling the disk", at_least=0)
    eval_every: int = option(500, "Validation loss every N steps (and at the end; 0 = only at the end).",
                             group=_SAVE, why="with each checkpoint", at_least=0)
    eval_batches: int = option(20, "Micro-batches per device used for one validation pass.", group=_SAVE,
                               why="a stable estimate for a few seconds", at_least=1)
    log_every: int = option(10, "Write a metrics.jsonl row and a log line every N steps.", group=_SAVE, at_least=1)
    trackers: list[str] = option([], "Experiment trackers, e.g. tensorboard (pip install 'codegen-cli[tracking]'), "
                                 "wandb, mlflow; one that is not installed is an error.", group=_SAVE)
    run_name: str | None = option(None, "The run's name in the trackers.", group=_SAVE,
                                  shown_default="the run folder's name")
    tracker_project: str = option("codegen", "The trackers' project (W&B project, MLflow experiment, "
                                  "TensorBoard subfolder).", group=_SAVE)
    export: bool = option(True, "Write RUN/hf (safetensors + tokenizer) at the end.", group=_SAVE,
                          why="what eval reads")
    resume: str = option("auto", RESUME_HELP, group=_SAVE, why="a rerun continues where a kill stopped")
    force: bool = option(False, "Resume despite a config/world-size mismatch, or start over in a used RUN.",
                         group=_SAVE)
    mixed_precision: str = option("auto", "auto (bf16 on GPUs that support it, else fp32), no, bf16, fp16.",
                                  group=_PERF, why="fp16 silently runs in fp32 on CPU", choices=PRECISIONS)
    compile: bool = option(False, "torch.compile the model (worth it on GPUs for long runs).", group=_PERF,
                           why="compiling costs minutes; short runs lose")
    activation_checkpointing: bool = option(False, "Recompute activations in backward to save memory.",
                                            group=_PERF)
    peak_tflops: float | None = option(None, "Device peak TFLOP/s for MFU.", group=_PERF,
                                       shown_default="known-GPU table")
    model: ModelConfig = section(ModelConfig, "Model (the preset fills what is unset)")
    optim: OptimConfig = section(OptimConfig, "Optimizer")

    @property
    def tokens_per_step_per_rank(self) -> int:
        return int(self.seq_len or 0) * int(self.micro_batch_size or 0) * self.grad_accum


@dataclass
class ExportConfig:
    checkpoint: Path = option(Path("run"), "A checkpoint folder, or a run folder (its newest checkpoint).",
                              positional=True, required=True)
    output: Path = option(Path("model"), "Output folder (loads with AutoModelForCausalLM offline).", short="-o",
                          required=True)
    tokenizer: Path | None = option(None, "Tokenizer folder.", shown_default="RUN/tokenizer")
    dtype: str = option("float32", "Weights dtype: float32, bfloat16 or float16.", why="what training keeps")
    results: Path | None = option(None, "An eval results folder (codegen eval -o) whose pass@k goes on the model card.")
    license: str | None = option(None, "Licence of the weights on the model card (SPDX id, e.g. apache-2.0).",
                                 shown_default="other", why="the weights follow the training data's terms")
    push_to_hub: str | None = option(None, "Upload the folder to this hub repository (user/name) after export.",
                                     why="needs network and a token (`hf auth login` or HF_TOKEN)")
    private: bool = option(False, "Create the hub repository as private (with --push-to-hub).")


def resolve(cfg: TrainConfig) -> TrainConfig:
    """Fill preset defaults and check every rule; all problems are reported in one UsageError."""
    problems: list[str] = []
    try:
        preset = get_preset(cfg.preset)
    except UsageError as exc:  # still check the rest (against the tiny preset's sizes) and report it all
        problems.append(str(exc))
        preset = get_preset("tiny")
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model), optim=dataclasses.replace(cfg.optim))
    if cfg.init_from is None:  # a pretrained model brings its own shape
        for key, value in preset["model"].items():
            if getattr(cfg.model, key) is None:
                setattr(cfg.model, key, value)
    if cfg.seq_len is None:
        cfg.seq_len = preset["seq_len"]
    if cfg.micro_batch_size is None:
        cfg.micro_batch_size = preset["micro_batch_size"]
    if cfg.optim.lr is None:
        cfg.optim.lr = preset["lr"] if cfg.init_from is None else INIT_FROM_LR
    if cfg.optim.warmup_steps is None:
        cfg.optim.warmup_steps = DEFAULT_WARMUP if cfg.init_from is None else warm_start_warmup(cfg.optim.beta2)
    raise_problems(problems + _problems(cfg))
    return cfg


def warm_start_warmup(beta2: float) -> int:
    """2 / (1 - beta2) steps: the rule-of-thumb warm-up of Ma & Yarats (2021) for Adam, about twice the
    number of steps its second-moment average needs to forget its zero start."""
    return math.ceil(2.0 / max(1e-6, 1.0 - beta2))


def _problems(cfg: TrainConfig) -> list[str]:
    """The cross-field rules (each value's own bounds are declared on its field: `value_problems`)."""
    m = cfg.model
    problems = value_problems(cfg)
    if cfg.max_steps is None and cfg.max_tokens is None:
        problems.append("set --max-steps or --max-tokens")
    if m.hidden_size and m.num_heads and m.hidden_size % m.num_heads:
        problems.append(f"--hidden-size {m.hidden_size} is not divisible by --num-heads {m.num_heads}")
    if m.num_heads and m.num_kv_heads and m.num_heads % m.num_kv_heads:
        problems.append(f"--num-heads {m.num_heads} is not a multiple of --num-kv-heads {m.num_kv_heads}")
    try:
        check_trackers(list(cfg.trackers))
    except UsageError as exc:
        problems.append(str(exc))
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
                     "eval_every", "eval_batches", "log_every", "trackers", "run_name", "tracker_project", "export", "resume", "force",
                     "compile", "activation_checkpointing", "peak_tflops")


def identity(cfg: TrainConfig) -> dict[str, Any]:
    """The settings that define the loss curve; a resume with other values is a mismatch (exit 4)."""
    data = to_dict(cfg)
    for key in NON_IDENTITY_KEYS:
        data.pop(key, None)
    if data.get("init_from") is None:  # added later: absent, so earlier runs keep their hash and resume
        data.pop("init_from", None)
    return data
