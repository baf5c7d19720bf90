"""The judge server: one trusted process per eval worker, outside the sandbox, that scores programs.

For each job from the evaluator it has the zygote (inside the sandbox) start the candidate, runs the
dataset's tests against it in a fresh namespace (`pyjudge`), drains the candidate's output while it waits
for answers (head and tail kept), and replies with the verdict once the candidate's whole process tree is
dead. It never runs sample code and never holds a sample's objects: only frames of plain data reach it.
The zygote never sees a test (this server holds them), so no candidate, a fork of the zygote, can find
one in its memory; and no candidate can see this process (it is outside the sandbox's PID namespace).

Links: the evaluator <-> this server is a SOCK_STREAM pair (`wire` frames; a one-byte message before each
job may carry file descriptors); this server <-> the zygote is a SOCK_SEQPACKET pair (`zygote.send_control`
messages carrying the candidate's fds: source memfd, call channel, stdout, stderr, cgroup.procs files).
In the per-program fallback there is no zygote: the evaluator starts each candidate in its own sandbox
and hands this server the judge's end of the call channel with the job ("external").
"""

from __future__ import annotations

import json
import os
import select
import selectors
import signal
import socket
import sys
import time
from typing import Any

from codegen_cli.evaluate.runtime.pyjudge import run_tests
from codegen_cli.evaluate.runtime.wire import Closed, recv_frame, send_frame
from codegen_cli.evaluate.runtime.zygote import SETUP_FAILED, receive_control, send_control
from codegen_cli.evaluate.sandbox.output import StreamKeeper

KILL_WAIT = 5.0  # seconds to wait for the zygote to report a killed candidate's exit
SIGNALS = {signal.SIGXCPU: "its CPU time limit", signal.SIGKILL: "SIGKILL", signal.SIGSEGV: "a segfault"}


def describe_exit(code: int | None) -> str:
    """A candidate's exit as words; the keeper reports death by signal N as 128+N."""
    if code is None:
        return "unknown"
    if code > 128:
        number = code - 128
        try:
            name = SIGNALS.get(signal.Signals(number)) or signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"killed by {name}"
    return f"exit status {code}"


class Pump:
    """Waits for the judge's answers while draining the candidate's stdout/stderr (head and tail kept) and
    noting the zygote's report that the candidate's process tree has ended."""

    def __init__(self, ctrl: socket.socket, ident: int, out_r: int, err_r: int, output_bytes: int) -> None:
        half = output_bytes // 2
        self.ctrl, self.ident = ctrl, ident
        self.keepers = {out_r: StreamKeeper(half, half), err_r: StreamKeeper(half, half)}
        self.poller = select.poll()
        for fd in (out_r, err_r, ctrl.fileno()):
            self.poller.register(fd, select.POLLIN)
        self.open = {out_r, err_r}  # pipes not yet at EOF
        self.exited, self.exit_code, self.cpu = False, None, None
        self.zygote_gone = False

    def wait(self, sock: socket.socket, deadline: float) -> bool:
        """`wire.recv_frame`'s wait: True once `sock` is readable, False at `deadline`."""
        self.poller.register(sock, select.POLLIN)
        try:
            return self._until(deadline, sock.fileno())
        finally:
            self.poller.unregister(sock)

    def _until(self, deadline: float, target: int | None) -> bool:
        while target is not None or not self.done:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            for fd, _event in self.poller.poll(left * 1000):
                if fd == target:
                    return True
                if fd in self.keepers:
                    chunk = os.read(fd, 1 << 16)
                    if chunk:
                        self.keepers[fd].feed(chunk)
                    else:
                        self.poller.unregister(fd)
                        self.open.discard(fd)
                else:
                    self._control()
        return True

    def _control(self) -> None:
        message, fds = receive_control(self.ctrl)
        for extra in fds:
            os.close(extra)
        if message is None:
            self.zygote_gone = True
            self.poller.unregister(self.ctrl)
        elif message.get("op") == "exited" and message.get("id") == self.ident:
            self.exited, self.exit_code, self.cpu = True, message.get("status"), message.get("cpu_seconds")

    @property
    def done(self) -> bool:
        return self.zygote_gone or (self.exited and not self.open)

    def finish(self) -> None:
        """Have the zygote end the candidate, then wait until its tree is gone and its pipes are drained."""
        if not self.exited and not self.zygote_gone:
            try:
                send_control(self.ctrl, {"op": "kill", "id": self.ident})
            except OSError:
                self.zygote_gone = True
        self._until(time.monotonic() + KILL_WAIT, None)
        for fd in self.keepers:
            os.close(fd)

    def output(self) -> tuple[str, str, bool]:
        out, err = (k.text().decode("utf-8", "replace") for k in self.keepers.values())
        return out, err, any(k.truncated for k in self.keepers.values())


class Server:
    def __init__(self, link: socket.socket, ctrl: socket.socket | None) -> None:
        self.link, self.ctrl = link, ctrl
        self.counter = 0
        self.zygote_alive = ctrl is not None

    def run_job(self, job: dict[str, Any], fds: list[int]) -> dict[str, Any]:
        if job.get("external"):
            return self._external(job, fds)
        if not self.zygote_alive:
            return _error("the zygote is gone")
        return self._with_zygote(job)

    def _external(self, job: dict[str, Any], fds: list[int]) -> dict[str, Any]:
        """The per-program fallback: the evaluator runs the candidate; this server only judges."""
        if not fds:
            return _error("an external job came without its channel")
        for fd in fds[1:]:
            os.close(fd)
        start = time.monotonic()
        with socket.socket(fileno=fds[0]) as chan:
            verdict = run_tests(chan, job, start + float(job["timeout"]))
        return {**verdict, "seconds": time.monotonic() - start}

    def _with_zygote(self, job: dict[str, Any]) -> dict[str, Any]:
        self.counter += 1
        ident = self.counter
        judge_end, candidate_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        source = os.memfd_create("main", os.MFD_CLOEXEC)
        os.write(source, job["source"].encode("utf-8", "surrogateescape"))
        os.lseek(source, 0, os.SEEK_SET)
        passed = [source, candidate_end.fileno(), out_w, err_w]
        passed += [os.open(path, os.O_WRONLY | os.O_CLOEXEC) for path in job.get("cgroup_procs", [])]
        spec = {"op": "spawn", "id": ident, **{k: job[k] for k in ("kind", "names", "limits", "env", "uid",
                                                                   "tmpfs_bytes")}}
        start = time.monotonic()
        try:
            send_control(self.ctrl, spec, passed)
        except OSError as exc:
            self.zygote_alive = False
            for fd in (out_r, err_r):
                os.close(fd)
            judge_end.close()
            return _error(f"the zygote is gone: {exc}")
        finally:
            candidate_end.close()
            for fd in passed[:1] + passed[2:]:
                os.close(fd)
        pump = Pump(self.ctrl, ident, out_r, err_r, int(job.get("output_bytes", 64 << 10)))
        with judge_end:
            verdict = run_tests(judge_end, job, start + float(job["timeout"]), wait=pump.wait)
        t_verdict = time.monotonic() - start
        pump.finish()
        t_done = time.monotonic() - start
        self.zygote_alive = not pump.zygote_gone
        stdout, stderr, truncated = pump.output()
        if not pump.exited:
            verdict = _error("the zygote is gone" if pump.zygote_gone
                             else "the zygote did not report the candidate's end")
        reply = _settle(verdict, pump.exit_code, stdout, stderr, truncated)
        reply.update(seconds=time.monotonic() - start, cpu=pump.cpu, timing=[t_verdict, t_done], start=start, ts=verdict.get("ts"))
        return reply

    def serve(self) -> None:
        while True:
            try:
                _marker, fds, _flags, _addr = socket.recv_fds(self.link, 1, 8)
                if not _marker:
                    return
                job = recv_frame(self.link)
            except (Closed, OSError):
                return
            try:
                reply = self.run_job(job, list(fds))
            except Exception as exc:  # noqa: BLE001 - report, keep serving
                reply = _error(f"judge server error: {exc!r}")
            send_frame(self.link, reply)


def _settle(verdict: dict[str, Any], exit_code: int | None, stdout: str, stderr: str,
            truncated: bool) -> dict[str, Any]:
    """The reply: the judge's verdict, refined by how the candidate ended (CPU limit, setup failure)."""
    status, reason = verdict.get("status", "sandbox_error"), verdict.get("reason", "")
    if verdict.get("ended"):
        if exit_code == 128 + signal.SIGXCPU:
            status = "timeout"
        reason += f" ({describe_exit(exit_code)})"
    if exit_code == SETUP_FAILED and "[runtime]" in stderr:
        status, reason = "sandbox_error", stderr.strip().splitlines()[-1][:500]
    return {"status": status, "reason": reason, "exit_code": exit_code, "stdout": stdout, "stderr": stderr,
            "truncated": truncated, "calls": verdict.get("calls", 0)}


def _error(reason: str) -> dict[str, Any]:
    return {"status": "sandbox_error", "reason": reason, "calls": 0}


def _wait_ready(ctrl: socket.socket, timeout: float) -> dict[str, Any]:
    selector = selectors.DefaultSelector()
    selector.register(ctrl, selectors.EVENT_READ)
    ready = selector.select(timeout)
    selector.close()
    if not ready:
        return {"op": "failed", "error": f"the zygote did not start within {timeout:.0f} s"}
    message, fds = receive_control(ctrl)
    for fd in fds:
        os.close(fd)
    return message or {"op": "failed", "error": "the zygote exited at start"}


def _protect() -> None:
    """Die with the evaluator; be unreadable to programs of the same uid (the tests are the answer key)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0


def main() -> None:
    config = json.loads(sys.argv[1])
    _protect()
    if os.getppid() != config["parent"]:
        sys.exit(0)  # the evaluator died before the parent-death signal was armed
    link = socket.socket(fileno=config["link"])
    ctrl = socket.socket(fileno=config["ctrl"]) if config.get("ctrl") is not None else None
    hello: dict[str, Any] = {"op": "ready", "zygote": None}
    if ctrl is not None:
        ready = _wait_ready(ctrl, float(config.get("start_timeout", 60)))
        if ready.get("op") == "ready":
            hello["zygote"] = ready
        else:
            hello["error"] = ready.get("error", "the zygote failed to start")
            ctrl.close()
            ctrl = None
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - what the tests print goes nowhere
    for name in config.get("preload", []):  # the tests' imports, once
        try:
            __import__(name)
        except ImportError:
            pass
    import gc

    gc.collect()
    gc.freeze()
    send_frame(link, hello)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    Server(link, ctrl).serve()


if __name__ == "__main__":
    main()
