"""`codegen run RECIPE.toml`: its help text and its report (the options come from RunConfig)."""

from __future__ import annotations

from typing import Any

from codegen_cli.cli._common import examples
from codegen_cli.output import console

DOC = """Run the stages of a recipe in order: collect -> tokenize -> train -> eval.

Each stage reads the previous stage's folder under the recipe's workdir. A stage whose inputs,
options and codegen version are unchanged since its last successful run is skipped; a stage that
failed or was killed resumes from its own progress when the command is run again. --dry-run prints
each stage's command line, which runs the same stage by hand. See docs/run.md.
""" + examples(
    "codegen run pipelines/smoke.toml",
    "codegen run pipelines/smoke.toml --from train --set train.max_steps=50",
    "codegen run pipelines/codegeex-13b.toml --dry-run",
)


def render(summary: Any) -> None:
    """Each stage's own report (kept/dropped table, token counts, losses, pass@k), then the stage table."""
    from rich.table import Table

    from codegen_cli.cli.commands import COMMANDS

    for outcome in summary.stages:
        if outcome.result is not None:
            COMMANDS[outcome.stage].render(outcome.result)
    table = Table(title=f"codegen run {summary.recipe} (workdir {summary.workdir})")
    for column in ("stage", "status", "seconds", "output"):
        table.add_column(column)
    for outcome in summary.stages:
        table.add_row(outcome.stage, outcome.status, f"{outcome.seconds:.1f}", outcome.output)
    console().print(table)
