"""The `codegen` command: only a registry; every command is built from its stage record."""

from __future__ import annotations

from typing import Annotated

import typer

from codegen_cli import __version__
from codegen_cli.cli.commands import COMMANDS
from codegen_cli.cli.stage_command import stage_command
from codegen_cli.errors import EXIT_CODES_HELP
from codegen_cli.stages import STAGES

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
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """Reproduce the CodeGeeX recipe end to end."""


for _name, _module in COMMANDS.items():
    app.command(_name)(stage_command(STAGES[_name], doc=_module.DOC, render=_module.render,
                                     body=getattr(_module, "body", None)))


def main() -> None:
    app()
