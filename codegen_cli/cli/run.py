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


def render_stage(outcome: Any) -> None:
    """A stage's own report (kept/dropped table, token counts, losses, pass@k), printed as it ends."""
    from codegen_cli.cli.commands import COMMANDS

    from codegen_cli.pipeline.stages import step_record

    if outcome.result is not None:
        COMMANDS[step_record(outcome.stage).name].render(outcome.result)


def body(cfg: Any, json_out: bool) -> None:
    """Run the pipeline, printing each stage's table when that stage ends, then the stage table."""
    from codegen_cli.cli._common import fail
    from codegen_cli.errors import CodegenError
    from codegen_cli.output import emit_json
    from codegen_cli.pipeline.runner import run_pipeline

    summary = run_pipeline(cfg, on_stage_done=render_stage)
    render(summary)
    if json_out:
        emit_json(summary.to_dict())
    problem = summary.failure()
    if problem is not None:
        fail(str(problem), problem.exit_code if isinstance(problem, CodegenError) else 1)


def render(summary: Any) -> None:
    """The table of stages (each stage's own table was printed when it ended)."""
    from rich.table import Table

    table = Table(title=f"codegen run {summary.recipe} (workdir {summary.workdir})")
    for column in ("stage", "status", "seconds", "output"):
        table.add_column(column)
    for outcome in summary.stages:
        table.add_row(outcome.stage, outcome.status, f"{outcome.seconds:.1f}", outcome.output)
    console().print(table)
    if getattr(summary, "comparison", None):
        from codegen_cli.report.compare import format_lines

        console().print("[bold]before -> after[/bold] (the starting model vs the trained one, same problems)")
        for line in format_lines(summary.comparison):
            console().print(f"  {line}")
