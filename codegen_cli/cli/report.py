"""`codegen report DIR -o report.html`: its help text and its report (the options come from ReportConfig)."""

from __future__ import annotations

from typing import Any

from codegen_cli.cli._common import examples
from codegen_cli.output import log

DOC = """Draw a workdir's or a stage folder's results as ONE self-contained HTML page (opens from disk).

Loss and validation-loss curves, learning rate and tokens/s (run/), the corpus language mix and drop
reasons (corpus/), bytes per token per language (tokens/), pass@k per language, the translation matrix as
a heatmap and a filterable table of every problem with its samples' code, status and output (results/).
`codegen run` writes WORKDIR/report.html at the end. See docs/report.md.
""" + examples(
    "codegen report work/smoke",
    "codegen report work/smoke/results -o results.html",
)


def render(summary: Any) -> None:
    log(f"report: {summary.output} ({summary.bytes / 1e3:,.0f} KB, {summary.charts} charts, "
        f"{summary.problems} problems, {len(summary.stages)} stage folders, {summary.seconds:.1f}s)")
