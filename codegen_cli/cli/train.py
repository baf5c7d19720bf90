"""`codegen train TOKENS -o RUN`: parse options into a TrainConfig, call the engine, render the summary."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from codegen_cli.cli._common import JsonOpt, OutputOpt, SetOpt, engine_errors, examples
from codegen_cli.config import apply_overrides, load_toml, to_dict
from codegen_cli.errors import EXIT_CODES_HELP, UsageError
from codegen_cli.output import console, emit_json

IntOpt = int | None


def _opt(flag: str, text: str) -> Any:
    return typer.Option(flag, help=text, show_default=False)


def train_command(
    tokens: Annotated[Path, typer.Argument(help="Tokens folder written by `codegen tokenize`.")],
    output: OutputOpt,
    config: Annotated[Path | None, _opt("--config", "TOML file of train settings (a \\[train] table, or keys at the top level).")] = None,
    preset: Annotated[str | None, _opt("--preset", "Model preset: tiny, small, 125m, 350m, 1.3b, codegeex-13b.")] = None,
    max_steps: Annotated[IntOpt, _opt("--max-steps", "Stop after this many optimizer steps.")] = None,
    max_tokens: Annotated[IntOpt, _opt("--max-tokens", "Stop once this many training tokens were seen.")] = None,
    seq_len: Annotated[IntOpt, _opt("--seq-len", "Tokens per training window (default: preset).")] = None,
    micro_batch_size: Annotated[IntOpt, _opt("--micro-batch-size", "Windows per device per forward pass.")] = None,
    grad_accum: Annotated[IntOpt, _opt("--grad-accum", "Micro-batches per optimizer step.")] = None,
    lr: Annotated[float | None, _opt("--lr", "Peak learning rate (default: preset).")] = None,
    seed: Annotated[IntOpt, _opt("--seed", "Seed for weight init and data order.")] = None,
    save_every: Annotated[IntOpt, _opt("--save-every", "Checkpoint every N steps.")] = None,
    eval_every: Annotated[IntOpt, _opt("--eval-every", "Validation every N steps (0: only at the end).")] = None,
    log_every: Annotated[IntOpt, _opt("--log-every", "Metrics row and log line every N steps [default: 10].")] = None,
    keep_checkpoints: Annotated[IntOpt, _opt("--keep-checkpoints", "Keep the newest N checkpoints [default: 3].")] = None,
    eval_batches: Annotated[IntOpt, _opt("--eval-batches", "Micro-batches per process per validation.")] = None,
    mixed_precision: Annotated[str | None, _opt("--mixed-precision", "auto, no, bf16 or fp16 [default: auto].")] = None,
    compile_: Annotated[bool | None, _opt("--compile/--no-compile", "torch.compile the model.")] = None,
    activation_checkpointing: Annotated[bool | None, _opt(
        "--activation-checkpointing/--no-activation-checkpointing", "Recompute activations to save memory.")] = None,
    peak_tflops: Annotated[float | None, _opt("--peak-tflops", "Device peak TFLOP/s for MFU.")] = None,
    trackers: Annotated[str | None, _opt("--trackers", "Accelerate trackers, e.g. tensorboard,wandb.")] = None,
    export: Annotated[bool | None, _opt("--export/--no-export", "Write RUN/hf at the end [default: on].")] = None,
    set_: SetOpt = None,
    resume: Annotated[str, typer.Option("--resume", help="auto | never | PATH of a checkpoint.")] = "auto",
    force: Annotated[bool | None, _opt("--force/--no-force", "Resume despite a mismatch, or start over in a used RUN.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Pretrain a causal code LM on a tokens folder with Accelerate (one CPU .. many GPUs).

    Settings come from the preset, then --config, then --set, then the flags below (every top-level
    key of the config is a flag; model.* and optim.* keys go through --set, except --lr). Run under
    `accelerate launch --config_file pipelines/accelerate/<name>.yaml -m codegen_cli train ...` for
    multi-GPU/multi-node (DDP, FSDP, DeepSpeed). Writes RUN/metrics.jsonl, RUN/checkpoints/ and RUN/hf.
    """
    flags = {"preset": preset, "max_steps": max_steps, "max_tokens": max_tokens, "seq_len": seq_len,
             "micro_batch_size": micro_batch_size, "grad_accum": grad_accum, "seed": seed,
             "save_every": save_every, "eval_every": eval_every, "log_every": log_every,
             "keep_checkpoints": keep_checkpoints, "eval_batches": eval_batches, "mixed_precision": mixed_precision,
             "compile": compile_, "activation_checkpointing": activation_checkpointing, "peak_tflops": peak_tflops,
             "trackers": trackers.split(",") if trackers else None, "export": export, "force": force}
    with engine_errors():
        from codegen_cli.train.config import load_train_config

        mapping = _file_mapping(config)
        apply_overrides(mapping, list(set_ or []))
        mapping.update({k: v for k, v in flags.items() if v is not None})
        if lr is not None:
            mapping.setdefault("optim", {})["lr"] = lr
        mapping.update(tokens=str(tokens), output=str(output), resume=resume)
        cfg = load_train_config(mapping, where=str(config) if config else "train")

        from codegen_cli.train.loop import train

        summary = train(cfg)
    if os.environ.get("RANK", "0") != "0":  # under a launcher only the main process reports
        return
    _render(summary)
    if json_out:
        emit_json(to_dict(summary))


train_command.__doc__ = inspect.cleandoc(train_command.__doc__ or "") + examples(
    "codegen train work/tokens -o work/run --preset tiny --max-steps 200",
    "codegen train work/tokens -o work/run --config my-train.toml --set optim.weight_decay=0.05",
    "accelerate launch --config_file pipelines/accelerate/multi_gpu.yaml -m codegen_cli train work/tokens "
    "-o work/run --preset 350m --max-tokens 20000000000",
) + "\n" + EXIT_CODES_HELP


def _file_mapping(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    data = load_toml(path)
    if isinstance(data.get("train"), dict):
        extra = sorted(set(data) - {"train", "workdir", "name", "description", "launch"})
        if extra:
            raise UsageError(f"{path}: unexpected top-level keys {extra} beside the [train] table")
        return dict(data["train"])
    return data


def _render(summary: Any) -> None:
    from rich.table import Table

    title = "codegen train (already complete: nothing trained)" if summary.already_complete else "codegen train"
    table = Table(title=title, show_header=False, box=None)
    val = f"{summary.final_val_loss:.4f} (ppl {summary.val_perplexity:.2f})" if summary.final_val_loss else "n/a"
    mfu = f"{100 * summary.mfu:.1f}%" if summary.mfu is not None else "n/a"
    rows = [
        ("run", summary.run_dir), ("steps", f"{summary.steps:,}"), ("tokens", f"{summary.tokens:,}"),
        ("parameters", f"{summary.parameters:,}"), ("processes", str(summary.world_size)),
        ("train loss", f"{summary.final_train_loss:.4f}" if summary.final_train_loss is not None else "n/a"),
        ("val loss", val), ("tokens/s", f"{summary.tokens_per_s:,.0f}" if summary.tokens_per_s else "n/a"),
        ("MFU", mfu), ("export", summary.export_dir or "-"),
    ]
    for key, value in rows:
        table.add_row(key, value)
    console().print(table)
