"""The judge server: one trusted process per eval worker, outside the sandbox, that scores programs.

For each job from the evaluator it has the zygote (inside the sandbox) assign a prepared candidate, sends
the candidate its program, runs the dataset's tests against it (Python: in this process, in a fresh
namespace, `pyjudge`; JavaScript: in its node judge, `NodeJudge`, relaying the frames), drains the
candidate's output while it waits for answers (head and tail kept), asks the zygote to end the
candidate, and replies with the verdict. It never runs sample code and never holds a sample's objects:
only frames of plain data reach it. The zygote never sees a test or a program (they go from here to the
candidate directly), so no candidate, a fork of the zygote, can find one in its memory; and no candidate
can see this process (it is outside the sandbox's PID namespace).

Links: the evaluator <-> this server is a SOCK_STREAM pair (`wire` frames; a one-byte message before each
job may carry file descriptors); this server <-> the zygote is a SOCK_SEQPACKET pair (`zygote.send_control`
messages: spawn / kill / preload out; ready / started with the candidate's call channel, stdout and stderr
attached / exited back). In the per-program fallback there is no zygote: the evaluator starts each
candidate in its own sandbox and hands this server the judge's end of the call channel ("external").
"""

from __future__ import annotations

import json
import os
import select
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codegen_cli.evaluate.runtime.pyjudge import run_tests
from codegen_cli.evaluate.runtime.wire import (
    MAX_ANSWER,
    Closed,
    Expired,
    PlainDataError,
    recv_frame,
    recv_raw,
    send_frame,
    send_raw,
    wait_readable,
)
from codegen_cli.evaluate.runtime.zygote import SETUP_DONE, SETUP_FAILED, receive_control, send_control
from codegen_cli.evaluate.sandbox.output import StreamKeeper

KILL_WAIT = 5.0  # seconds to wait for the zygote to report a killed candidate's exit
JUDGE_SLACK = 2.0  # seconds past the program's limit before a silent JavaScript judge is killed
ASSIGN_WAIT = 60.0  # seconds to wait for a candidate: the previous program's sweep and the next spare
SIGNALS = {signal.SIGXCPU: "its CPU time limit", signal.SIGKILL: "SIGKILL", signal.SIGSEGV: "a segfault"}


def describe_exit(code: int | None) -> str:
    """A candidate's exit as words (death by signal N is -N, or 128+N from a shell or bwrap)."""
    if code is None:
        return "unknown"
    if code < 0 or code > 128:
        number = -code if code < 0 else code - 128
        try:
            name = SIGNALS.get(signal.Signals(number)) or signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"killed by {name}"
    return f"exit status {code}"


class Pump:
    """Waits for the judge's answers while draining the candidate's stdout/stderr (head and tail kept) and
    taking the zygote's reports as they come."""

    def __init__(self, server: Server, out_r: int, err_r: int, output_bytes: int) -> None:
        half = output_bytes // 2
        self.server = server
        self.keepers = {out_r: StreamKeeper(half, half), err_r: StreamKeeper(half, half)}
        self.open = {out_r, err_r}  # pipes not yet at EOF
        self.poller = select.poll()
        for fd in (out_r, err_r, server.ctrl.fileno()):
            self.poller.register(fd, select.POLLIN)

    def wait(self, sock: socket.socket | int, deadline: float) -> bool:
        """`wire.recv_frame`'s wait: True once `sock` is readable, False at `deadline`."""
        fd = sock if isinstance(sock, int) else sock.fileno()
        self.poller.register(fd, select.POLLIN)
        try:
            return self.until(deadline, lambda: False, fd)
        finally:
            self.poller.unregister(fd)

    def until(self, deadline: float, done: Callable[[], bool], target: int | None = None) -> bool:
        """Serve output and reports until `target` is readable or `done()` (True), or `deadline` (False)."""
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            for fd, _event in self.poller.poll(left * 1000):
                if fd == target:
                    return True
                if fd in self.keepers:
                    self._read(fd)
                elif self.server.control() is None:
                    self.poller.unregister(fd)  # the zygote is gone
        return True

    def _read(self, fd: int) -> bool:
        chunk = os.read(fd, 1 << 16)
        if chunk:
            self.keepers[fd].feed(chunk)
            return True
        if fd in self.open:
            self.poller.unregister(fd)
            self.open.discard(fd)
        return False

    def drain(self, deadline: float | None) -> None:
        """Read the pipes: until EOF (by `deadline`), or, with None, only what is already in them."""
        if deadline is not None:
            self.until(deadline, lambda: not self.open)
        for fd in list(self.open):
            os.set_blocking(fd, False)
            try:
                while self._read(fd):
                    pass
            except BlockingIOError:
                pass
        for fd in self.keepers:
            os.close(fd)

    def output(self) -> tuple[str, str, bool]:
        out, err = (k.text().decode("utf-8", "replace") for k in self.keepers.values())
        return out, err, any(k.truncated for k in self.keepers.values())


class Server:
    def __init__(self, link: socket.socket, ctrl: socket.socket | None, node: dict[str, Any] | None = None) -> None:
        self.link, self.ctrl, self.node = link, ctrl, node
        self._node_judge: NodeJudge | None = None
        self.preloaded: set[str] = set()
        self.counter = 0
        self.zygote_alive = ctrl is not None
        self.started: dict[int, list[int]] = {}  # program id -> its fds (channel, stdout, stderr)
        self.exits: dict[int, dict[str, Any]] = {}  # program id -> the zygote's `exited` report

    def control(self) -> dict[str, Any] | None:
        """Take one report from the zygote (None: it is gone)."""
        message, fds = receive_control(self.ctrl)
        if message is None:
            self.zygote_alive = False
            return None
        ident = message.get("id")
        if message.get("op") == "started":
            self.started[ident] = fds
        else:
            for fd in fds:
                os.close(fd)
            if message.get("op") == "exited":
                self.exits[ident] = message
                self.exits.pop(ident - 8, None)  # reports nobody waits for any more
        return message

    def node_judge(self) -> NodeJudge:
        """The JavaScript judge (a node process of its own, started at the first JavaScript job)."""
        if self._node_judge is None or not self._node_judge.alive():
            if self._node_judge is not None:
                self._node_judge.close()
            self._node_judge = NodeJudge((self.node or {}).get("path") or "node")
        return self._node_judge

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
            try:
                send_frame(chan, {"source": job["source"], "names": job["names"]})
            except OSError:
                pass  # the candidate is gone already: the judge reports it
            verdict = self._judge(job, chan, start + float(job["timeout"]), wait_readable)
        return {**verdict, "seconds": time.monotonic() - start}

    def _judge(self, job: dict[str, Any], chan: socket.socket, deadline: float,
               wait: Callable[[Any, float], bool]) -> dict[str, Any]:
        """Run the job's test against the candidate on `chan`: Python here, JavaScript in the node judge."""
        if job.get("kind") != "node":
            return run_tests(chan, job, deadline, wait=wait)
        try:
            judge = self.node_judge()
        except OSError as exc:
            return _error(f"the JavaScript judge did not start: {exc}")
        return judge.run(job, chan, deadline, wait)

    def _assigned(self, ident: int) -> list[int] | None:
        """Ask the zygote for a candidate; its fds once assigned (None: the zygote failed)."""
        try:
            send_control(self.ctrl, {"op": "spawn", "id": ident})
        except OSError:
            self.zygote_alive = False
            return None
        deadline = time.monotonic() + ASSIGN_WAIT
        while ident not in self.started and self.zygote_alive:
            if not select.select([self.ctrl], [], [], max(0.0, deadline - time.monotonic()))[0]:
                return None
            self.control()
        return self.started.pop(ident, None)

    def _with_zygote(self, job: dict[str, Any]) -> dict[str, Any]:
        wanted = [m for m in job.get("preload", []) if m not in self.preloaded]
        if wanted:  # e.g. numpy: the zygote imports it once; the spares forked after this have it warm
            self.preloaded.update(wanted)
            try:
                send_control(self.ctrl, {"op": "preload", "modules": wanted})
            except OSError:
                self.zygote_alive = False
        self.counter += 1
        ident = self.counter
        fds = self._assigned(ident)
        if fds is None or len(fds) != 4:
            for fd in fds or ():
                os.close(fd)
            return _error("the zygote is gone" if not self.zygote_alive else "the zygote assigned no candidate")
        start = time.monotonic()
        chan, out_r, err_r = socket.socket(fileno=fds[0]), fds[1], fds[2]
        pump = Pump(self, out_r, err_r, int(job.get("output_bytes", 64 << 10)))
        with chan:
            try:
                send_frame(chan, {"source": job["source"], "names": job["names"]})
            except OSError:
                pass  # the candidate is gone already (its sandbox failed): the judge reports it
            verdict = self._judge(job, chan, start + float(job["timeout"]), pump.wait)
        try:
            send_control(self.ctrl, {"op": "kill", "id": ident})
        except OSError:
            self.zygote_alive = False
        if verdict.get("ended"):  # how it ended is part of the reason: wait for the zygote's report
            pump.until(time.monotonic() + KILL_WAIT, lambda: ident in self.exits or not self.zygote_alive)
            pump.drain(time.monotonic() + KILL_WAIT)
        else:  # the zygote sweeps the program before it assigns the next one; no need to wait here
            pump.drain(None)
        report = self.exits.get(ident, {})
        stdout, stderr, truncated = pump.output()
        reply = _settle(verdict, report.get("status"), stdout, stderr, truncated=truncated,
                        built=_setup_done(fds[3]))
        reply["seconds"] = time.monotonic() - start
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


class NodeJudge:
    """The trusted JavaScript judge (jsjudge.js) and the relay between it and a candidate: each frame the
    judge addresses to the candidate goes to the candidate's channel, each frame of the candidate back to
    the judge, and the clock is kept here (`expired`, `closed` notes instead of an answer)."""

    def __init__(self, node: str) -> None:
        here = Path(__file__).resolve().parent
        wire_js = (here / "jswire.js").read_text()
        source = wire_js + f"\nconst cgWireSource = {json.dumps(wire_js)};\n" + (here / "jsjudge.js").read_text()
        to_judge, self.to_w = os.pipe()
        self.from_r, from_judge = os.pipe()
        self.proc = subprocess.Popen([node, "-e", source, str(to_judge), str(from_judge)],
                                     pass_fds=[to_judge, from_judge], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL)
        os.close(to_judge)
        os.close(from_judge)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        for fd in (self.to_w, self.from_r):
            os.close(fd)
        if self.alive():
            self.proc.kill()
        self.proc.wait()

    def _note(self, message: dict[str, Any]) -> None:
        send_raw(self.to_w, b"J" + json.dumps(message).encode())

    def run(self, job: dict[str, Any], chan: socket.socket, deadline: float,
            wait: Callable[[Any, float], bool]) -> dict[str, Any]:
        left = max(1, int((deadline - time.monotonic()) * 1000))
        try:
            self._note({"op": "run", "trusted": job["trusted"], "test": job["test"], "names": job["names"],
                        "reference": job.get("reference", ""), "entry": job.get("entry", ""),
                        "timeout_ms": left})
            while True:
                frame = recv_raw(self.from_r, deadline + JUDGE_SLACK, wait=wait)
                kind, body = frame[:1], frame[1:]
                if kind == b"C":  # a call: to the candidate, then its answer back
                    try:
                        send_raw(chan, body)
                    except OSError:
                        self._note({"op": "closed"})
                        continue
                    self._relay(chan, deadline, wait)
                elif kind == b"J":
                    message = json.loads(body)
                    if message.get("op") == "verdict":
                        return {k: message[k] for k in ("status", "reason", "calls", "ended") if k in message}
                    if message.get("op") == "greet":
                        self._relay(chan, deadline, wait)
        except (Expired, Closed, PlainDataError, OSError, ValueError) as exc:
            self.proc.kill()  # stuck or broken: the next JavaScript job starts a new judge
            if isinstance(exc, Expired):
                return {"status": "timeout", "reason": "the test did not finish within the time limit", "calls": 0}
            return _error(f"the JavaScript judge failed: {exc!r}")

    def _relay(self, chan: socket.socket, deadline: float, wait: Callable[[Any, float], bool]) -> None:
        try:
            answer = recv_raw(chan, deadline, MAX_ANSWER, wait=wait)  # relayed with a prefix: under MAX_FRAME
        except Expired:
            self._note({"op": "expired"})
        except (Closed, OSError):
            self._note({"op": "closed"})
        except PlainDataError as exc:
            self._note({"op": "refused", "reason": str(exc)})
        else:
            send_raw(self.to_w, b"C" + answer)


def _setup_done(fd: int) -> bool:
    """Whether the candidate's sandbox was built (its spare wrote SETUP_DONE before any program code ran);
    closes `fd`."""
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 1) == SETUP_DONE
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _settle(verdict: dict[str, Any], exit_code: int | None, stdout: str, stderr: str, *,
            truncated: bool, built: bool = False) -> dict[str, Any]:
    """The reply: the judge's verdict, refined by how the candidate ended (CPU limit, setup failure). Only a
    candidate whose sandbox was not `built` can have failed setting it up: a program's own exit status 125
    and `[runtime]` text are its own failure."""
    status, reason = verdict.get("status", "sandbox_error"), verdict.get("reason", "")
    if verdict.get("ended"):
        if exit_code in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
            status = "timeout"
        reason += f" ({describe_exit(exit_code)})"
    if exit_code == SETUP_FAILED and not built and "[runtime]" in stderr:
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
    Server(link, ctrl, config.get("node")).serve()


if __name__ == "__main__":
    main()
