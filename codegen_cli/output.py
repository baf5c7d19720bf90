"""The one output sink: stdout carries only the `--json` object; everything human goes to stderr.

Progress bars appear only when stderr is a terminal. Elsewhere (CI logs, pipes) a plain line is written
every few seconds so a long job still shows it is alive without flooding the log with bar redraws.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

_console: Console | None = None
# The console of the live progress bar, while one is shown: Rich swaps sys.stderr for a proxy during a live
# display, so a console made then would write through the proxy and glue lines onto a stale bar.
_live_console: Console | None = None

# Seconds between plain progress lines when not on a terminal (CODEGEN_LOG_INTERVAL overrides).
DEFAULT_LOG_INTERVAL = 10.0


def console() -> Console:
    """The shared stderr console (created lazily so tests can swap sys.stderr)."""
    global _console
    if _live_console is not None:
        return _live_console
    if _console is None or _console.file is not sys.stderr:
        _console = Console(stderr=True, highlight=False, soft_wrap=True)
    return _console


def is_interactive() -> bool:
    return sys.stderr.isatty() and os.environ.get("CODEGEN_NO_PROGRESS", "") in ("", "0")


def log(message: str) -> None:
    """A human line on stderr (Rich markup allowed)."""
    console().print(message)


def warn(message: str) -> None:
    console().print(f"[yellow]warning:[/yellow] {message}")


def emit_json(obj: Any) -> None:
    """Print ONE JSON object on stdout and nothing else: the contract for shell pipelines."""
    sys.stdout.write(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


class ProgressTracker:
    """What a long step reports to; renders as a Rich bar on a TTY or as periodic plain lines."""

    def __init__(self, description: str, total: float | None, unit: str, interval: float) -> None:
        self.description = description
        self.total = total
        self.unit = unit
        self.completed = 0.0
        self.fields: dict[str, Any] = {}
        self._interval = interval
        self._start = time.monotonic()
        self._last_line = self._start
        self._progress: Progress | None = None
        self._task: Any = None
        self._printed: tuple[Any, ...] | None = None  # the state the last plain line showed

    def _attach(self, progress: Progress) -> None:
        self._progress = progress
        self._task = progress.add_task(self.description, total=self.total, info="")

    def update(self, *, total: float | None = None, description: str | None = None, **fields: Any) -> None:
        if total is not None:
            self.total = total
        if description is not None:
            self.description = description
        self.fields.update(fields)
        if self._progress is not None:
            self._progress.update(self._task, total=self.total, description=self.description,
                                  info=self._info())

    def advance(self, amount: float = 1, **fields: Any) -> None:
        self.completed += amount
        self.fields.update(fields)
        if self._progress is not None:
            self._progress.update(self._task, advance=amount, info=self._info())
            return
        now = time.monotonic()
        if now - self._last_line >= self._interval:
            self._last_line = now
            self._plain_line()

    def tick(self, **fields: Any) -> None:
        """New field values without finished units (e.g. tokens while a batch runs): a plain line when the
        interval has passed, so no phase of a long step is silent."""
        self.fields.update(fields)
        if self._progress is not None:
            self._progress.update(self._task, info=self._info())
            return
        now = time.monotonic()
        if now - self._last_line >= self._interval:
            self._last_line = now
            self._plain_line()

    def _info(self) -> str:
        return "  ".join(f"{key}={value}" for key, value in self.fields.items())

    def _state(self) -> tuple[Any, ...]:
        return self.completed, self.total, self.description, tuple(self.fields.items())

    def _plain_line(self) -> None:
        self._printed = self._state()
        elapsed = time.monotonic() - self._start
        done = f"{self.completed:g}" + (f"/{self.total:g}" if self.total else "")
        info = self._info()
        print(f"[{self.description}] {done} {self.unit} in {elapsed:.0f}s {info}".rstrip(),
              file=sys.stderr, flush=True)

    def finish(self) -> None:
        """The closing plain line, unless the last line printed already showed this very state."""
        if self._progress is None and self._printed != self._state():
            self._plain_line()


@contextlib.contextmanager
def progress(description: str, total: float | None = None, unit: str = "items",
             interval: float | None = None) -> Iterator[ProgressTracker]:
    """Context manager around one long step: `with progress("collect", total=n) as bar: bar.advance()`.

    `interval`: seconds between plain lines (default DEFAULT_LOG_INTERVAL; CODEGEN_LOG_INTERVAL wins)."""
    interval = float(os.environ.get("CODEGEN_LOG_INTERVAL", interval or DEFAULT_LOG_INTERVAL))
    tracker = ProgressTracker(description, total, unit, interval)
    if not is_interactive():
        try:
            yield tracker
        finally:
            tracker.finish()
        return
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
    ]
    global _live_console
    with Progress(*columns, console=console(), transient=False) as bar:
        tracker._attach(bar)
        _live_console = bar.console
        try:
            yield tracker
        finally:
            _live_console = None


@contextlib.contextmanager
def heartbeat(description: str, detail: Callable[[], str] | None = None) -> Iterator[None]:
    """Plain `[description] still running after Ns detail` lines every log interval while a step that
    reports no progress of its own runs (BPE merges in Rust, a one-off tool-cache build), so a CI log is
    never silent for long. Nothing on a terminal, where such steps draw their own progress."""
    if is_interactive():
        yield
        return
    interval = float(os.environ.get("CODEGEN_LOG_INTERVAL", DEFAULT_LOG_INTERVAL))
    start = time.monotonic()
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            extra = f" ({detail()})" if detail is not None else ""
            print(f"[{description}] still running after {time.monotonic() - start:.0f}s{extra}",
                  file=sys.stderr, flush=True)

    thread = threading.Thread(target=beat, name=f"heartbeat: {description}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
