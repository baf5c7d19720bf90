"""Run one untrusted program with limits and the strongest isolation the host offers (DESIGN.md §6).

Tiers, detected once per process by actually running `true` through each:
  bwrap    bubblewrap: read-only root, private size-capped /tmp and /dev/shm, masked /root and /home, all
           namespaces (no network, private PIDs), no capabilities, dies with the evaluator;
  unshare  util-linux unshare: user + net + pid + ipc + uts + mount namespaces, no capabilities, but no
           filesystem protection;
  rlimits  process group + rlimits + no capabilities only (loud warning): the program can write anywhere
           the user can, reach the network and signal the user's other processes.
Every tier adds: a private session and process group killed with SIGKILL on timeout, rlimits (CPU, address
space, file size, open files, processes, no core dumps), a pids cgroup when writable (the fork-bomb guard for
root), stdin from /dev/null, a minimal environment, output capped per stream, a disk budget for the workdir,
and a final sweep that kills every process still carrying the run's token. docs/sandbox.md lists what each
tier does not stop.
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from codegen_cli.evaluate.sandbox_procs import (
    TOKEN_VAR,
    PidsCgroup,
    cgroup_join_prefix,
    drop_caps_prefix,
    kill_leftovers,
    pdeathsig_prefix,
    pump,
    rlimit_preexec,
    rlimit_prefix,
    tree_usage,
)

TIERS = ("bwrap", "unshare", "rlimits")  # strongest first
_MASKED = ("/tmp", "/root", "/home", "/var/tmp", "/run/user")  # empty tmpfs inside bwrap
_MEMORY_SIGNATURES = ("MemoryError", "std::bad_alloc", "Cannot allocate memory", "OutOfMemoryError",
                      "out of memory", "memory allocation of", "Out of memory", "ENOMEM",
                      "Array buffer allocation failed")


def _toolchain_dirs() -> list[str]:
    """Directories under masked paths that programs still need: rustup's proxies and toolchains, the
    running Python (pyenv/venv under ~). Only `~/.cargo/bin` of ~/.cargo, never its credentials file."""
    home = Path.home()
    dirs = [home / ".cargo" / "bin", Path(os.environ.get("RUSTUP_HOME", home / ".rustup")),
            Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).resolve().parent]
    out: list[str] = []
    for d in dirs:
        s = str(d)
        if d.is_dir() and s not in out and any(s == m or s.startswith(m + "/") for m in _MASKED):
            out.append(s)
    return out


def _minimal_env() -> dict[str, str]:
    home = Path.home()
    path = [str(Path(sys.executable).parent), str(home / ".cargo" / "bin"), "/usr/local/go/bin",
            "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    env = {"PATH": ":".join(dict.fromkeys(path)), "LANG": "C.UTF-8"}
    rustup = Path(os.environ.get("RUSTUP_HOME", home / ".rustup"))
    if rustup.is_dir():  # HOME points at the workdir, so rustup's proxies need their real home spelled out
        env["RUSTUP_HOME"] = str(rustup)
    return env


# The environment every program starts from; `run` adds HOME and TMPDIR (= workdir) and the caller's `env`.
# Nothing from the evaluator's own environment leaks in (no tokens, no credentials).
MINIMAL_ENV: dict[str, str] = _minimal_env()


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 10.0  # kill the whole process group (SIGKILL) after this
    cpu_seconds: float | None = None  # RLIMIT_CPU per process; None -> ceil(wall_seconds) + 1
    memory_bytes: int | None = 4 << 30  # RLIMIT_AS; None for the JVM/Go which reserve huge virtual memory
    file_size_bytes: int = 64 << 20  # RLIMIT_FSIZE
    open_files: int = 512  # RLIMIT_NOFILE
    max_processes: int | None = 256  # pids cgroup (root) / RLIMIT_NPROC (non-root); threads count too
    output_bytes: int = 64 << 10  # kept per stream; the rest is read and dropped
    # Disk the program may fill: files in the workdir (checked twice a second; the run is killed past it;
    # 4 GiB leaves room for batch builds such as 164 Go test binaries, ~1 GiB; a single program's run can
    # use far less), and the size of each private tmpfs under bwrap (/tmp, /dev/shm...: their pages are
    # RAM that no RLIMIT_AS counts). None for no check.
    workdir_bytes: int | None = 4 << 30
    tmpfs_bytes: int = 256 << 20


@dataclass
class SandboxResult:
    returncode: int | None  # None if killed by timeout; -N = killed by signal N (bwrap reports 128+N)
    stdout: str
    stderr: str
    timed_out: bool
    memory_exceeded: bool  # best effort: MemoryError/bad_alloc/ENOMEM signatures or an unexplained SIGKILL
    output_truncated: bool
    seconds: float
    tier: str


class SandboxUnavailable(RuntimeError):
    """The requested isolation tier does not work on this host."""


_size_support: dict[str, bool] = {}


def _bwrap_has_size() -> bool:
    """bwrap >= 0.5 can cap a tmpfs (`--size`); older ones get unbounded private tmpfs mounts."""
    exe = shutil.which("bwrap")
    if exe is None:
        return False
    if exe not in _size_support:
        try:
            text = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=10,
                                  check=False).stdout
        except (OSError, subprocess.TimeoutExpired):
            return False
        _size_support[exe] = "--size" in text
    return _size_support[exe]


def _bwrap_argv(workdir: Path, env: dict[str, str], writable: Sequence[Path], readonly: Sequence[Path],
                tmpfs_bytes: int = Limits.tmpfs_bytes) -> list[str]:
    size = ["--size", str(tmpfs_bytes)] if _bwrap_has_size() else []
    argv = ["bwrap", "--ro-bind", "/", "/"]
    for masked in _MASKED:
        if os.path.isdir(masked):
            argv += [*size, "--tmpfs", masked]
    for d in _toolchain_dirs():  # binds must come after the tmpfs they sit under
        argv += ["--ro-bind", d, d]
    for p in readonly:
        argv += ["--ro-bind", str(p), str(p)]
    for p in writable:
        argv += ["--bind", str(p), str(p)]
    argv += ["--bind", str(workdir), str(workdir), *_bwrap_proc_args(), "--dev", "/dev", *size, "--tmpfs",
             "/dev/shm",
             "--unshare-all", "--die-with-parent", "--new-session", "--chdir", str(workdir), "--clearenv",
             "--cap-drop", "ALL"]  # as root bwrap keeps every capability in the sandbox's user namespace,
    # enough to unmount the masks over /root or remount / read-write (verified); drop them all
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return argv + ["--"]


# A fresh /proc for the new PID namespace; nested in another sandbox or a container that masks parts of
# /proc the kernel refuses that mount, and a read-only bind of the outer /proc still gives every other
# protection (the outer PIDs are visible there but cannot be signalled from the new PID namespace).
_PROC_FRESH, _PROC_BIND = ("--proc", "/proc"), ("--ro-bind", "/proc", "/proc")
_bwrap_proc = list(_PROC_FRESH)


def _bwrap_proc_args() -> list[str]:
    return list(_bwrap_proc)


def _unshare_argv() -> list[str]:
    # capabilities are dropped inside the namespaces: unshare itself needs them to write the uid map
    return ["unshare", "--user", "--map-root-user", "--net", "--pid", "--ipc", "--uts", "--mount",
            "--mount-proc", "--fork", "--kill-child", "--"] + drop_caps_prefix()


def _probe(tier: str) -> str | None:
    """Run `true` through the tier's wrapper exactly as `run` would; None if it works, else why not."""
    exe = {"bwrap": "bwrap", "unshare": "unshare"}.get(tier)
    if exe is None:
        return None
    if shutil.which(exe) is None:
        return f"{exe} not found"
    problem = _probe_once(tier)
    if problem is not None and tier == "bwrap" and "proc" in problem:
        _bwrap_proc[:] = _PROC_BIND
        if _probe_once(tier) is None:
            return None
        _bwrap_proc[:] = _PROC_FRESH
    return problem


def _probe_once(tier: str) -> str | None:
    exe = tier
    with scratch_dir() as work:
        env = {**MINIMAL_ENV, "HOME": str(work)}
        argv = _bwrap_argv(work, env, (), ()) if tier == "bwrap" else _unshare_argv()
        try:
            done = subprocess.run(argv + ["true"], cwd=work, env=env, capture_output=True, timeout=20,
                                  stdin=subprocess.DEVNULL, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{exe} probe failed: {exc}"
    if done.returncode != 0:
        return f"{exe} probe exited {done.returncode}: {done.stderr.decode(errors='replace').strip()[:200]}"
    return None


@functools.cache
def _probe_cached(tier: str) -> str | None:
    return _probe(tier)


def detect_tier() -> tuple[str, str]:
    """(tier, human reason): the strongest tier whose probe works, probed once per process.

    `CODEGEN_SANDBOX_TIER` (bwrap|unshare|rlimits) caps the choice, e.g. to test a weaker tier.
    """
    wanted = os.environ.get("CODEGEN_SANDBOX_TIER", "auto")
    start = TIERS.index(wanted) if wanted in TIERS else 0
    why_not: list[str] = []
    for tier in TIERS[start:]:
        problem = _probe_cached(tier)
        if problem is None:
            reason = {"bwrap": "bubblewrap works: read-only root, private /tmp, masked homes, no network, "
                               "private PIDs",
                      "unshare": "user/net/pid namespaces (no filesystem protection)",
                      "rlimits": "rlimits and process groups only: NO isolation"}[tier]
            if tier == "bwrap" and _bwrap_proc[0] != _PROC_FRESH[0]:
                reason += "; nested: the outer /proc is bound read-only (a fresh /proc was refused)"
            if why_not:
                reason += " (" + "; ".join(why_not) + ")"
            return tier, reason
        why_not.append(problem)
    raise AssertionError("the rlimits tier always works")


@functools.cache
def fork_guard() -> str | None:
    """What bounds a fork bomb here: "pids cgroup", "RLIMIT_NPROC" (non-root only: the kernel exempts
    root), or None (root without a writable pids cgroup: only the wall timeout stops it)."""
    cgroup = PidsCgroup.create(uuid.uuid4().hex, 1)
    if cgroup is not None:
        cgroup.remove()
        return "pids cgroup"
    return "RLIMIT_NPROC" if os.geteuid() != 0 else None


@functools.cache
def protect_evaluator() -> bool:
    """Mark the evaluator process non-dumpable, so that a program running as the same user (the rlimits
    tier, or a nested bwrap that sees the outer /proc) cannot read its environment or memory through
    /proc/<pid>/environ|mem: that now needs CAP_SYS_PTRACE, and every sandboxed program has no
    capabilities. (A root evaluator is already shielded by its capabilities: a capless reader is refused
    a target with more capabilities; a non-root evaluator needs this.) Side effects: no core dumps of the
    evaluator, and debuggers need root to attach. Sandboxed programs are unaffected (exec resets the
    flag). Returns whether it worked."""
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0) == 0  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        return False


class Sandbox:
    """Runs programs in one isolation tier; safe to share between threads."""

    def __init__(self, tier: str = "auto") -> None:
        if tier == "auto":
            self.tier, self.reason = detect_tier()
        elif tier in TIERS:
            problem = _probe_cached(tier)
            if problem is not None:
                raise SandboxUnavailable(f"sandbox tier {tier!r} does not work here: {problem}")
            self.tier, self.reason = tier, f"requested tier {tier}"
        else:
            raise ValueError(f"unknown sandbox tier {tier!r}; use auto, bwrap, unshare or rlimits")
        protect_evaluator()
        if self.tier == "rlimits":
            _warn_once("sandbox: tier 'rlimits' has NO namespace isolation: untrusted code can read and "
                       "write your files, use the network and signal your processes. Install bubblewrap or "
                       "allow user namespaces. (" + self.reason + ")")

    def run(self, argv: list[str], *, workdir: Path, limits: Limits, env: dict[str, str] | None = None,
            writable_paths: Sequence[Path] = (), readonly_paths: Sequence[Path] = (),
            stdin_data: bytes | None = None) -> SandboxResult:
        """Run `argv` in `workdir` (its cwd, writable) under `limits`; never raises for what the program does.

        The environment is MINIMAL_ENV + HOME/TMPDIR=workdir + `env`. `writable_paths` are extra shared
        dirs (compile caches); under bwrap everything else is read-only.
        """
        workdir = Path(workdir).resolve()
        for p in (workdir, *writable_paths, *readonly_paths):
            if not Path(p).exists():
                raise FileNotFoundError(f"sandbox path does not exist: {p}")
        token = uuid.uuid4().hex
        full_env = {**MINIMAL_ENV, "HOME": str(workdir), "TMPDIR": str(workdir), **(env or {}),
                    TOKEN_VAR: token}
        cgroup = PidsCgroup.create(token, limits.max_processes) if limits.max_processes else None
        try:
            return self._run(argv, workdir, limits, full_env, writable_paths, readonly_paths, stdin_data,
                             token, cgroup)
        finally:
            if cgroup is not None:
                cgroup.remove()

    def _run(self, argv, workdir, limits, env, writable, readonly, stdin_data, token,
             cgroup) -> SandboxResult:
        cpu = limits.cpu_seconds if limits.cpu_seconds is not None else math.ceil(limits.wall_seconds) + 1
        if self.tier == "bwrap":
            wrapper = _bwrap_argv(workdir, env, [Path(p).resolve() for p in writable],
                                  [Path(p).resolve() for p in readonly], limits.tmpfs_bytes)
        elif self.tier == "unshare":
            wrapper = _unshare_argv()
        else:
            wrapper = drop_caps_prefix()
        rlimits = {"cpu_seconds": cpu, "memory_bytes": limits.memory_bytes,
                   "file_size_bytes": limits.file_size_bytes, "open_files": limits.open_files,
                   "max_processes": limits.max_processes}
        prefix = rlimit_prefix(**rlimits)
        preexec = None if prefix else rlimit_preexec(**rlimits)
        command = pdeathsig_prefix() + cgroup_join_prefix(cgroup) + prefix + wrapper + list(argv)
        stdin = _stdin_file(stdin_data)
        try:
            proc = subprocess.Popen(command, cwd=workdir, env=env, stdin=stdin, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True, close_fds=True,
                                    preexec_fn=preexec)  # noqa: PLW1509 (only without prlimit)
        except OSError as exc:
            return SandboxResult(127, "", f"sandbox: cannot start {argv[0]}: {exc}", False,
                                 False, False, 0.0, self.tier)
        finally:
            if stdin is not subprocess.DEVNULL:
                stdin.close()
        with proc:
            watch = None
            if limits.workdir_bytes is not None:
                watch = functools.partial(tree_usage, workdir, limits.workdir_bytes)
            out = pump(proc, wall_seconds=limits.wall_seconds, cap=limits.output_bytes, watch=watch,
                       on_exit=lambda _timed_out: kill_leftovers(proc.pid, token, cgroup))
            returncode = proc.wait()
        stdout = out.stdout.decode("utf-8", errors="replace")
        stderr = out.stderr.decode("utf-8", errors="replace")
        if out.killed_reason:
            stderr += f"\n[sandbox] killed: {out.killed_reason}\n"
        return SandboxResult(
            returncode=None if out.timed_out else returncode, stdout=stdout, stderr=stderr,
            timed_out=out.timed_out,
            memory_exceeded=not (out.timed_out or out.killed_reason) and _looks_like_oom(returncode, stderr),
            output_truncated=out.truncated, seconds=out.seconds, tier=self.tier)


def _stdin_file(data: bytes | None):
    """stdin: /dev/null, or an unlinked temp file holding `data` (never blocks, whatever the program
    reads)."""
    if data is None:
        return subprocess.DEVNULL
    f = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the caller once the child has it)
    f.write(data)
    f.seek(0)
    return f


def _looks_like_oom(returncode: int, stderr: str) -> bool:
    if returncode == 0:
        return False
    if returncode in (-9, 137):  # SIGKILL we did not send: the kernel OOM killer is the usual sender
        return True
    return any(sig in stderr for sig in _MEMORY_SIGNATURES)


@functools.cache
def _warn_once(message: str) -> None:
    from codegen_cli.output import warn
    warn(message)


@contextmanager
def scratch_dir(root: Path | None = None) -> Iterator[Path]:
    """A fresh private directory (0700), removed afterwards even if the program left read-only files,
    directories without permissions or odd names in it."""
    path = Path(tempfile.mkdtemp(prefix="codegen-sbx-", dir=root))
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
