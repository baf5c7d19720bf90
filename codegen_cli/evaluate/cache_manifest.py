"""The tool cache's content manifest: a tampered cache is detected before it is used, and after a run in
the tier that cannot protect it.

bwrap binds the tool cache read-only and so does the unshare tier (a read-only bind mount in its mount
namespace); the rlimits tier has no filesystem isolation, so there a sample CAN rewrite the cache (a
poisoned precompiled header, an rlib, the js-md5 package) and change later verdicts. What this module does
about it: after the evaluator itself prepared the cache (trusted inputs only) it records every file's size
and sha256 in `<cache>/manifest.json`; every start verifies the cache against it before anything uses it,
and an entry that changed, vanished or appeared is removed (its language folder, rebuilt by the next
prepare; js-md5 then needs its npm install again, which the preflight names) with a loud warning; a run
in the rlimits tier verifies again at its end and reports any change (it is then rebuilt at the next
start). Cost: hashing ~100 MB, about 0.3 s per start. Issue 11: under `unshare` a sample rewrote js-md5
and later honest runs failed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

NAME = "manifest.json"
_SKIP = (NAME, ".")  # the manifest itself and the lock files (`.cpp.lock`, ...)


def _files(cache: Path) -> dict[str, tuple[int, str]]:
    """Relative path -> (size, sha256) of every regular file in the cache (links: their target text)."""
    found: dict[str, tuple[int, str]] = {}
    for folder, dirs, names in os.walk(cache):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            relative = path.relative_to(cache).as_posix()
            if relative.startswith(_SKIP) and "/" not in relative:
                continue
            if path.is_symlink():
                found[relative] = (0, "link:" + os.readlink(path))
                continue
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            found[relative] = (path.stat().st_size, digest.hexdigest())
    return found


def changes(cache: Path, *, first_installs: bool = False) -> list[str]:
    """What differs from the recorded manifest ("changed x", "missing x", "new x"); [] when none is recorded.

    With `first_installs`, new files in a top-level folder the manifest holds nothing of (the user's
    `npm install` of js-md5 after an earlier run recorded the cache without `js/`) are not changes: the
    start check records them, or the preflight's own fix would be purged on every run. A program cannot use
    that door unnoticed: the end-of-run check in the rlimits tier (the one tier where it can write the
    cache) calls this without `first_installs` and removes what it finds at once.
    """
    recorded_path = cache / NAME
    if not recorded_path.is_file():
        return []
    try:
        recorded = {k: tuple(v) for k, v in json.loads(recorded_path.read_text())["files"].items()}
    except (ValueError, KeyError, TypeError):
        return [f"unreadable {NAME}"]
    current = _files(cache)
    found = [f"changed {p}" for p in sorted(recorded) if p in current and current[p] != recorded[p]]
    found += [f"missing {p}" for p in sorted(recorded) if p not in current]
    known_tops = {p.split("/", 1)[0] for p in recorded}
    found += [f"new {p}" for p in sorted(current)
              if p not in recorded and not (first_installs and p.split("/", 1)[0] not in known_tops)]
    return found


def record(cache: Path) -> None:
    """Write the manifest of the cache as it is now (call only after the evaluator itself prepared it)."""
    text = json.dumps({"format_version": 1, "files": _files(cache)}, indent=0, sort_keys=True)
    tmp = cache / (NAME + ".tmp")
    tmp.write_text(text)
    tmp.replace(cache / NAME)


def purge(cache: Path, found: list[str]) -> list[str]:
    """Remove the language folders (`cpp`, `rust`, ...) or top-level files that hold what `found` names;
    returns their names."""
    tops = sorted({line.split(" ", 1)[1].split("/", 1)[0] for line in found if " " in line})
    removed = []
    for top in tops:
        target = cache / top
        if target.resolve().parent != cache.resolve() or not (target.exists() or target.is_symlink()):
            continue
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)
        removed.append(top)
    (cache / NAME).unlink(missing_ok=True)
    return removed


@contextlib.contextmanager
def exclusive(cache: Path) -> Iterator[None]:
    """Hold the cache-wide lock while verifying, preparing and recording (evaluators sharing a cache take
    turns, so one's new entries never look like another's tampering)."""
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".manifest.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
