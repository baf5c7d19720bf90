"""`codegen export` (not built yet)."""

from __future__ import annotations

from codegen_cli.cli._common import fail
from codegen_cli.errors import EXIT_USAGE


def export_command() -> None:
    """Not built yet: see the project's open issues."""
    fail("`codegen export` is not built yet", EXIT_USAGE)
