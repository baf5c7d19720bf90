"""Run one untrusted program with limits and the strongest isolation the host offers (DESIGN.md §6).

Tiers, detected once per process by actually running `true` through each:
  bwrap    bubblewrap: read-only root, private size-capped /tmp and /dev/shm, masked /root and /home, all
           namespaces (no network, private PIDs), no capabilities, dies with the evaluator;
  unshare  util-linux unshare + mount: the same view as bwrap's, built by a script (private_root.py) in
           new mount, PID, network, IPC and UTS namespaces (plus a user namespace when not root): a
           private root with read-only system dirs, private /tmp, only the run's own paths, no
           capabilities; for hosts (containers) without bwrap;
  rlimits  process group + rlimits + no capabilities only (loud warning): the program can write anywhere
           its uid can, reach the network and signal its uid's other processes.
A root evaluator runs programs as an unprivileged uid in every tier (one per concurrent run).
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
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codegen_cli.evaluate.sandbox.cgroups import RunCgroup
from codegen_cli.evaluate.sandbox.private_root import private_root_argv
from codegen_cli.evaluate.sandbox.processes import (
    TOKEN_VAR,
    cgroup_join_prefix,
    drop_caps_prefix,
    kill_leftovers,
    pdeathsig_prefix,
    pump,
    rlimit_preexec,
    rlimit_prefix,
    tree_usage,
)
from codegen_cli.evaluate.sandbox.scratch import scratch_dir

TIERS = ("bwrap", "unshare", "rlimits")  # strongest first
MIN_ENV = "CODEGEN_SANDBOX_MIN"  # the weakest tier a run may use (a CI job's guard, like --sandbox-min)
_MASKED = ("/tmp", "/root", "/home", "/var/tmp", "/run/user")  # holding toolchains, yet never shown whole
# What a bwrap sandbox shows of the host: the system dirs toolchains live in (read-only), nothing else.
# /work, /opt, /srv, /var, /mnt, /root, /home, /tmp stay invisible; toolchain dirs under them and the tool
# cache are bound back one by one.
_SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

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
    # Memory of the whole process tree (cgroup memory.max / memory.limit_in_bytes, where the host lets us
    # make one); None: memory_bytes, or 4 GiB when that is None too (JVM, Go).
    total_memory_bytes: int | None = None
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
    evidence: list[str] = field(default_factory=list)  # stdout lines starting with the `evidence_prefix`


class SandboxUnavailable(RuntimeError):
    """The requested isolation tier does not work on this host."""


_bwrap_help: dict[str, str] = {}


def _bwrap_supports(option: str) -> bool:
    """Whether this bwrap knows `option` (from its --help text, read once)."""
    exe = shutil.which("bwrap")
    if exe is None:
        return False
    if exe not in _bwrap_help:
        try:
            text = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=10,
                                  check=False).stdout
        except (OSError, subprocess.TimeoutExpired):
            return False
        _bwrap_help[exe] = text
    return option in _bwrap_help[exe]


def _bwrap_has_size() -> bool:
    """bwrap >= 0.5 can cap a tmpfs (`--size`); older ones get unbounded private tmpfs mounts."""
    return _bwrap_supports("--size")


def _bwrap_argv(workdir: Path, env: dict[str, str], writable: Sequence[Path], readonly: Sequence[Path], *,
                tmpfs_bytes: int = Limits.tmpfs_bytes, uid: int | None = None,
                hidden: Sequence[str] = (), server: bool = False) -> list[str]:
    """The bwrap command up to `--`. With `uid` (a root evaluator) bwrap runs without a user namespace,
    keeps only CAP_SETUID/CAP_SETGID, and a `setpriv` inside switches to `uid` with no capabilities at all:
    the program is then that uid on the host too, so root-only files and the root-owned tool cache are
    out of its reach (bwrap started as that uid could not bind toolchains kept under /root, mode 0700)."""
    size = ["--size", str(tmpfs_bytes)] if _bwrap_has_size() else []
    argv = ["bwrap"]
    for d in _SYSTEM_DIRS:
        if os.path.islink(d):
            argv += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            argv += ["--ro-bind", d, d]
    # /tmp and /var/tmp private and, like a host's, writable by any uid (mode 1777: the program's uid is not
    # the owner when the evaluator is root)
    sticky = ["--perms", "1777"] if _bwrap_supports("--perms") else []
    argv += [*size, *sticky, "--tmpfs", "/tmp", *size, *sticky, "--tmpfs", "/var/tmp"]
    made: set[str] = {"/", "/tmp", "/var/tmp", *_SYSTEM_DIRS}

    def bind(kind: str, path: str) -> None:
        # bwrap copies the modes of the source's parents (/root is 0700): open them up for the program's uid
        for parent in reversed(Path(path).parents):
            if str(parent) not in made:
                made.add(str(parent))
                argv.extend(["--perms", "0755", "--dir", str(parent)])
        argv.extend([kind, path, path])

    for d in _toolchain_dirs():
        bind("--ro-bind", d)
    for p in readonly:
        bind("--ro-bind", str(p))
    for p in writable:
        bind("--bind", str(p))
    bind("--bind", str(workdir))
    argv += _hidden_args(argv, hidden)
    # /dev/shm writable by the program's uid (its own tmpfs): POSIX semaphores and shared memory live there
    # (Python's multiprocessing failed with PermissionError when the program ran as another uid)
    shm_perms = ["--perms", "1777"] if _bwrap_supports("--perms") else []
    argv += [*_bwrap_proc_args(), "--dev", "/dev", *size, *shm_perms, "--tmpfs", "/dev/shm"]
    if server:  # see Sandbox.server_command
        argv += (["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"] if os.geteuid() == 0
                 else ["--unshare-all", "--uid", "0", "--gid", "0"])
    elif uid is None:
        argv += ["--unshare-all"]
    else:
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    # with `uid`, the workdir (0700, owned by uid) is entered after the switch, by the shell below
    argv += ["--die-with-parent", "--new-session", "--chdir", str(workdir) if uid is None else "/",
             "--clearenv", "--cap-drop", "ALL"]
    # as root bwrap keeps every capability in the sandbox's user namespace, enough to unmount the masks over
    # /root or remount / read-write (verified); drop them all (but the two the uid switch needs)
    if uid is not None or server:
        # CAP_SETPCAP: without it the drop of the bounding set below (setpriv, the zygote) silently fails
        argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    if server:
        argv += ["--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_KILL"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv += ["--"]
    if uid is not None and not server:
        argv += [*_setpriv_uid(uid), "/bin/sh", "-c", 'cd -- "$0" && unset OLDPWD && exec "$@"', str(workdir)]
    return argv


def _setpriv_path() -> str:
    return shutil.which("setpriv", path="/usr/bin:/bin") or "setpriv"


def _setpriv_uid(uid: int) -> list[str]:
    """`setpriv` switching a root process to `uid` with no capabilities left (bounding set included). The
    uid change clears the parent-death signal set before it (`unshare --kill-child`, the evaluator's own),
    so it is set again: the program still dies with its parent (in the unshare tier it is the PID
    namespace's init, and the namespace dies with it)."""
    return [_setpriv_path(), f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
            "--inh-caps=-all", "--bounding-set=-all", "--pdeathsig", "KILL", "--"]


def _hidden_args(argv: list[str], hidden: Sequence[str]) -> list[str]:
    """Masks for the hidden paths that lie inside something bound (else they are invisible already):
    an empty tmpfs over a dir, /dev/null over a file."""
    bound = [argv[i + 2] for i, a in enumerate(argv) if a in ("--ro-bind", "--bind", "--ro-bind-fd")]
    masks = []
    for path in sorted(hidden):
        if any(path == b or path.startswith(b.rstrip("/") + "/") for b in bound) and path not in bound:
            masks += ["--tmpfs", path] if os.path.isdir(path) else ["--ro-bind", "/dev/null", path]
    return masks


# A fresh /proc for the new PID namespace; nested in another sandbox or a container that masks parts of
# /proc the kernel refuses that mount, and a read-only bind of the outer /proc still gives every other
# protection (the outer PIDs are visible there but cannot be signalled from the new PID namespace).
_PROC_FRESH, _PROC_BIND = ("--proc", "/proc"), ("--ro-bind", "/proc", "/proc")
_bwrap_proc = list(_PROC_FRESH)


def _bwrap_proc_args() -> list[str]:
    return list(_bwrap_proc)


def _unshare_argv(workdir: Path, writable: Sequence[Path], readonly: Sequence[Path], *,
                 tmpfs_bytes: int = Limits.tmpfs_bytes, uid: int | None = None, hidden: Sequence[str] = ()) -> list[str]:
    """The unshare tier's command up to the program's argv: a private root (private_root.py) showing what
    bwrap's would show, then every capability dropped and, with `uid` (a root evaluator), that uid."""
    readonly_dirs = [*_toolchain_dirs(), *(str(p) for p in readonly)]
    writable_dirs = [str(p) for p in writable]
    bound = [*_SYSTEM_DIRS, *readonly_dirs, *writable_dirs, str(workdir)]
    masked = [path for path in sorted(hidden)
              if any(path.startswith(b.rstrip("/") + "/") for b in bound) and path not in bound]
    drop = drop_caps_prefix() if uid is None else _setpriv_uid(uid)
    return private_root_argv(workdir=str(workdir), readonly=readonly_dirs, writable=writable_dirs, masked=masked,
                             tmpfs_bytes=tmpfs_bytes, drop=drop)


def _probe(tier: str) -> str | None:
    """Run `true` through the tier's wrapper exactly as `run` would; None if it works, else why not. For a
    root evaluator a tier works only if it can run programs as an unprivileged uid: no tier runs them as
    root (uid 0 without capabilities still owns /etc and can set /proc/sys/kernel/core_pattern where
    nothing makes it read-only)."""
    problem = _probe_wrapper(tier)
    if problem is None and os.geteuid() == 0:
        problem = _uid_problem(tier)
    return problem


def _probe_wrapper(tier: str) -> str | None:
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


def _uid_problem(tier: str) -> str | None:
    """Why a root evaluator cannot run programs as an unprivileged uid in `tier`, or None."""
    if tier == "rlimits":  # no mounts: the toolchains must be reachable where they are
        for needed in (Path(sys.prefix).resolve(), Path(sys.executable).resolve().parent):
            if not _searchable_by_others(needed):
                return (f"rlimits as root: {needed} is below a folder other users cannot enter, so programs "
                        "could only run as root, which no tier does")
    if not _uid_probe(tier):
        return f"{tier} as root: a program could not run as an unprivileged uid (setpriv missing or refused)"
    return None


def _probe_once(tier: str) -> str | None:
    exe = tier
    with scratch_dir() as work:
        env = {**MINIMAL_ENV, "HOME": str(work)}
        # the unshare probe also proves it can make a path read-only (the tool cache must be)
        argv = _bwrap_argv(work, env, (), ()) if tier == "bwrap" else _unshare_argv(work, (), ())
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
                      "unshare": "unshare + mount: private root with read-only system dirs, private /tmp, "
                                 "masked homes, no network, private PIDs",
                      "rlimits": "rlimits and process groups only: NO isolation"}[tier]
            if tier == "bwrap" and _bwrap_proc[0] != _PROC_FRESH[0]:
                reason += "; nested: the outer /proc is bound read-only (a fresh /proc was refused)"
            if why_not:
                reason += " (" + "; ".join(why_not) + ")"
            return tier, reason
        why_not.append(problem)
    raise SandboxUnavailable("no sandbox tier works here: " + "; ".join(why_not) + "; `codegen doctor` "
                             "says what to install")


def strongest(*tiers: str) -> str:
    """The strongest of `tiers` (each one of TIERS); raises ValueError naming an unknown one."""
    for tier in tiers:
        if tier not in TIERS:
            raise ValueError(f"unknown sandbox tier {tier!r}; use bwrap, unshare or rlimits")
    return min(tiers, key=TIERS.index)


@functools.cache
def fork_guard() -> str | None:
    """What bounds a fork bomb here: "pids cgroup", "RLIMIT_NPROC" (non-root only: the kernel exempts
    root), or None (root without a writable pids cgroup: only the wall timeout stops it)."""
    cgroup = RunCgroup.create(uuid.uuid4().hex, 1, None)
    if cgroup is not None:
        cgroup.remove()
        if cgroup.pids_limited:
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


@functools.cache
def memory_guard() -> str:
    """What caps a program's memory here: the whole tree (a cgroup), or each process (RLIMIT_AS only)."""
    from codegen_cli.evaluate.sandbox.cgroups import memory_cgroup_available

    if memory_cgroup_available():
        return "cgroup memory limit (whole process tree)"
    return "RLIMIT_AS per process only (no writable memory cgroup: a program's processes together may use more)"


class UidPool:
    """Unprivileged uids for sandboxed programs when the evaluator is root: one per concurrent run, so
    programs can neither read root-only files nor write the root-owned tool cache, nor signal each other.
    The range depends on the evaluator's pid so that two evaluators on one host do not share uids.

    `acquire` never runs out: past `size` concurrent users (more workers than that, or warm runtimes that
    hold a uid for their life) it hands out fresh uids above the range. Returning None there meant "run as
    the evaluator", i.e. real uid 0 without capabilities, which may still write root-owned files and
    sysctls such as /proc/sys/kernel/core_pattern (a host root escape)."""

    BASE = 100_000

    def __init__(self, size: int = 64) -> None:
        start = self.BASE + (os.getpid() % 2000) * size
        self._free = list(range(start, start + size))
        self._next = self.BASE + 2000 * size + (os.getpid() % 2000) * 1024  # overflow uids, still per pid
        self._lock = threading.Lock()

    def acquire(self) -> int:
        with self._lock:
            if self._free:
                return self._free.pop()
            self._next += 1
            return self._next - 1

    def release(self, uid: int | None) -> None:
        if uid is not None:
            with self._lock:
                self._free.append(uid)


class Sandbox:
    """Runs programs in one isolation tier; safe to share between threads."""

    def __init__(self, tier: str = "auto", minimum: str = "rlimits") -> None:
        """`minimum`: the weakest tier allowed (the stronger of it and CODEGEN_SANDBOX_MIN); a host that
        cannot give it raises SandboxUnavailable naming the tier it has and why the stronger ones failed."""
        if tier == "auto":
            self.tier, self.reason = detect_tier()
        elif tier in TIERS:
            problem = _probe_cached(tier)
            if problem is not None:
                raise SandboxUnavailable(f"sandbox tier {tier!r} does not work here: {problem}")
            self.tier, self.reason = tier, f"requested tier {tier}"
        else:
            raise ValueError(f"unknown sandbox tier {tier!r}; use auto, bwrap, unshare or rlimits")
        required = strongest(minimum, os.environ.get(MIN_ENV) or "rlimits")
        if TIERS.index(self.tier) > TIERS.index(required):
            raise SandboxUnavailable(
                f"the sandbox tier here is {self.tier} ({self.reason}), weaker than the required minimum "
                f"{required}; `codegen doctor` says what the host lacks")
        protect_evaluator()
        # A root evaluator runs every program as an unprivileged uid, in every tier: bwrap and unshare bind
        # the toolchains into a root whose parents are world-searchable; the rlimits tier works as root only
        # where they are reachable as they are (its probe checks), and a run whose paths are not is refused.
        self.uids = UidPool() if os.geteuid() == 0 else None  # the probe proved the uid switch works
        self.memory_guard = memory_guard()
        self.hidden: set[str] = set()
        if self.tier == "rlimits":
            _warn_once("sandbox: tier 'rlimits' has NO namespace isolation: untrusted code can read what its "
                       "uid can read, write what it can write, use the network and signal its uid's processes. "
                       "Install bubblewrap or allow namespaces (`codegen doctor`). (" + self.reason + ")")

    def hide(self, *paths: Path | str) -> None:
        """Never show these paths to this sandbox's programs (the problems and samples files, the output
        folder, this package), even when they sit inside a dir that toolchains need."""
        for path in paths:
            resolved = Path(path).resolve()
            if resolved.exists():
                self.hidden.add(str(resolved))

    def _check_reachable(self, *paths: Path) -> None:
        """bwrap and unshare bind a run's paths into a root whose parents are world-searchable; the rlimits
        tier has no mounts, so a path below a 0700 folder (a tool cache in /root) is out of the program
        uid's reach, and the run is refused (SandboxUnavailable: the executor records sandbox_error) rather
        than run as root."""
        if self.tier != "rlimits":
            return
        blocked = [str(path) for path in paths if not _searchable_by_others(Path(path))]
        if blocked:
            raise SandboxUnavailable(f"the rlimits tier runs programs as an unprivileged uid, which cannot reach "
                                     f"{blocked[0]} (below a folder other users cannot enter); set "
                                     "CODEGEN_EVAL_CACHE to a folder outside /root, or get bwrap or unshare working")

    @property
    def uid_note(self) -> str:
        if self.uids is not None:
            return "programs run as an unprivileged uid (one per concurrent run)"
        return f"programs run as the evaluator's uid {os.geteuid()}"

    def run(self, argv: list[str], *, workdir: Path, limits: Limits, env: dict[str, str] | None = None,
            writable_paths: Sequence[Path] = (), readonly_paths: Sequence[Path] = (),
            stdin_data: bytes | None = None,
            evidence_prefix: str | tuple[str, ...] | None = None, pass_fds: Sequence[int] = ()) -> SandboxResult:
        """Run `argv` in `workdir` (its cwd, writable) under `limits`; never raises for what the program does.

        The environment is MINIMAL_ENV + HOME/TMPDIR=workdir + `env`. `writable_paths` are extra shared
        dirs (compile caches); under bwrap everything else is read-only. Every stdout line that starts
        with `evidence_prefix` is returned in `evidence`, however much the program prints. `pass_fds`
        stay open in the program (e.g. a socket to the eval runtime's judge).
        """
        workdir = Path(workdir).resolve()
        for p in (workdir, *writable_paths, *readonly_paths):
            if not Path(p).exists():
                raise FileNotFoundError(f"sandbox path does not exist: {p}")
        token = uuid.uuid4().hex
        full_env = {**MINIMAL_ENV, "HOME": str(workdir), "TMPDIR": str(workdir), **(env or {}),
                    TOKEN_VAR: token}
        total = limits.total_memory_bytes or limits.memory_bytes or (4 << 30)
        cgroup = RunCgroup.create(token, limits.max_processes, total)
        if self.uids is not None:
            self._check_reachable(workdir, *writable_paths, *readonly_paths)
        uid = self.uids.acquire() if self.uids is not None else None
        try:
            if uid is not None:
                for path in (workdir, *writable_paths):
                    _chown_tree(Path(path), uid)
            return self._run(argv, workdir=workdir, limits=limits, env=full_env, writable=writable_paths,
                             readonly=readonly_paths, stdin_data=stdin_data, token=token, cgroup=cgroup,
                             uid=uid, evidence_prefix=evidence_prefix, pass_fds=tuple(pass_fds))
        finally:
            if cgroup is not None:
                cgroup.remove()
            if uid is not None:
                for path in (workdir, *writable_paths):
                    _chown_tree(Path(path), os.geteuid())
            if self.uids is not None:
                self.uids.release(uid)

    def wrap(self, argv: list[str], *, workdir: Path, limits: Limits, env: dict[str, str],
             writable: Sequence[Path] = (), readonly: Sequence[Path] = (), cgroup: RunCgroup | None = None,
             uid: int | None = None) -> tuple[list[str], object]:
        """The full command (limits, cgroup, uid, tier wrapper) for `argv`, and a preexec_fn fallback."""
        cpu = limits.cpu_seconds if limits.cpu_seconds is not None else math.ceil(limits.wall_seconds) + 1
        if self.tier == "bwrap":
            wrapper = _bwrap_argv(workdir, env, [Path(p).resolve() for p in writable],
                                  [Path(p).resolve() for p in readonly], tmpfs_bytes=limits.tmpfs_bytes, uid=uid,
                                  hidden=sorted(self.hidden))
        elif self.tier == "unshare":
            wrapper = _unshare_argv(workdir, [Path(p).resolve() for p in writable],
                                    [Path(p).resolve() for p in readonly], tmpfs_bytes=limits.tmpfs_bytes, uid=uid,
                                    hidden=sorted(self.hidden))
        else:
            wrapper = drop_caps_prefix() if uid is None else _setpriv_uid(uid)
        rlimits = {"cpu_seconds": cpu, "memory_bytes": limits.memory_bytes,
                   "file_size_bytes": limits.file_size_bytes, "open_files": limits.open_files,
                   # RLIMIT_NPROC counts every process of the uid; per-run uids make it per run
                   "max_processes": limits.max_processes}
        prefix = rlimit_prefix(**rlimits)
        preexec = None if prefix else rlimit_preexec(**rlimits)
        command = pdeathsig_prefix() + cgroup_join_prefix(cgroup) + prefix + wrapper + list(argv)
        return command, preexec

    def server_command(self, argv: list[str], *, workdir: Path, env: dict[str, str],
                       readonly: Sequence[Path] = (), tmpfs_bytes: int = Limits.tmpfs_bytes,
                       cgroup: RunCgroup | None = None) -> list[str] | None:
        """The command for a trusted long-lived server inside this sandbox (the eval runtime's zygote), or
        None when the tier cannot host one (only bwrap can). It sees what a program sees (same binds and
        masks) but keeps CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID and CAP_KILL (in bwrap's user namespace
        when the evaluator is not root) so that it can give each program it forks its own mount, PID, IPC
        and UTS namespaces, private tmpfs mounts and, as root, an unprivileged uid, and end it; each program
        drops every capability before any of its code runs (runtime/zygote.py). No rlimits: the programs
        set their own. With `cgroup` the server and everything it starts join it."""
        if self.tier != "bwrap":
            return None
        wrapper = _bwrap_argv(Path(workdir).resolve(), env, [], [Path(p).resolve() for p in readonly],
                              tmpfs_bytes=tmpfs_bytes, hidden=sorted(self.hidden), server=True)
        return pdeathsig_prefix() + cgroup_join_prefix(cgroup) + wrapper + list(argv)

    def _run(self, argv, *, workdir, limits, env, writable, readonly, stdin_data, token,
             cgroup, uid, evidence_prefix, pass_fds=()) -> SandboxResult:
        command, preexec = self.wrap(argv, workdir=workdir, limits=limits, env=env, writable=writable,
                                     readonly=readonly, cgroup=cgroup, uid=uid)
        stdin = _stdin_file(stdin_data)
        try:
            proc = subprocess.Popen(command, cwd=workdir, env=env, stdin=stdin, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True, close_fds=True,
                                    preexec_fn=preexec, pass_fds=pass_fds)  # noqa: PLW1509 (only without prlimit)
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
                       on_exit=lambda _timed_out: kill_leftovers(proc.pid, token, cgroup),
                       evidence_prefix=_prefixes(evidence_prefix))
            returncode = proc.wait()
        stdout = out.stdout.decode("utf-8", errors="replace")
        stderr = out.stderr.decode("utf-8", errors="replace")
        if out.killed_reason:
            stderr += f"\n[sandbox] killed: {out.killed_reason}\n"
        oom = cgroup is not None and cgroup.oom_killed()
        if oom:
            stderr += "\n[sandbox] killed: the run's memory limit was reached\n"
        return SandboxResult(
            returncode=None if out.timed_out else returncode, stdout=stdout, stderr=stderr,
            timed_out=out.timed_out,
            memory_exceeded=oom or (not (out.timed_out or out.killed_reason)
                                    and _looks_like_oom(returncode, stderr)),
            output_truncated=out.truncated, seconds=out.seconds, tier=self.tier,
            evidence=[line.decode("utf-8", errors="replace") for line in out.evidence])


def _prefixes(value: str | tuple[str, ...] | None) -> tuple[bytes, ...] | None:
    if not value:
        return None
    return tuple(v.encode() for v in ((value,) if isinstance(value, str) else value))


def _searchable_by_others(path: Path) -> bool:
    """Every folder above `path` lets other users pass (o+x), so an unprivileged uid can reach `path`."""
    for parent in Path(path).resolve().parents:
        try:
            if not os.stat(parent).st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _chown_tree(root: Path, uid: int) -> None:
    """Hand a run dir to the program's uid before the run, and back to the evaluator after it."""
    gid = uid if uid != os.geteuid() else os.getegid()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
            try:
                os.lchown(name, uid, gid)
            except OSError:
                pass


@functools.cache
def _uid_probe(tier: str) -> bool:
    """Whether a program started as an unprivileged uid in `tier` can run the evaluator's Python (bwrap as
    that uid needs unprivileged user namespaces; in the rlimits tier the toolchains must be reachable)."""
    if shutil.which("setpriv") is None:
        return False
    uid = UidPool.BASE - 1
    with scratch_dir() as work:
        env = {**MINIMAL_ENV, "HOME": str(work)}
        _chown_tree(work, uid)
        if tier == "bwrap":
            prefix = _bwrap_argv(work, env, (), (), uid=uid)
        elif tier == "unshare":
            prefix = _unshare_argv(work, (), (), uid=uid)
        else:
            prefix = _setpriv_uid(uid)
        argv = prefix + [sys.executable, "-c", "import os; assert os.getuid() > 0; open('probe', 'w').close()"]
        try:
            done = subprocess.run(argv, cwd=work, env=env, capture_output=True, timeout=20,
                                  stdin=subprocess.DEVNULL, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return False
        finally:
            _chown_tree(work, os.geteuid())
    return done.returncode == 0


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
