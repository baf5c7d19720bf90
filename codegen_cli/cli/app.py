"""The `codegen` command: only a registry of subcommands (each lives in its own module)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from codegen_cli import __version__
from codegen_cli.cli import collect, doctor, export, generate, run, tokenize, train
from codegen_cli.cli import eval as eval_cmd
from codegen_cli.errors import EXIT_CODES_HELP

app = typer.Typer(
    name="codegen",
    help=(
        "Reproduce the CodeGeeX recipe end to end: collect -> tokenize -> train -> eval.\n\n"
        + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"codegen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """Reproduce the CodeGeeX recipe end to end."""


app.command("collect")(collect.collect_command)
app.command("tokenize")(tokenize.tokenize_command)
app.command("train")(train.train_command)
app.command("export")(export.export_command)
app.command("eval")(eval_cmd.eval_command)
app.command("generate")(generate.generate_command)
app.command("run")(run.run_command)
app.command("doctor")(doctor.doctor_command)


def main() -> None:
    app()
