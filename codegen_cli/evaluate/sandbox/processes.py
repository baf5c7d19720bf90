"""Process plumbing for the sandbox: the exec prefixes that apply limits and drop privileges, leftover
killing, and the output pump that reads every byte but keeps only a head and a tail.

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
from dataclasses import dataclass, field
from pathlib import Path

from codegen_cli.evaluate.sandbox.cgroups import RunCgroup, kill_pid
from codegen_cli.evaluate.sandbox.output import StreamKeeper

TOKEN_VAR = "CODEGEN_SANDBOX_TOKEN"  # per-run marker in the program's environment, used to find leftovers


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


def cgroup_join_prefix(cgroup: RunCgroup | None) -> list[str]:
    """`sh -c 'echo $$ > procs... && exec "$@"'`: the top process joins the run's cgroup dirs (one for v2,
    pids + memory for v1) before anything forks."""
    if cgroup is None:
        return []
    files = [str(f) for f in cgroup.procs_files]
    script = " && ".join(f'echo $$ > "${i + 1}"' for i in range(len(files)))
    return ["/bin/sh", "-c", f'{script} && shift {len(files)} && exec "$@"', "sh", *files]


def drop_uid_prefix(uid: int | None) -> list[str]:
    """`setpriv --reuid U --regid U --clear-groups`: run as an unprivileged uid (used when the evaluator is
    root, so that root-only files stay unreadable and the tool cache, owned by root, stays unwritable)."""
    setpriv = _setpriv()
    if uid is None or setpriv is None:
        return []
    return [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


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


def kill_leftovers(pgid: int, token: str, cgroup: RunCgroup | None) -> int:
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
        killed += sum(kill_pid(pid) for pid in pids)
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
    evidence: list[bytes] = field(default_factory=list)  # stdout lines starting with `evidence_prefix`


def pump(proc: subprocess.Popen, *, wall_seconds: float, cap: int, on_exit: Callable[[bool], object],
         watch: Callable[[], str | None] | None = None, watch_every: float = 0.5,
         evidence_prefix: bytes | tuple[bytes, ...] | None = None) -> Pumped:
    """Read stdout/stderr concurrently (one selector) keeping the first and last `cap // 2` bytes of each,
    until the process ends or `wall_seconds` pass. Every byte is read (the program never blocks on a full
    pipe) and stdout is scanned whole for lines starting with `evidence_prefix`.

    `on_exit(timed_out)` runs once the top process is gone (or must be killed); it kills what is left so
    the pipes reach EOF. Pipes still open 2 s later (a writer we could not kill) are abandoned.
    `watch()` runs every `watch_every` seconds; a message from it kills the run like a timeout does.
    """
    start = time.monotonic()
    deadline = start + wall_seconds
    next_watch = start + watch_every if watch else math.inf
    sel = selectors.DefaultSelector()
    bufs = {proc.stdout.fileno(): StreamKeeper(cap - cap // 2, cap // 2, evidence_prefix),
            proc.stderr.fileno(): StreamKeeper(cap - cap // 2, cap // 2)}
    for stream in (proc.stdout, proc.stderr):
        os.set_blocking(stream.fileno(), False)
        sel.register(stream.fileno(), selectors.EVENT_READ)
    pidfd = _pidfd(proc.pid)
    if pidfd is not None:
        sel.register(pidfd, selectors.EVENT_READ)
    timed_out = ended = False
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
                _read_into(key.fd, bufs[key.fd], sel)
    finally:
        sel.close()
        if pidfd is not None:
            os.close(pidfd)
    out, err = bufs[proc.stdout.fileno()], bufs[proc.stderr.fileno()]
    return Pumped(out.text(), err.text(), out.truncated or err.truncated, timed_out, seconds, reason,
                  out.evidence)


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


def _read_into(fd: int, keeper: StreamKeeper, sel: selectors.BaseSelector) -> None:
    """Read one chunk into `keeper`; unregister the fd at EOF."""
    try:
        chunk = os.read(fd, 1 << 16)
    except BlockingIOError:
        return
    except OSError as exc:
        if exc.errno != errno.EIO:
            raise
        chunk = b""
    if not chunk:
        sel.unregister(fd)
        return
    keeper.feed(chunk)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None  # old kernel or Python: poll every 20 ms instead
