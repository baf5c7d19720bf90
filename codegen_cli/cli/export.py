"""`codegen export CKPT -o DIR`: its help text and its report (the options come from ExportConfig)."""

from __future__ import annotations

from typing import Any

from codegen_cli.cli._common import examples
from codegen_cli.output import log

DOC = """Export a training checkpoint as a folder that AutoModelForCausalLM/AutoTokenizer load offline.
""" + examples(
    "codegen export work/run -o work/model",
    "codegen export work/run/checkpoints/step-00001000 -o work/model-1000 --dtype bfloat16",
    "codegen export work/run -o work/model --results work/results --license apache-2.0 --push-to-hub me/codegen-tiny",
)


def render(summary: Any) -> None:
    log(f"exported step {summary.step} ({summary.parameters:,} parameters, {summary.dtype}) "
        f"from {summary.checkpoint} to {summary.export_dir}")
    if summary.pushed_to:
        log(f"pushed to {summary.pushed_to}")
