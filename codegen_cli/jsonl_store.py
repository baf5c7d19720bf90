"""The one JSONL row store (samples, results, translation pairs, training metrics) and the per-folder writer lock.

A store is one append-only file of JSON rows, keyed by (task_id, sample_idx) unless told otherwise:
- append: the rows of one call go out in ONE write() under an exclusive flock (several processes of a
  multi-GPU run may append to the same file), then fsync when `fsync=True` (the default: a kill -9 or a
  power cut loses at most the call being written);
- a kill can therefore only tear the LAST line: readers ignore a line without its newline, and `repair()`
  (run by one process before appending) truncates it away, so the next append starts on a fresh line;
- a complete line that is not a row is bad input (exit 3, naming file and line), or is skipped where the
  caller can redo it (`bad_rows="skip"`: a results row is recomputed);
- the first row of a key wins; `merge()` rewrites the file atomically with new rows added and refuses
  (exit 4) a different completion for a key already there, since results made from it would no longer match.

`writer_lock(folder)` makes a second codegen process writing the same output folder stop at once with
exit 4 naming the folder, instead of interleaving rows. It is an flock on the folder itself (no lock file
left behind), released when the process ends however it ends; nested use in one process is allowed. The
processes of one multi-process launch (WORLD_SIZE > 1) are one writer: they are not locked (their ranks
append to one file by design, and a lock refused on one rank would leave the others at a barrier).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from codegen_cli.atomic import atomic_write_text
from codegen_cli.errors import InputDataError, MismatchError

Key = tuple[str, int]
Row = dict[str, Any]


def row_key(row: Row) -> Key:
    return row["task_id"], int(row["sample_idx"])


def dumps(row: Row) -> str:
    """One row as its line (sorted keys: equal rows give equal bytes)."""
    return json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"


class JsonlStore:
    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True, what: str = "row",
                 key: Callable[[Row], Any] | None = row_key) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self.what = what  # "sample row", "result row": named in error messages
        self.key = key  # what makes a row valid and identifies it; None: any JSON object (a log)

    def repair(self) -> int:
        """Drop a torn last line left by a kill; returns the bytes removed."""
        try:
            handle = self.path.open("rb+")
        except FileNotFoundError:
            return 0
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            data = handle.read()
            end = data.rfind(b"\n") + 1
            if end < len(data):
                handle.truncate(end)
                handle.flush()
                os.fsync(handle.fileno())
            return len(data) - end

    def read(self, *, bad_rows: str = "raise", hint: str = "fix or move the file") -> list[Row]:
        """Every complete row in file order (a torn last line is ignored; `repair()` removes it)."""
        rows = []
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return []
        with handle:
            for number, line in enumerate(handle, 1):
                if not line.endswith(b"\n"):
                    break
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    if self.key is not None:
                        self.key(row)
                    elif not isinstance(row, dict):
                        raise TypeError("not a JSON object")
                except (ValueError, KeyError, TypeError) as exc:
                    if bad_rows == "skip":
                        continue
                    raise InputDataError(f"{self.path}:{number}: not a {self.what} ({exc}); {hint}") from exc
                rows.append(row)
        return rows

    def keyed(self, rows: Iterable[Row] | None = None) -> dict[Key, Row]:
        """Rows by key; the first row of a key wins."""
        out: dict[Key, Row] = {}
        for row in self.read(bad_rows="skip") if rows is None else rows:
            out.setdefault(row_key(row), row)
        return out

    def append(self, rows: Iterable[Row]) -> None:
        """Append the rows with one locked write (+ fsync)."""
        data = "".join(dumps(row) for row in rows)
        if not data:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, data.encode("utf-8"))
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)  # closing releases the lock

    def rewrite(self, rows: Iterable[Row]) -> None:
        """Replace the whole file atomically (readers see the old or the new file, never a mix)."""
        atomic_write_text(self.path, "".join(dumps(row) for row in rows))

    def drop(self, keys: set[Key]) -> None:
        """Remove the rows of `keys` (e.g. results to be made again), rewriting the file atomically."""
        if keys and self.path.exists():
            self.rewrite(row for row in self.read(bad_rows="skip") if row_key(row) not in keys)

    def merge(self, rows: Iterable[Row], *, order: Callable[[Row], Any], same: str = "completion") -> None:
        """Rewrite the file (atomically, sorted by `order`) with `rows` added to those already there.

        A key already recorded with another `same` value is refused (exit 4): the results made from the old
        row would no longer match their sample.
        """
        existing = self.keyed(self.read())
        merged = dict(existing)
        for row in rows:
            key = row_key(row)
            old = existing.get(key)
            if old is not None and old.get(same) != row.get(same):
                raise MismatchError(f"{self.path} already holds another {same} for {key[0]} #{key[1]}; "
                                    "score into a new --output folder")
            merged[key] = row
        if merged != existing or not self.path.is_file():
            self.rewrite(sorted(merged.values(), key=order))


class FolderBusy(MismatchError):
    """Another process is writing the same output folder (exit 4)."""


_HELD: dict[str, tuple[int, int]] = {}  # real path -> (fd, nesting depth), for this process


@contextlib.contextmanager
def writer_lock(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the output folder for this process (created if missing); a second writer gets FolderBusy."""
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        yield path
        return
    key = os.path.realpath(path)
    if key in _HELD:
        fd, depth = _HELD[key]
        _HELD[key] = (fd, depth + 1)
    else:
        fd = os.open(key, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FolderBusy(f"{path}: another codegen process is writing this folder; wait for it to end "
                             "or use another --output") from None
        _HELD[key] = (fd, 1)
    try:
        yield path
    finally:
        fd, depth = _HELD[key]
        if depth > 1:
            _HELD[key] = (fd, depth - 1)
        else:
            del _HELD[key]
            os.close(fd)  # releases the lock
