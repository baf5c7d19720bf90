"""`codegen run RECIPE.toml`: parse options into a RunConfig, run the pipeline, render the outcome."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from codegen_cli.cli._common import JsonOpt, SetOpt, engine_errors, examples
from codegen_cli.errors import EXIT_CODES_HELP
from codegen_cli.output import console, emit_json


def run_command(
    recipe: Annotated[Path, typer.Argument(help="Recipe file, e.g. pipelines/smoke.toml.")],
    start: Annotated[Optional[str], typer.Option("--from", help="First stage to run.")] = None,
    stop: Annotated[Optional[str], typer.Option("--until", help="Last stage to run.")] = None,
    force: Annotated[Optional[list[str]], typer.Option(
        "--force", help="Rerun this stage even if unchanged ('all' for every stage; repeatable).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print each stage's command; run nothing.")] = False,
    set_: SetOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run the stages of a recipe in order: collect -> tokenize -> train -> eval.

    Each stage reads the previous stage's folder under the recipe's workdir. A stage whose inputs,
    options and codegen version are unchanged since its last successful run is skipped; a stage that
    failed or was killed resumes from its own progress when the command is run again.
    """
    with engine_errors():
        from codegen_cli.pipeline.runner import RunConfig, run_pipeline

        cfg = RunConfig(recipe=recipe, start=start, stop=stop, force=list(force or []),
                        overrides=list(set_ or []), dry_run=dry_run)
        summary = run_pipeline(cfg)
    _render(summary)
    if json_out:
        emit_json(summary.to_dict())


run_command.__doc__ = inspect.cleandoc(run_command.__doc__ or "") + examples(
    "codegen run pipelines/smoke.toml",
    "codegen run pipelines/smoke.toml --from train --set train.max_steps=50",
    "codegen run pipelines/codegeex-13b.toml --dry-run",
) + "\n" + EXIT_CODES_HELP


def _render_stage(outcome: Any) -> None:
    """Each stage's own report (kept/dropped table, token counts, losses, the pass@k table)."""
    from codegen_cli.cli import collect, tokenize, train
    from codegen_cli.cli import eval as eval_cmd

    result = outcome.result
    if result is None:
        return
    renderers = {"collect": collect._render, "tokenize": tokenize._render, "train": train._render}
    if outcome.stage in renderers:
        renderers[outcome.stage](result)
        return
    eval_cmd.render_run(result)


def _render(summary: Any) -> None:
    from rich.table import Table

    for outcome in summary.stages:
        _render_stage(outcome)
    table = Table(title=f"codegen run {summary.recipe} (workdir {summary.workdir})")
    for column in ("stage", "status", "seconds", "output"):
        table.add_column(column)
    for outcome in summary.stages:
        table.add_row(outcome.stage, outcome.status, f"{outcome.seconds:.1f}", outcome.output)
    console().print(table)
