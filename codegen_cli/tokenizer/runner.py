"""Run the encode work units on the shared executor (codegen_cli/work_units.py).

Each worker encodes whole units single-threaded (TOKENIZERS_PARALLELISM=false), reading its rows from
parquet itself, so the parent only hands out unit numbers and collects the small markers. Spawned (not
forked) workers: the parent may already run tokenizers' and pyarrow's thread pools, which a fork copies
in a broken state.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from codegen_cli.tokenizer.corpus import WorkUnit
from codegen_cli.tokenizer.encode import EncodeJob, encode_unit, marker_path
from codegen_cli.work_units import run_units


class EncodeWork:
    """The tokenize stage's units for `run_units`: a unit is done when its marker file exists."""

    def __init__(self, job: EncodeJob) -> None:
        self.job = job

    def finished(self, unit: WorkUnit) -> dict[str, Any] | None:
        path = marker_path(self.job.parts_dir, unit.index)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # absent (or unreadable: redo the unit, which rewrites it)

    def run(self, unit: WorkUnit) -> dict[str, Any]:
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
        return encode_unit(self.job, unit)


def encode_units(job: EncodeJob, units: list[WorkUnit], workers: int,
                 on_done: Callable[[dict[str, Any], bool], None]) -> int:
    """Encode every unit without a marker, calling `on_done(marker, resumed)` for each; returns how many ran."""
    return run_units(units, EncodeWork(job), on_done=on_done, workers=min(workers, max(1, len(units))),
                     start="spawn", what="work units")
