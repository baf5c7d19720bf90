"""SIGINT/SIGTERM as a flag: a long job finishes its current unit, saves, and exits 130 (DESIGN.md §2).

Shared by every stage that works in units (training steps, collect chunks, tokenize work units, eval
programs), so the same signal means the same thing everywhere.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from codegen_cli.output import warn


class StopFlag:
    """SIGINT/SIGTERM ask the job to finish its unit, save and exit 130; a second SIGINT aborts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        warn(f"{signal.Signals(signum).name} received: finishing the current unit of work, then saving")

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
