"""results.jsonl: append one row per sample as soon as it is known; survive kill -9 at any moment.

Each row is written with one write() and fsync'ed, so after a kill only the LAST line can be torn; reading
drops (and truncates away) such a tail, and keeps the first row of any (task_id, sample_idx) seen twice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from codegen_cli.atomic import atomic_write_bytes


class ResultsStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = None

    def load(self) -> dict[tuple[str, int], dict[str, Any]]:
        """Rows by (task_id, sample_idx); repairs a torn last line left by a kill."""
        if not self.path.exists():
            return {}
        data = self.path.read_bytes()
        good_end = data.rfind(b"\n") + 1
        if good_end < len(data):
            with self.path.open("r+b") as handle:  # drop the torn tail so appends start on a fresh line
                handle.truncate(good_end)
        rows: dict[tuple[str, int], dict[str, Any]] = {}
        for line in data[:good_end].splitlines():
            try:
                row = json.loads(line)
                key = (row["task_id"], int(row["sample_idx"]))
            except (ValueError, KeyError, TypeError):
                continue  # a line torn inside (never written by us otherwise): rerun that sample
            rows.setdefault(key, row)
        return rows

    def append(self, row: dict[str, Any]) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("ab")
        self._handle.write((json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def drop(self, keys: set[tuple[str, int]]) -> None:
        """Remove the rows of `keys` (results to be scored again), rewriting the file atomically."""
        if not keys or not self.path.exists():
            return
        self.close()
        kept = []
        for line in self.path.read_bytes().splitlines(keepends=True):
            try:
                row = json.loads(line)
                key = (row["task_id"], int(row["sample_idx"]))
            except (ValueError, KeyError, TypeError):
                continue
            if key not in keys:
                kept.append(line)
        atomic_write_bytes(self.path, b"".join(kept))

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
