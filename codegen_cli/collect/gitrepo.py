"""Git sources: shallow clones into a cache folder, pinned to an exact commit.

Each (URL, ref) gets its own cache folder, named from a hash of both, with a `<folder>.codegen-git.json`
marker beside it, written after a successful checkout. A rerun (or a resumed run) reuses the folder, so the same commit is
walked again and the rows stay identical. A branch or tag that moved on the remote (checked with one
`git ls-remote`, skipped for a full commit id) is fetched again, so new commits are never invisible; when the
remote cannot be reached the cached commit is used, with a warning.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codegen_cli.atomic import atomic_write_json

MARKER = ".codegen-git.json"
_GIT_TIMEOUT_S = 1800  # a large repository over a slow link; hung transfers still end


class GitError(Exception):
    """A clone or fetch failed; the message is one line with git's own reason."""


@dataclass(frozen=True)
class Checkout:
    path: Path
    url: str
    ref: str | None
    commit: str


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "codegen" / "git"


def _git(args: list[str], cwd: Path | None = None) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False,
                              timeout=_GIT_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise GitError("git is not installed (apt-get install git)") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} timed out after {_GIT_TIMEOUT_S}s") from exc
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        raise GitError(lines[-1] if lines else f"git {args[0]} exited with {proc.returncode}")
    return proc.stdout.strip()


def cache_folder(cache_dir: Path, url: str, ref: str | None) -> Path:
    digest = hashlib.sha256(f"{url}\n{ref or ''}".encode()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git"))[:40]
    return cache_dir / f"{name or 'repo'}-{digest}"


def _fetch(folder: Path, url: str, ref: str | None) -> None:
    _git(["init", "-q", str(folder)])
    _git(["remote", "add", "origin", url], cwd=folder)
    try:
        _git(["fetch", "-q", "--depth", "1", "origin", ref or "HEAD"], cwd=folder)
    except GitError:
        if not ref:
            raise
        # Servers that refuse a commit id in a shallow fetch: fetch everything, then pick the commit.
        _git(["fetch", "-q", "--tags", "origin", "+refs/heads/*:refs/remotes/origin/*"], cwd=folder)
        _git(["rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=folder)
        _git(["checkout", "-q", "--detach", ref], cwd=folder)
        return
    _git(["checkout", "-q", "--detach", "FETCH_HEAD"], cwd=folder)


_FULL_COMMIT = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")


def remote_commit(url: str, ref: str | None) -> str | None:
    """The commit `ref` (default: HEAD) points at on the remote now, or None when it cannot be told
    (unreachable remote, or a ref that is an abbreviated commit id, which ls-remote does not list)."""
    try:
        out = _git(["ls-remote", url, ref or "HEAD"])
    except GitError:
        return None
    found: dict[str, str] = {}
    for line in out.splitlines():
        commit, _, name = line.partition("\t")
        found[name] = commit
    # An annotated tag's `^{}` line names the commit; the plain tag line names the tag object.
    for name in (f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}", f"refs/heads/{ref}", ref or "HEAD"):
        if name in found:
            return found[name]
    return None


def checkout(url: str, ref: str | None, cache_dir: Path, warn: Callable[[str], None] | None = None) -> Checkout:
    """A working tree of `url` at `ref` (default branch when None), from the cache or freshly cloned.

    A cached tree is reused when `ref` is a full commit id or the remote still points `ref` at the cached
    commit; otherwise it is fetched again.
    """
    folder = cache_folder(cache_dir, url, ref)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # One process at a time per cached tree: concurrent `--shard` runs on one machine share the cache, and
    # without the lock one deleted the staging clone another was still fetching into (issue 23). The
    # second waits, then finds the marker and reuses the tree.
    with open(folder.with_name(folder.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _checkout_locked(folder, url, ref, warn)


def _checkout_locked(folder: Path, url: str, ref: str | None, warn: Callable[[str], None] | None) -> Checkout:
    marker = folder.with_name(folder.name + MARKER)  # beside the tree, so the walk never sees it
    if marker.is_file():
        data = json.loads(marker.read_text(encoding="utf-8"))
        if ref is not None and _FULL_COMMIT.match(ref):
            return Checkout(folder, url, ref, data["commit"])
        current = remote_commit(url, ref)
        if current is None:
            if warn is not None:
                warn(f"cannot ask {url} whether {ref or 'HEAD'} moved; using the cached commit {data['commit'][:12]}")
            return Checkout(folder, url, ref, data["commit"])
        if current == data["commit"]:
            return Checkout(folder, url, ref, data["commit"])
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _fetch(staging, url, ref)
        commit = _git(["rev-parse", "HEAD"], cwd=staging)
    except GitError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)
    atomic_write_json(marker, {"url": url, "ref": ref, "commit": commit})
    return Checkout(folder, url, ref, commit)


def head_commit(folder: Path) -> str | None:
    """Commit of a local work tree (recorded for provenance), or None when it is not a git repo."""
    if not (folder / ".git").exists():
        return None
    try:
        return _git(["rev-parse", "HEAD"], cwd=folder)
    except GitError:
        return None
