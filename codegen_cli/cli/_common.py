"""The exception -> exit code table for every command, and the help text's Examples block.

Commands import the engine lazily (stage records name their entry functions by import path), so
`codegen --help` stays fast: torch and transformers take seconds to import.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from typing import NoReturn

import typer

from codegen_cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, CodegenError
from codegen_cli.output import console


def examples(*lines: str) -> str:
    """Format an Examples block for a command's help (Typer keeps paragraphs with \\b)."""
    body = "\n".join(f"  $ {line}" for line in lines)
    return f"\n\nExamples:\n\n\b\n{body}\n"


def fail(message: str, code: int) -> NoReturn:
    from rich.markup import escape

    # Escape: messages quote user text such as `[train]`, which Rich would take for markup and drop.
    console().print(f"[bold red]error:[/bold red] {escape(message)}", markup=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def engine_errors() -> Iterator[None]:
    """Map engine exceptions to one red line on stderr and the DESIGN.md §2 exit code.

    Tracebacks only with CODEGEN_DEBUG=1: users get the fix, developers get the stack. SIGTERM means what
    Ctrl-C means in every command: a stage that works in units saves and exits 130 (its own StopFlag takes
    the signal meanwhile); anywhere else the command stops with the same exit 130 and message, instead of
    dying with 143 and no word (every output file is written atomically, so nothing is left half-written).
    """
    try:
        with terminate_as_interrupt():
            yield
    except typer.Exit:
        raise
    except CodegenError as exc:
        if os.environ.get("CODEGEN_DEBUG"):
            traceback.print_exc(file=sys.stderr)
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted; rerun the same command to resume", EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - last line of defence, still one line + exit 1
        if os.environ.get("CODEGEN_DEBUG"):
            traceback.print_exc(file=sys.stderr)
        fail(f"{type(exc).__name__}: {exc} (set CODEGEN_DEBUG=1 for the traceback)", EXIT_FAILED)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt while the command runs (main thread only: where signals land)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
