"""Scratch dirs for builds and runs: private, removed after use whatever the program left in them, and swept
at the next start when an evaluator was killed before it could remove them.

Every dir is named `codegen-<kind>-<owner>-<random>`, where <owner> names a lock file (`codegen-owner-<owner>
.lock` in the same temp dir) that the creating process holds with flock() for its whole life. A later
process that can take that lock knows the owner is dead, and removes the owner's dirs and lock.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_owner: dict[str, object] = {}
_lock = threading.Lock()


def _owner_id(root: Path) -> str:
    """This process's owner id for dirs under `root`: taken once, its lock held until the process exits."""
    key = str(root)
    with _lock:
        if key not in _owner or _owner[key][0] != os.getpid():  # a fork gets its own owner id
            owner = uuid.uuid4().hex[:12]
            handle = open(root / f"codegen-owner-{owner}.lock", "w")  # noqa: SIM115 (held for life)
            fcntl.flock(handle, fcntl.LOCK_EX)
            _owner[key] = (os.getpid(), owner, handle)
            sweep(root)
        return _owner[key][1]


def sweep(root: Path | None = None) -> int:
    """Remove scratch dirs whose owner process is gone (its lock is free); returns how many were removed."""
    root = Path(root or tempfile.gettempdir())
    removed = 0
    mine = {v[1] for v in _owner.values()}
    for lock_path in root.glob("codegen-owner-*.lock"):
        owner = lock_path.name[len("codegen-owner-"):-len(".lock")]
        if owner in mine:
            continue
        try:
            handle = open(lock_path, "r+")  # noqa: SIM115
        except OSError:
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # its owner is alive
            for stale in root.glob(f"codegen-*-{owner}-*"):
                remove_tree(stale)
                removed += 1
            lock_path.unlink(missing_ok=True)
    # dirs of the old naming (before owner locks): only when clearly abandoned (a day old)
    for stale in root.glob("codegen-sbx-*"):
        if stale.name.count("-") == 2 and time.time() - stale.stat().st_mtime > 86400:
            remove_tree(stale)
    return removed


def make_scratch(kind: str = "sbx", root: Path | None = None) -> Path:
    """A fresh private (0700) dir `codegen-<kind>-<owner>-<random>` (the caller removes it)."""
    base = Path(root or tempfile.gettempdir())
    return Path(tempfile.mkdtemp(prefix=f"codegen-{kind}-{_owner_id(base)}-", dir=base))


@contextmanager
def scratch_dir(root: Path | None = None, kind: str = "sbx") -> Iterator[Path]:
    """A fresh private directory (0700), removed afterwards even if the program left read-only files,
    directories without permissions or odd names in it."""
    path = make_scratch(kind, root)
    try:
        yield path
    finally:
        remove_tree(path)


def remove_tree(path: Path) -> None:
    """rmtree that first restores owner permissions on everything (a program may chmod 000 its files)."""
    def fix_and_retry(func, p, _exc):
        try:
            os.chmod(os.path.dirname(p), stat.S_IRWXU)
            if os.path.isdir(p) and not os.path.islink(p):
                os.chmod(p, stat.S_IRWXU)
            func(p)
        except FileNotFoundError:
            pass
    for attempt in range(3):
        if not path.exists():
            return
        try:
            os.chmod(path, stat.S_IRWXU)
        except OSError:
            pass
        for dirpath, dirnames, _ in os.walk(path):
            for d in dirnames:
                full = os.path.join(dirpath, d)
                if not os.path.islink(full):
                    try:
                        os.chmod(full, stat.S_IRWXU)
                    except OSError:
                        pass
        shutil.rmtree(path, onerror=fix_and_retry)
        if attempt:
            time.sleep(0.05)
