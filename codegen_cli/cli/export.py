"""`codegen export CKPT -o DIR`: a Hugging Face folder (safetensors + tokenizer) from a checkpoint."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated

import typer

from codegen_cli.cli._common import JsonOpt, OutputOpt, engine_errors, examples
from codegen_cli.config import to_dict
from codegen_cli.errors import EXIT_CODES_HELP
from codegen_cli.output import emit_json, log


def export_command(
    checkpoint: Annotated[Path, typer.Argument(help="A checkpoint folder, or a run folder (newest checkpoint).")],
    output: OutputOpt,
    tokenizer: Annotated[Path | None, typer.Option("--tokenizer", help="Tokenizer folder (default: RUN/tokenizer).")] = None,
    dtype: Annotated[str, typer.Option("--dtype", help="Weights dtype: float32, bfloat16 or float16.")] = "float32",
    json_out: JsonOpt = False,
) -> None:
    """Export a training checkpoint as a folder that AutoModelForCausalLM/AutoTokenizer load offline."""
    with engine_errors():
        from codegen_cli.train.export import ExportConfig, export_checkpoint

        summary = export_checkpoint(ExportConfig(checkpoint, output, tokenizer, dtype))
    log(f"exported step {summary.step} ({summary.parameters:,} parameters, {summary.dtype}) "
        f"from {summary.checkpoint} to {summary.export_dir}")
    if json_out:
        emit_json(to_dict(summary))


export_command.__doc__ = inspect.cleandoc(export_command.__doc__ or "") + examples(
    "codegen export work/run -o work/model",
    "codegen export work/run/checkpoints/step-00001000 -o work/model-1000 --dtype bfloat16",
) + "\n" + EXIT_CODES_HELP
