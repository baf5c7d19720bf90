"""What a language needs to build and run programs: the sandbox, the limits and the tool cache folder.

The tool cache holds things built ONCE from trusted inputs (C++ precompiled header, Rust crates, the
javac class-data archive, a warm Go build cache, the js-md5 package). Sandboxed programs see it read-only.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def default_cache_dir() -> Path:
    """CODEGEN_EVAL_CACHE, else $XDG_CACHE_HOME/codegen/eval, else ~/.cache/codegen/eval."""
    if os.environ.get("CODEGEN_EVAL_CACHE"):
        return Path(os.environ["CODEGEN_EVAL_CACHE"]).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(base) / "codegen" / "eval").resolve()


@functools.cache
def tool_key(*argv: str) -> str:
    """A short hash of a tool's version output: cache entries built by one compiler version are never
    handed to another (a stale PCH is silently ignored, a stale CDS archive is rejected with a warning)."""
    try:
        done = subprocess.run(list(argv), check=False, capture_output=True, text=True, timeout=60)
        text = done.stdout + done.stderr
    except (OSError, subprocess.SubprocessError):
        text = "unknown"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@contextlib.contextmanager
def cache_lock(cache_dir: Path, name: str):
    """An exclusive lock across processes (two evals sharing a cache build each tool entry once)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class Context:
    sandbox: Any  # codegen_cli.evaluate.sandbox.Sandbox
    cache_dir: Path
    compile_limits: Any  # sandbox.Limits
    run_limits: Any  # sandbox.Limits
    jobs: int = 2  # parallel compiler processes a batch build may use (= --workers)

    def run(
        self,
        argv: list[str],
        *,
        workdir: Path,
        limits: Any,
        env: dict[str, str] | None = None,
        readonly: tuple[Path, ...] = (),
        stdin_data: bytes | None = None,
        evidence_prefix: str | tuple[str, ...] | None = None,
    ) -> Any:
        """Run one command in the sandbox with the tool cache readable."""
        paths = tuple(dict.fromkeys([self.cache_dir, *readonly]))
        return self.sandbox.run(
            argv,
            workdir=workdir,
            limits=limits,
            env=env or {},
            writable_paths=(workdir,),
            readonly_paths=paths,
            stdin_data=stdin_data,
            evidence_prefix=evidence_prefix,
        )
