"""The Rich table of a translation run on stderr: sources as rows, targets as columns, pass@k per cell."""

from __future__ import annotations

from typing import Any

from codegen_cli.evaluate.translation.prompt import pair_name


def _cell(summary: dict[str, Any], source: str, target: str) -> str:
    pair = summary["pairs"].get(pair_name(source, target))
    if pair is None:
        return "-" if source == target else ""
    values = [pair["pass_at_k"].get(k) for k in summary["matrix"]]
    return " / ".join("n/a" if v is None else f"{100 * v:.1f}" for v in values)


def render_matrix(summary: dict[str, Any]) -> None:
    """Print the source x target pass@k matrix (percent) of a `translate()` summary."""
    from rich.table import Table

    from codegen_cli.output import console

    ks = " / ".join(summary["matrix"]) or "pass@k"
    table = Table(title=f"translation {ks} (%)  rows: source, columns: target")
    table.add_column("source \\ target", style="bold")
    for target in summary["targets"]:
        table.add_column(target, justify="right")
    for source in summary["sources"]:
        table.add_row(source, *[_cell(summary, source, target) for target in summary["targets"]])
    console().print(table)
    if summary.get("mean_pass_at_k"):
        mean = ", ".join(f"{k} {100 * v:.1f}%" for k, v in summary["mean_pass_at_k"].items())
        console().print(f"mean over {len(summary['pairs'])} pairs: {mean}; per-pair folders in {summary['output']}")
