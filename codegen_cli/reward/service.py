"""`codegen judge serve`: an `ExecutionReward` behind a small JSON-over-HTTP API on 127.0.0.1 or a unix socket.

For trainers in another process or language (verl, OpenRLHF and others call an HTTP sandbox for their
rewards). The protocol (docs/reward.md "Service"), shaped after SandboxFusion's (`/v1/ping`, a submit
that names a dataset's problem by id and carries the completion) but scoring a whole batch per request:

    GET  /health  -> 200 {"status": "ok", "queue": {...}, "problems": N, "languages": [...], ...}
    POST /score   {"completions": [str | [message, ...]], "task_id": [str], "verdicts": bool,
                   "timeout": seconds}
                  -> 200 {"rewards": [float], "verdicts": [row]?, "seconds": s, "queued_seconds": s}
    errors        -> {"error": "..."}: 400 bad request, 404 unknown path, 408 body stalled, 413 body over the limit,
                     503 queue full or stopping (retry later), 504 the request's time ran out

Batches are scored one at a time by one worker thread (each batch uses every sandbox worker); at most
`queue` wait behind it, a request past that gets 503 at once (back-pressure instead of an unbounded
backlog). A request's time (`request_timeout`, or less if the request asks) counts from its arrival; a
batch whose time ran out while it waited is dropped unscored. SIGTERM or SIGINT: stop accepting, answer
the waiting requests 503, let the running batch finish and answer it, stop the warm runtimes, exit 0.
Request code only ever runs inside the sandbox, through the same engine as `codegen eval`.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue as queue_mod
import signal
import socket
import socketserver
import stat
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from codegen_cli.errors import CodegenError, UsageError
from codegen_cli.output import heartbeat
from codegen_cli.reward.config import JudgeConfig

HOST = "127.0.0.1"  # never another interface: the service runs whatever code it is sent
MAX_BODY = 64 << 20  # bytes of one request body
# Seconds a connection may stay silent while its request is read or its answer written. Without it a client
# that stalls mid-request held its handler thread for ever, and SIGTERM (which waits for every handler) never
# finished. A 64 MiB body over loopback needs well under a second of this.
IDLE_SECONDS = 10.0


class Refused(Exception):
    """A request the service answers with an HTTP error (status, message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Job:
    completions: list[Any]
    task_id: list[str]
    deadline: float
    arrived: float
    future: Future = field(default_factory=Future)


@dataclass
class ServeSummary:
    """What one `codegen judge serve` did, printed when it stops (`--json`: this object)."""

    address: str = ""
    requests: int = 0
    completions: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # HTTP status -> requests answered with it
    programs_run: int = 0
    scoring_seconds: float = 0.0
    uptime_seconds: float = 0.0
    stopped_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Judge:
    """The queue and the worker thread between the HTTP handlers and one ExecutionReward."""

    def __init__(self, reward: Any, *, queue: int, request_timeout: float, max_batch: int) -> None:
        self.reward, self.request_timeout, self.max_batch = reward, request_timeout, max_batch
        self.queue_limit = queue
        self._queue: queue_mod.Queue[_Job | None] = queue_mod.Queue(maxsize=queue)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.summary = ServeSummary()
        self._busy = 0  # batches being scored now (0 or 1)
        self._worker = threading.Thread(target=self._work, name="judge-worker", daemon=True)
        self._worker.start()

    def health(self) -> dict[str, Any]:
        status = "stopping" if self._stopping.is_set() else "ok"
        return {"status": status, "queue": {"waiting": self._queue.qsize(), "limit": self.queue_limit,
                                            "scoring": self._busy},
                **self.reward.describe()}

    def score(self, body: dict[str, Any]) -> dict[str, Any]:
        """Queue one batch and wait for it (in the handler's thread); Refused for every answer but 200."""
        arrived = time.monotonic()
        completions, task_id = body.get("completions"), body.get("task_id")
        if not isinstance(completions, list) or not isinstance(task_id, list):
            raise Refused(400, "the body needs `completions` (a list) and `task_id` (a list of the same length)")
        if len(completions) > self.max_batch:
            raise Refused(400, f"{len(completions)} completions: this service takes at most {self.max_batch} per "
                               "request (--max-batch)")
        timeout = body.get("timeout", self.request_timeout)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:  # NaN too
            raise Refused(400, "`timeout` must be a positive number of seconds")
        job = _Job(completions, [str(t) for t in task_id], arrived + min(float(timeout), self.request_timeout),
                   arrived)
        if self._stopping.is_set():
            raise Refused(503, "the judge is stopping")
        try:
            self._queue.put_nowait(job)
        except queue_mod.Full:
            raise Refused(503, f"the queue is full ({self.queue_limit} batches wait); retry later") from None
        try:
            verdicts, started = job.future.result(timeout=max(0.0, job.deadline - time.monotonic()))
        except FutureTimeout:
            job.future.cancel()
            raise Refused(504, f"not scored within the request's {job.deadline - arrived:.0f} s") from None
        answer: dict[str, Any] = {"rewards": [v.reward for v in verdicts],
                                  "seconds": round(time.monotonic() - started, 4),
                                  "queued_seconds": round(started - arrived, 4)}
        if body.get("verdicts"):
            answer["verdicts"] = [v.to_row() for v in verdicts]
        return answer

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if not job.future.set_running_or_notify_cancel():
                continue  # its handler gave up (timeout): never scored
            if time.monotonic() >= job.deadline:
                job.future.set_exception(FutureTimeout())
                continue
            started = time.monotonic()
            self._busy = 1
            try:
                with heartbeat(f"judge: scoring {len(job.completions)} completions"):  # a long batch is not silent
                    verdicts = self.reward.score(job.completions, task_id=job.task_id)
            except BaseException as exc:  # noqa: BLE001 - reported to the request, never kills the worker
                job.future.set_exception(exc)
                continue
            finally:
                self._busy = 0
            took = time.monotonic() - started
            with self._lock:
                self.summary.requests += 1
                self.summary.completions += len(verdicts)
                self.summary.scoring_seconds += took
            passed = sum(v.status == "passed" for v in verdicts)
            _log(f"judge: {len(verdicts)} completions, {passed} passed, {took:.2f} s "
                 f"(waited {started - job.arrived:.2f} s, {self._queue.qsize()} queued)")
            job.future.set_result((verdicts, started))

    def refused(self, status: int) -> None:
        with self._lock:
            self.summary.refused[str(status)] = self.summary.refused.get(str(status), 0) + 1

    def stop(self) -> None:
        """Refuse new batches, answer the waiting ones 503, let the running one finish."""
        self._stopping.set()
        while True:
            try:
                job = self._queue.get_nowait()
            except queue_mod.Empty:
                break
            if job is not None and job.future.set_running_or_notify_cancel():
                job.future.set_exception(Refused(503, "the judge is stopping"))
        self._queue.put(None)
        self._worker.join()


def _log(message: str) -> None:
    from codegen_cli.output import log

    log(message)


class _Handler(BaseHTTPRequestHandler):
    server_version = "codegen-judge"
    judge: Judge  # set on the subclass made per server
    timeout = IDLE_SECONDS  # socketserver sets it on the connection: a read or write idle this long fails

    def address_string(self) -> str:  # a unix socket's peer has no address
        return self.client_address[0] if isinstance(self.client_address, tuple) else "unix"

    def log_message(self, format: str, *args: Any) -> None:  # the base class names it `format`
        return None  # one line per scored batch is logged by the worker instead

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        if status != 200:
            self.judge.refused(status)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client went away

    def do_GET(self) -> None:  # http.server names the handlers do_<METHOD>
        if self.path in ("/health", "/v1/ping"):
            self._answer(200, self.judge.health())
        else:
            self._answer(404, {"error": f"no such path {self.path}: GET /health, POST /score"})

    def do_POST(self) -> None:
        if self.path != "/score":
            self._answer(404, {"error": f"no such path {self.path}: GET /health, POST /score"})
            return
        try:
            length = int(self.headers.get("Content-Length", "-1"))
            if length < 0:
                raise Refused(400, "Content-Length is required")
            if length > MAX_BODY:
                raise Refused(413, f"the body is {length} bytes; at most {MAX_BODY}")
            try:
                data = self.rfile.read(length)
            except TimeoutError:
                raise Refused(408, f"the body did not arrive: {IDLE_SECONDS:.0f} s without a byte") from None
            try:
                body = json.loads(data)
            except (ValueError, RecursionError) as exc:  # RecursionError: nested past the parser's depth
                raise Refused(400, f"the body is not JSON ({exc})") from None
            if not isinstance(body, dict):
                raise Refused(400, "the body must be a JSON object")
            self._answer(200, self.judge.score(body))
        except Refused as exc:
            self._answer(exc.status, {"error": str(exc)})
        except (CodegenError, TypeError, ValueError) as exc:  # bad task ids, completions: the request's fault
            self._answer(400, {"error": str(exc)})
        except Exception as exc:  # noqa: BLE001 - the service stays up; the client learns what happened
            self._answer(500, {"error": f"{type(exc).__name__}: {exc}"})


class _TCPServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for the handlers: every accepted request is answered


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = False


def _unix_server(path: Path, handler: type) -> _UnixServer:
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise UsageError(f"--socket {path}: exists and is not a socket; choose another path")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # a socket nobody listens on: left by a killed server
        else:
            raise UsageError(f"--socket {path}: another server is listening there; stop it or choose another path")
        finally:
            probe.close()
    old = os.umask(0o177)  # the socket is born mode 0600: only this user can send code to run
    try:
        return _UnixServer(str(path), handler)
    finally:
        os.umask(old)


def make_server(cfg: JudgeConfig, judge: Judge) -> tuple[socketserver.BaseServer, str]:
    """The listening server and its address (http://127.0.0.1:PORT or unix:PATH); UsageError when the port
    or socket path is taken."""
    handler = type("Handler", (_Handler,), {"judge": judge})
    try:
        if cfg.socket is not None:
            path = Path(cfg.socket).absolute()
            return _unix_server(path, handler), f"unix:{path}"
        server = _TCPServer((HOST, cfg.port), handler)
        return server, f"http://{HOST}:{server.server_address[1]}"
    except OSError as exc:
        where = f"--socket {cfg.socket}" if cfg.socket is not None else f"--port {cfg.port}"
        raise UsageError(f"{where}: cannot listen there ({exc.strerror or exc}); choose another") from exc


def serve(cfg: JudgeConfig) -> ServeSummary:
    """Run the judge service until SIGTERM/SIGINT (the `codegen judge` stage entry)."""
    from codegen_cli.reward.api import ExecutionReward

    cfg.validate()
    started = time.monotonic()
    stop = threading.Event()
    reason: list[str] = []

    def on_signal(signum: int, _frame: Any) -> None:
        reason.append(signal.Signals(signum).name)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with ExecutionReward(config=cfg.reward) as reward:
            judge = Judge(reward, queue=cfg.queue, request_timeout=cfg.request_timeout, max_batch=cfg.max_batch)
            server, address = make_server(cfg, judge)
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                      name="judge-http", daemon=True)
            thread.start()
            _log(f"judge: listening on {address} (POST /score, GET /health); SIGTERM stops it")
            try:
                while not stop.wait(1.0):
                    pass
            finally:
                _log(f"judge: stopping ({', '.join(reason) or 'stopped'}): finishing the running batch")
                server.shutdown()  # no new connections
                judge.stop()
                server.server_close()  # waits for the handlers to send their answers
                if cfg.socket is not None:
                    with contextlib.suppress(OSError):
                        Path(cfg.socket).absolute().unlink()
            summary = judge.summary
            summary.address = address
            summary.programs_run = reward.stats["programs_run"]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    summary.uptime_seconds = round(time.monotonic() - started, 2)
    summary.scoring_seconds = round(summary.scoring_seconds, 2)
    summary.stopped_by = ", ".join(reason)
    return summary
