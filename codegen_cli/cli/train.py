"""`codegen train TOKENS -o RUN`: its help text and its report (the options come from TrainConfig)."""

from __future__ import annotations

from typing import Any

from codegen_cli.cli._common import examples
from codegen_cli.output import console

DOC = """Pretrain a causal code LM on a tokens folder with Accelerate (one CPU .. many GPUs).

Settings come from the preset, then --config, then --set, then the flags (every key of the config is a
flag, model and optimizer keys included: --num-layers, --lr, --weight-decay). Run under
`accelerate launch --config_file pipelines/accelerate/<name>.yaml -m codegen_cli train ...` for
multi-GPU/multi-node (DDP, FSDP, DeepSpeed). Writes RUN/metrics.jsonl, RUN/checkpoints/ and RUN/hf.
""" + examples(
    "codegen train work/tokens -o work/run --preset tiny --max-steps 200",
    "codegen train work/tokens -o work/run --config my-train.toml --weight-decay 0.05",
    "codegen train work/tokens-smol -o work/run-smol --init-from HuggingFaceTB/SmolLM2-135M --max-steps 200",
    "accelerate launch --config_file pipelines/accelerate/multi_gpu.yaml -m codegen_cli train work/tokens "
    "-o work/run --preset 350m --max-tokens 20000000000",
)


def render(summary: Any) -> None:
    from rich.table import Table

    title = "codegen train (already complete: nothing trained)" if summary.already_complete else "codegen train"
    table = Table(title=title, show_header=False, box=None)
    val = f"{summary.final_val_loss:.4f} (ppl {summary.val_perplexity:.2f})" if summary.final_val_loss else "n/a"
    mfu = f"{100 * summary.mfu:.1f}%" if summary.mfu is not None else "n/a"
    rows = [
        ("run", summary.run_dir), ("steps", f"{summary.steps:,}"), ("tokens", f"{summary.tokens:,}"),
        ("parameters", f"{summary.parameters:,}"), ("processes", str(summary.world_size)),
        ("train loss", f"{summary.final_train_loss:.4f}" if summary.final_train_loss is not None else "n/a"),
        ("val loss", val),
        *([("start val loss", f"{summary.initial_val_loss:.4f} ({summary.init_from}, before step 1)")]
          if getattr(summary, "initial_val_loss", None) is not None else []),
        ("tokens/s", f"{summary.tokens_per_s:,.0f}" if summary.tokens_per_s else "n/a"),
        ("MFU", mfu), ("export", summary.export_dir or "-"),
    ]
    for key, value in rows:
        table.add_row(key, value)
    console().print(table)
