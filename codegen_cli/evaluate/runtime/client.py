"""The evaluator's side of the warm runtime: one judge server (+ one zygote in the sandbox) per worker.

`RuntimePool(sandbox, limits, ...)` hands each worker thread a `Runtime`; `Runtime.score(job)` returns a
`Verdict`. Modes (recorded in summary.json as the language's runtime):
- "zygote": the bwrap tier can host a zygote (sandbox.server_command) and it started and passed its
  first job: programs are forked from it, each in its own namespaces and tmpfs, as an unprivileged uid,
  one at a time in the runtime's cgroup (as root: pids + memory caps, OOM kills counted per program);
- "per-program": otherwise (unshare/rlimits tiers, or a zygote that failed to start, with the reason):
  each candidate is a fresh interpreter in its own `Sandbox.run`, as every other language runs.
In both modes the dataset's tests run in the judge server's forked judge process, outside the sandbox.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen_cli.evaluate.runtime.wire import Closed, Expired, PlainDataError, recv_frame, send_frame
from codegen_cli.evaluate.sandbox import MINIMAL_ENV, make_scratch, remove_tree, scratch_dir
from codegen_cli.evaluate.sandbox.cgroups import RunCgroup

HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parents[2]  # the dir holding codegen_cli/ (the judge server imports it from there)
START_TIMEOUT = 90.0  # seconds for a judge server and its zygote to come up (bwrap + imports, loaded host)
SERVER_PROCESSES = 8  # the runtime's own processes in its cgroup: bwrap (2), the zygote, init, the spare
SERVER_MEMORY = 128 << 20  # their memory, added to the program's cap
REPLY_GRACE = 30.0  # seconds past a job's limit before the judge server is declared hung


@functools.cache
def zygote_source() -> str:
    """wire.py + zygote.py as one `python -c` program (the package is hidden inside the sandbox)."""
    return (HERE / "wire.py").read_text() + "\n" + (HERE / "zygote.py").read_text()


@functools.cache
def node_runner_source() -> str:
    """jswire.js + jsrunner.js as one `node -e` program: the JavaScript candidate's side."""
    return (HERE / "jswire.js").read_text() + "\n" + (HERE / "jsrunner.js").read_text()


@dataclass
class Verdict:
    status: str  # passed | failed | timeout | memory | sandbox_error
    reason: str
    exit_code: int | None
    stdout: str
    stderr: str
    seconds: float
    calls: int = 0


def _limits_spec(limits: Any) -> dict[str, Any]:
    cpu = limits.cpu_seconds if limits.cpu_seconds is not None else int(limits.wall_seconds) + 2
    return {"cpu_seconds": cpu, "memory_bytes": limits.memory_bytes, "file_size_bytes": limits.file_size_bytes,
            "open_files": limits.open_files, "max_processes": limits.max_processes}


class RuntimeUnavailable(RuntimeError):
    """A judge server (or its zygote) could not start; the message says why."""


class Runtime:
    """A judge server process and, in zygote mode, its zygote; used by one thread at a time."""

    def __init__(self, pool: RuntimePool) -> None:
        self.pool = pool
        self.uid = pool.sandbox.uids.acquire() if pool.zygote and pool.sandbox.uids is not None else None
        self.server: subprocess.Popen | None = None
        self.zygote: subprocess.Popen | None = None
        self.cgroup: RunCgroup | None = None
        self.link: socket.socket | None = None
        self.workdir: Path | None = None
        self.logs: list[Any] = []
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        pool = self.pool
        link, link_server = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.link = link
        passed = [link_server]
        ctrl_server = None
        if pool.zygote:
            ctrl_server, ctrl_zygote = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            passed.append(ctrl_server)
            try:
                self._start_zygote(ctrl_zygote)
            finally:
                ctrl_zygote.close()
        config = {"link": link_server.fileno(), "ctrl": ctrl_server.fileno() if ctrl_server else None,
                  "parent": os.getpid(), "start_timeout": START_TIMEOUT, "preload": list(pool.preload),
                  "node": pool.node}
        boot = (f"import sys; sys.path.insert(0, {str(PACKAGE_ROOT)!r}); "
                "from codegen_cli.evaluate.runtime.server import main; main()")
        log = self._log()
        try:
            self.server = subprocess.Popen([sys.executable, "-I", "-c", boot, json.dumps(config)],
                                           env=dict(MINIMAL_ENV), stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=log, pass_fds=[s.fileno() for s in passed], close_fds=True)
        finally:
            for sock in passed:
                sock.close()
        hello = self._receive(time.monotonic() + START_TIMEOUT, "the judge server to start")
        if pool.zygote and not hello.get("zygote"):
            raise RuntimeUnavailable(f"the zygote did not start: {hello.get('error', '?')}; {self._tail()}")
        if pool.zygote and pool.smoke is not None:  # prove a program can be forked and judged here
            verdict = self.score(*pool.smoke)
            if verdict.status != "passed":
                raise RuntimeUnavailable(f"the zygote's first program ended {verdict.status}: "
                                         f"{verdict.reason} {verdict.stderr[-500:]}".strip())

    def _log(self):
        handle = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.logs.append(handle)
        return handle

    def _tail(self) -> str:
        text = b""
        for handle in self.logs:
            handle.seek(0)
            text += handle.read()[-1500:]
        return text.decode("utf-8", "replace").strip()[-1500:] or "(no output)"

    def _start_zygote(self, ctrl: socket.socket) -> None:
        pool = self.pool
        limits = pool.limits
        self.workdir = make_scratch("zyg")
        env = {**MINIMAL_ENV, **pool.env, "HOME": str(self.workdir), "TMPDIR": str(self.workdir)}
        spec = {"limits": _limits_spec(limits), "uid": self.uid, "tmpfs_bytes": limits.tmpfs_bytes,
                "env": {**MINIMAL_ENV, **pool.env}}
        config = {"ctrl": ctrl.fileno(), "kind": pool.kind, "preload": list(pool.preload), "node": pool.node,
                  "spec": spec}
        if os.geteuid() == 0:  # the runtime's cgroup: programs run one at a time, so the caps are theirs
            total = limits.total_memory_bytes or limits.memory_bytes or (4 << 30)
            processes = limits.max_processes + SERVER_PROCESSES if limits.max_processes else None
            self.cgroup = RunCgroup.create(uuid.uuid4().hex, processes, total + SERVER_MEMORY)
        command = pool.sandbox.server_command([sys.executable, "-I", "-c", zygote_source(), json.dumps(config)],
                                              workdir=self.workdir, env=env, readonly=pool.readonly,
                                              tmpfs_bytes=limits.tmpfs_bytes, cgroup=self.cgroup)
        if command is None:
            raise RuntimeUnavailable(f"the {pool.sandbox.tier} tier cannot host a zygote")
        log = self._log()
        self.zygote = subprocess.Popen(command, cwd=self.workdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=log, pass_fds=[ctrl.fileno()], close_fds=True, start_new_session=True)

    def _receive(self, deadline: float, what: str) -> dict[str, Any]:
        try:
            return recv_frame(self.link, deadline)
        except Expired:
            raise RuntimeUnavailable(f"timed out waiting for {what}; {self._tail()}") from None
        except (Closed, OSError, PlainDataError) as exc:
            raise RuntimeUnavailable(f"the judge server failed while waiting for {what} ({exc}); "
                                     f"{self._tail()}") from None

    def score(self, job: dict[str, Any], source: str) -> Verdict:
        """Run one job: in zygote mode the zygote starts the candidate; else a fresh sandbox per program."""
        job = {**job, "source": source, "output_bytes": self.pool.limits.output_bytes}
        if self.pool.zygote:
            return self._score_forked(job)
        return self._score_external(job)

    def _send(self, job: dict[str, Any], fds: Sequence[int] = ()) -> None:
        socket.send_fds(self.link, [b"J"], list(fds)) if fds else self.link.send(b"J")
        send_frame(self.link, job)

    def _score_forked(self, job: dict[str, Any]) -> Verdict:
        kills = self.cgroup.oom_kills() if self.cgroup is not None else 0
        self._send(job)
        reply = self._receive(time.monotonic() + float(job["timeout"]) + REPLY_GRACE, "a verdict")
        if self.cgroup is not None and self.cgroup.oom_kills() > kills and reply.get("status") != "passed":
            reply["status"], reply["reason"] = "memory", "the program's memory limit was reached"
        return _verdict(reply)

    def _score_external(self, job: dict[str, Any]) -> Verdict:
        """The per-program fallback: the candidate runs in its own Sandbox.run, the judge in the server."""
        pool = self.pool
        judge_end, candidate_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._send({**job, "external": True}, [judge_end.fileno()])
        finally:
            judge_end.close()
        with scratch_dir() as work, candidate_end:
            argv = pool.external_command(job, candidate_end.fileno())
            result = pool.sandbox.run(argv, workdir=work, limits=pool.limits, env=dict(pool.env),
                                      readonly_paths=pool.readonly, pass_fds=[candidate_end.fileno()])
        reply = self._receive(time.monotonic() + float(job["timeout"]) + REPLY_GRACE, "a verdict")
        reply.update(exit_code=result.returncode, stdout=result.stdout, stderr=result.stderr)
        if result.timed_out:
            reply["status"], reply["reason"] = "timeout", "the program did not finish within the time limit"
        elif result.memory_exceeded and reply.get("status") != "passed":
            reply["status"] = "memory"
        reply["seconds"] = result.seconds
        return _verdict(reply)

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
        for proc in (self.server, self.zygote):
            if proc is not None and proc.poll() is None:
                proc.kill()
            if proc is not None:
                proc.wait()
        for handle in self.logs:
            handle.close()
        if self.cgroup is not None:
            self.cgroup.kill_all()
            self.cgroup.remove()
        if self.workdir is not None:
            remove_tree(self.workdir)
        if self.uid is not None:
            self.pool.sandbox.uids.release(self.uid)
            self.uid = None


def _verdict(reply: dict[str, Any]) -> Verdict:
    return Verdict(str(reply.get("status", "sandbox_error")), str(reply.get("reason", "")), reply.get("exit_code"),
                   str(reply.get("stdout", "")), str(reply.get("stderr", "")), float(reply.get("seconds", 0.0)),
                   int(reply.get("calls", 0)))


class RuntimePool:
    """Runtimes for one (sandbox, limits) pair: a worker thread borrows one per program."""

    def __init__(self, sandbox: Any, limits: Any, *, kind: str = "python", env: dict[str, str] | None = None,
                 readonly: Sequence[Path] = (), preload: Sequence[str] = (), node: dict[str, Any] | None = None,
                 external: Any = None, smoke: tuple[dict[str, Any], str] | None = None) -> None:
        self.sandbox, self.limits, self.kind = sandbox, limits, kind
        self.env = dict(env or {})  # added to the sandbox's minimal environment for every candidate
        self.smoke = smoke  # (job, source) that must pass on a new zygote, else the pool goes per-program
        self.readonly = tuple(readonly)
        self.preload, self.node = tuple(preload), node
        self.external_command = external  # (job, channel fd) -> argv of a per-program candidate
        self.zygote = sandbox.tier == "bwrap" and os.environ.get("CODEGEN_EVAL_RUNTIME") != "per-program"
        self.mode = "zygote" if self.zygote else "per-program"
        self.reason = ("forked from a zygote inside bwrap: per-program namespaces, tmpfs, uid and cgroup"
                       if self.zygote else f"no zygote in the {sandbox.tier} tier: one sandbox per program")
        self._idle: list[Runtime] = []
        self._lock = threading.Lock()
        self._closed = False
        # Runs `make` to start a runtime. Its sandbox's parent-death signal (setpriv --pdeathsig, bwrap
        # --die-with-parent) follows the THREAD that starts it: a caller whose worker threads end between
        # batches (reward.ExecutionReward keeps runtimes warm across calls) starts them on a long-lived one.
        self.start_runtime: Callable[[Callable[[], Runtime]], Runtime] = lambda make: make()

    def _new(self) -> Runtime:
        tried_zygote = self.zygote
        try:
            return Runtime(self)
        except RuntimeUnavailable as exc:
            if not tried_zygote:
                raise
            with self._lock:  # the zygote cannot run here: every later runtime is per-program
                first = self.zygote
                self.zygote, self.mode = False, "per-program"
                if first:
                    self.reason = f"the zygote failed ({str(exc)[:300]}): one sandbox per program"
            if first:
                from codegen_cli.output import warn

                warn(f"eval runtime: {self.reason}")
            return Runtime(self)

    @contextlib.contextmanager
    def runtime(self) -> Iterator[Runtime]:
        with self._lock:
            runtime = self._idle.pop() if self._idle else None
        if runtime is None:
            runtime = self.start_runtime(self._new)
        healthy = False
        try:
            yield runtime
            healthy = True
        finally:
            with self._lock:
                keep = healthy and not self._closed and runtime.server is not None and runtime.server.poll() is None
                if keep:
                    self._idle.append(runtime)
            if not keep:
                runtime.close()

    def score(self, job: dict[str, Any], source: str) -> Verdict:
        """Score one job on a borrowed runtime; infrastructure failures become a sandbox_error verdict and
        the broken runtime is replaced."""
        try:
            with self.runtime() as runtime:
                return runtime.score(job, source)
        except (RuntimeUnavailable, OSError, PlainDataError) as exc:
            return Verdict("sandbox_error", f"eval runtime: {exc}"[:1000], None, "", "", 0.0)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for runtime in idle:
            runtime.close()
