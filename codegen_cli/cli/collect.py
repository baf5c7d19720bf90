"""`codegen collect` (not built yet)."""

from __future__ import annotations

from codegen_cli.cli._common import fail
from codegen_cli.errors import EXIT_USAGE


def collect_command() -> None:
    """Not built yet: see the project's open issues."""
    fail("`codegen collect` is not built yet", EXIT_USAGE)
