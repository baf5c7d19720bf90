"""Per-run cgroups: the pids cap (the only fork-bomb guard that works for root) and the memory cap (the only
memory limit that covers a whole process tree; RLIMIT_AS is per process).

cgroup v2 (one dir with pids.max + memory.max) or cgroup v1 (one dir in the `pids` and one in the `memory`
hierarchy: pids.max, memory.limit_in_bytes + memory.memsw.limit_in_bytes when swap accounting is on).
Creation fails quietly without root or a writable cgroup filesystem; the caller then records the weaker
limit (RLIMIT_NPROC, RLIMIT_AS) it falls back on.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_PARENT = "codegen-sandbox"
_ROOT = Path("/sys/fs/cgroup")
_swept: set[Path] = set()


def kill_pid(pid: int) -> int:
    """SIGKILL `pid`; 1 if the signal was sent, 0 if it was gone already (or not ours)."""
    try:
        os.kill(pid, signal.SIGKILL)
        return 1
    except OSError:
        return 0


def _v2_root() -> Path | None:
    """The cgroup v2 mount that offers controllers (the unified root, or /sys/fs/cgroup/unified in hybrid
    mode when it has any)."""
    for root in (_ROOT, _ROOT / "unified"):
        try:
            if (root / "cgroup.controllers").read_text().split():
                return root
        except OSError:
            continue
    return None


def _parents(controller: str) -> list[Path]:
    """Where a run cgroup holding `controller` can go: the v1 hierarchy of that controller, or the v2 root."""
    found = []
    if (_ROOT / controller / "cgroup.procs").exists():
        found.append(_ROOT / controller / CGROUP_PARENT)
    root = _v2_root()
    if root is not None:
        try:
            if controller in (root / "cgroup.controllers").read_text().split():
                found.append(root / CGROUP_PARENT)
        except OSError:
            pass
    return found


def _make(parent: Path, name: str, controller: str) -> Path | None:
    try:
        parent.mkdir(exist_ok=True)
        _remove_stale(parent)
        if (parent.parent / "cgroup.subtree_control").exists():  # v2: hand the controller down to us
            _write(parent.parent / "cgroup.subtree_control", f"+{controller}")
            _write(parent / "cgroup.subtree_control", f"+{controller}")
        path = parent / name
        path.mkdir(exist_ok=True)
        return path
    except OSError:
        return None


@dataclass
class RunCgroup:
    """The cgroup dirs one run's processes join (one for v2, up to two for v1); `memory_limited` and
    `pids_limited` say which caps actually hold."""

    dirs: list[Path] = field(default_factory=list)
    pids_limited: bool = False
    memory_limited: bool = False

    @classmethod
    def create(cls, token: str, max_pids: int | None, memory_bytes: int | None) -> RunCgroup | None:
        group = cls()
        name = f"run-{token}"
        if max_pids:
            for parent in _parents("pids"):
                path = _make(parent, name, "pids")
                if path is not None and _write(path / "pids.max", str(max_pids)):
                    group._add(path)
                    group.pids_limited = True
                    break
        if memory_bytes:
            for parent in _parents("memory"):
                path = _make(parent, name, "memory")
                if path is None:
                    continue
                if (path / "memory.max").exists():
                    ok = _write(path / "memory.max", str(memory_bytes))
                    _write(path / "memory.swap.max", "0")
                else:
                    ok = _write(path / "memory.limit_in_bytes", str(memory_bytes))
                    _write(path / "memory.memsw.limit_in_bytes", str(memory_bytes))
                if ok:
                    group._add(path)
                    group.memory_limited = True
                    break
                _rmdir(path)
        return group if group.dirs else None

    def _add(self, path: Path) -> None:
        if path not in self.dirs:
            self.dirs.append(path)

    @property
    def procs_files(self) -> list[Path]:
        return [d / "cgroup.procs" for d in self.dirs]

    def pids(self) -> list[int]:
        found: set[int] = set()
        for procs in self.procs_files:
            try:
                found.update(int(x) for x in procs.read_text().split())
            except (OSError, ValueError):
                continue
        return sorted(found)

    def memory_peak(self) -> int | None:
        """Highest memory use seen (bytes), when the kernel reports it."""
        for d in self.dirs:
            for name in ("memory.peak", "memory.max_usage_in_bytes"):
                try:
                    return int((d / name).read_text())
                except (OSError, ValueError):
                    continue
        return None

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer has killed in this group so far."""
        for d in self.dirs:
            for name in ("memory.events", "memory.oom_control"):  # v2, v1
                try:
                    for line in (d / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill":
                            return int(value)
                except (OSError, ValueError):
                    continue
        return 0

    def oom_killed(self) -> bool:
        """Whether the kernel's OOM killer fired inside this group (the memory cap was hit)."""
        for d in self.dirs:
            for name in ("memory.events", "memory.oom_control"):  # v2, v1
                try:
                    for line in (d / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill" and int(value) > 0:
                            return True
                except (OSError, ValueError):
                    continue
        return False

    def kill_all(self, patience: float = 5.0) -> int:
        """SIGKILL every member until none is left (a fork bomb keeps forking while we kill)."""
        for d in self.dirs:
            if (d / "cgroup.kill").exists():  # v2: the kernel kills the whole subtree atomically
                _write(d / "cgroup.kill", "1")
        killed, give_up = 0, time.monotonic() + patience
        while (pids := self.pids()) and time.monotonic() < give_up:
            for pid in pids:
                killed += kill_pid(pid)
            time.sleep(0.005)
        return killed

    def remove(self) -> None:
        """rmdir the dirs; members that are exiting may hold them for a moment, so retry briefly."""
        for d in self.dirs:
            for _ in range(100):
                if _rmdir(d):
                    break
                self.kill_all(patience=0.05)
                time.sleep(0.01)


def _write(path: Path, text: str) -> bool:
    try:
        path.write_text(text)
        return True
    except OSError:
        return False


def _rmdir(path: Path) -> bool:
    try:
        path.rmdir()
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _remove_stale(parent: Path, age_seconds: float = 60.0) -> None:
    """Once per process, rmdir run cgroups left by a killed evaluator: empty and over a minute old (rmdir
    refuses populated ones, and the age spares a dir another evaluator just made and has not joined yet)."""
    if parent in _swept:
        return
    _swept.add(parent)
    now = time.time()
    for child in parent.glob("run-*"):
        try:
            if now - child.stat().st_mtime > age_seconds:
                child.rmdir()
        except OSError:
            pass


def memory_cgroup_available() -> bool:
    """Whether a per-run memory cgroup can be made here (probed once by making and removing one)."""
    group = RunCgroup.create(f"probe-{os.getpid()}-{time.monotonic_ns()}", None, 1 << 30)
    if group is None:
        return False
    group.remove()
    return group.memory_limited
