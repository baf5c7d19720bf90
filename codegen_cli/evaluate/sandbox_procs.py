"""Process plumbing for the sandbox: the exec prefix that applies limits, a pids cgroup, leftover killing,
and the capped output pump.

Everything here avoids `preexec_fn`: the evaluator runs sandboxes from worker threads, and Python documents
`preexec_fn` as unsafe with threads (the forked child can deadlock on a lock another thread held). Limits are
applied by small exec'd tools instead (`sh` joins the cgroup, `prlimit` sets rlimits, `setpriv` sets the
parent-death signal), all of which exec the next step, so the sandboxed tree keeps a single top process.
"""

from __future__ import annotations

import errno
import math
import os
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TOKEN_VAR = "CODEGEN_SANDBOX_TOKEN"  # per-run marker in the program's environment, used to find leftovers
_CGROUP_PARENT = "codegen-sandbox"
_V1_PIDS = Path("/sys/fs/cgroup/pids")
_V2_ROOT = Path("/sys/fs/cgroup")


def rlimit_prefix(*, cpu_seconds: float, memory_bytes: int | None, file_size_bytes: int, open_files: int,
                  max_processes: int | None) -> list[str]:
    """`prlimit ... --` setting hard = soft limits (or [] when prlimit is missing; see `rlimit_preexec`).

    RLIMIT_CPU gets a soft limit (SIGXCPU) one second below the hard one (SIGKILL), so a CPU-bound program
    dies even if it catches SIGXCPU.
    """
    prlimit = shutil.which("prlimit", path="/usr/bin:/bin:/usr/sbin:/sbin")
    if prlimit is None:
        return []
    cpu = max(1, math.ceil(cpu_seconds))
    argv = [prlimit, f"--cpu={cpu}:{cpu + 1}", f"--fsize={file_size_bytes}", f"--nofile={open_files}",
            "--core=0"]
    if memory_bytes is not None:
        argv.append(f"--as={memory_bytes}")
    if max_processes is not None:
        argv.append(f"--nproc={max_processes}")
    return argv + ["--"]


def rlimit_preexec(*, cpu_seconds: float, memory_bytes: int | None, file_size_bytes: int, open_files: int,
                   max_processes: int | None):
    """Fallback when `prlimit` is missing: a preexec_fn setting the same limits (unsafe with threads, see
    the module docstring, so only used on hosts without util-linux)."""
    import resource

    cpu = max(1, math.ceil(cpu_seconds))
    limits = [(resource.RLIMIT_CPU, (cpu, cpu + 1)), (resource.RLIMIT_FSIZE, (file_size_bytes,) * 2),
              (resource.RLIMIT_NOFILE, (open_files,) * 2), (resource.RLIMIT_CORE, (0, 0))]
    if memory_bytes is not None:
        limits.append((resource.RLIMIT_AS, (memory_bytes,) * 2))
    if max_processes is not None:
        limits.append((resource.RLIMIT_NPROC, (max_processes,) * 2))

    def apply() -> None:
        for which, value in limits:
            resource.setrlimit(which, value)
    return apply


def _setpriv() -> str | None:
    return shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin")


def pdeathsig_prefix() -> list[str]:
    """`setpriv --pdeathsig KILL --`: the sandbox's top process dies if the evaluator dies (or [])."""
    setpriv = _setpriv()
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


def drop_caps_prefix() -> list[str]:
    """`setpriv` dropping every capability (bounding and inheritable sets) and setting no_new_privs.

    Root keeps uid 0 but loses its powers: it cannot raise its rlimits, mount, or regain privileges
    through a setuid binary. (bwrap does the same itself with --cap-drop ALL.)
    """
    setpriv = _setpriv()
    if setpriv is None:
        return []
    return [setpriv, "--no-new-privs", "--bounding-set", "-all", "--inh-caps", "-all", "--"]


class PidsCgroup:
    """A per-run cgroup with `pids.max`: the only fork-bomb guard that works for root (RLIMIT_NPROC does not).

    Uses cgroup v1's `pids` hierarchy or a cgroup v2 root that offers the pids controller. Creation fails
    quietly (returns None) without root or a writable cgroup filesystem; the sandbox then relies on
    RLIMIT_NPROC, which works for non-root users.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.procs_file = path / "cgroup.procs"

    @classmethod
    def create(cls, token: str, max_pids: int) -> PidsCgroup | None:
        for parent in _pids_parents():
            try:
                parent.mkdir(exist_ok=True)
                _remove_stale(parent)
                if parent.parent == _V2_ROOT and (parent / "cgroup.subtree_control").exists():
                    (parent / "cgroup.subtree_control").write_text("+pids")
                path = parent / f"run-{token}"
                path.mkdir()
                (path / "pids.max").write_text(str(max_pids))
                return cls(path)
            except OSError:
                continue
        return None

    def pids(self) -> list[int]:
        try:
            return [int(x) for x in self.procs_file.read_text().split()]
        except (OSError, ValueError):
            return []

    def kill_all(self, patience: float = 5.0) -> int:
        """SIGKILL every member until none is left (a fork bomb keeps forking while we kill).
        Returns the number of kills."""
        kill_file = self.path / "cgroup.kill"
        if kill_file.exists():  # cgroup v2: the kernel kills the whole subtree atomically
            try:
                kill_file.write_text("1")
            except OSError:
                pass
        killed, give_up = 0, time.monotonic() + patience
        while (pids := self.pids()) and time.monotonic() < give_up:
            for pid in pids:
                killed += _kill(pid)
            time.sleep(0.005)
        return killed

    def remove(self) -> None:
        """rmdir the cgroup; members that are exiting may hold it for a moment, so retry briefly."""
        for _ in range(100):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                self.kill_all(patience=0.05)
                time.sleep(0.01)


_swept: set[Path] = set()


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


def _pids_parents() -> list[Path]:
    parents = []
    if (_V1_PIDS / "cgroup.procs").exists():
        parents.append(_V1_PIDS / _CGROUP_PARENT)
    controllers = _V2_ROOT / "cgroup.controllers"
    if controllers.exists():
        try:
            if "pids" in controllers.read_text().split():
                parents.append(_V2_ROOT / _CGROUP_PARENT)
        except OSError:
            pass
    return parents


def cgroup_join_prefix(cgroup: PidsCgroup | None) -> list[str]:
    """`sh -c 'echo $$ > procs && exec "$@"'`: the top process joins the cgroup before anything forks."""
    if cgroup is None:
        return []
    return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(cgroup.procs_file)]


def _kill(pid: int) -> int:
    try:
        os.kill(pid, signal.SIGKILL)
        return 1
    except OSError:
        return 0


def processes_with_token(token: str) -> list[int]:
    """PIDs whose environment carries `CODEGEN_SANDBOX_TOKEN=<token>` (a scan of /proc/*/environ).

    This finds processes that left the process group with setsid(); it misses a program that exec'd itself
    with an emptied environment, which the pids cgroup and the PID namespace cover.
    """
    needle = f"{TOKEN_VAR}={token}".encode()
    found, me = [], os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                if needle in f.read():
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def kill_leftovers(pgid: int, token: str, cgroup: PidsCgroup | None) -> int:
    """Kill the process group, the cgroup members and anything carrying the run token. Returns kills."""
    killed = 0
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
    if cgroup is not None:
        killed += cgroup.kill_all()
    for _ in range(20):  # a forking escapee may spawn children between scans
        pids = processes_with_token(token)
        if not pids:
            break
        killed += sum(_kill(pid) for pid in pids)
        time.sleep(0.01)
    return killed


@dataclass
class Pumped:
    stdout: bytes
    stderr: bytes
    truncated: bool
    timed_out: bool
    seconds: float
    killed_reason: str | None = None  # set when `watch` asked for the kill


def pump(proc: subprocess.Popen, *, wall_seconds: float, cap: int, on_exit: Callable[[bool], object],
         watch: Callable[[], str | None] | None = None, watch_every: float = 0.5) -> Pumped:
    """Read stdout/stderr concurrently (one selector) keeping `cap` bytes each, until the process ends or
    `wall_seconds` pass. Excess output is read and dropped, so the program never blocks on a full pipe.

    `on_exit(timed_out)` runs once the top process is gone (or must be killed); it kills what is left so
    the pipes reach EOF. Pipes still open 2 s later (a writer we could not kill) are abandoned.
    `watch()` runs every `watch_every` seconds; a message from it kills the run like a timeout does.
    """
    start = time.monotonic()
    deadline = start + wall_seconds
    next_watch = start + watch_every if watch else math.inf
    sel = selectors.DefaultSelector()
    bufs = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    for stream in (proc.stdout, proc.stderr):
        os.set_blocking(stream.fileno(), False)
        sel.register(stream.fileno(), selectors.EVENT_READ)
    pidfd = _pidfd(proc.pid)
    if pidfd is not None:
        sel.register(pidfd, selectors.EVENT_READ)
    truncated = timed_out = ended = False
    seconds, reason = 0.0, None
    try:
        while True:
            now = time.monotonic()
            if not ended and now >= next_watch:
                reason = watch()
                next_watch = now + watch_every
            if not ended and (reason is not None or proc.poll() is not None):
                ended, seconds = True, now - start
                on_exit(False)
                deadline = time.monotonic() + 2.0
            if now >= deadline:
                if ended:
                    break
                timed_out, ended, seconds = True, True, now - start
                on_exit(True)
                deadline = time.monotonic() + 2.0
                continue
            if ended and not any(fd in bufs for fd in _registered(sel)):
                break
            wait = min(deadline, next_watch if not ended else deadline) - now
            if pidfd is None:
                wait = min(0.02, wait)
            for key, _ in sel.select(max(0.0, wait)):
                if key.fd == pidfd:
                    sel.unregister(pidfd)
                    continue
                truncated |= _read_into(key.fd, bufs[key.fd], cap, sel)
    finally:
        sel.close()
        if pidfd is not None:
            os.close(pidfd)
    return Pumped(bytes(bufs[proc.stdout.fileno()]), bytes(bufs[proc.stderr.fileno()]), truncated, timed_out,
                  seconds, reason)


def tree_usage(root: Path, max_bytes: int, max_entries: int = 100_000) -> str | None:
    """Why `root` is over budget (apparent bytes of its files, or entry count), or None. Stops early."""
    total, entries, stack = 0, 0, [str(root)]
    while stack:
        try:
            it = os.scandir(stack.pop())
        except OSError:
            continue
        with it:
            for entry in it:
                entries += 1
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
                except OSError:
                    continue
                if total > max_bytes:
                    return f"the workdir grew past {max_bytes} bytes"
                if entries > max_entries:
                    return f"the workdir holds more than {max_entries} files"
    return None


def _registered(sel: selectors.BaseSelector) -> list[int]:
    return [key.fd for key in sel.get_map().values()]


def _read_into(fd: int, buf: bytearray, cap: int, sel: selectors.BaseSelector) -> bool:
    """Read one chunk; keep what fits under `cap`. Returns True when bytes were dropped."""
    try:
        chunk = os.read(fd, 1 << 16)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno != errno.EIO:
            raise
        chunk = b""
    if not chunk:
        sel.unregister(fd)
        return False
    room = cap - len(buf)
    if room > 0:
        buf += chunk[:room]
    return len(chunk) > room


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None  # old kernel or Python: poll every 20 ms instead
