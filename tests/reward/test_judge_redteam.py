"""Red-team findings against `codegen judge serve` (issue 25's review), against a real server process."""

from __future__ import annotations

import json
import signal
import socket
import time

import pytest

from codegen_cli.reward.client import JudgeClient
from codegen_cli.reward.service import IDLE_SECONDS
from tests.conftest import require_toolchains
from tests.reward.conftest import start_judge

pytestmark = pytest.mark.slow  # a real judge process (a few seconds)

PROBLEM = {"task_id": "toy/add", "language": "python", "prompt": "def add(a, b):\n", "test": "assert add(1, 2) == 3\n"}


def test_a_stalled_client_cannot_hold_up_sigterm(tmp_path):
    """A client that sends half a request and goes quiet held its handler thread for ever, and SIGTERM,
    which waits for every handler, never finished (the process had to be killed). Now the connection is
    dropped after IDLE_SECONDS of silence: a stalled body gets 408 and the service exits 0."""
    require_toolchains("python")
    problems = tmp_path / "toy.jsonl"
    problems.write_text(json.dumps(PROBLEM) + "\n")
    path = tmp_path / "j.sock"
    proc, address = start_judge("--problems", str(problems), "--workers", "1", socket_path=path)
    body = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    line = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        body.connect(str(path))
        body.sendall(b'POST /score HTTP/1.0\r\nContent-Length: 100\r\n\r\n{"compl')  # then silence
        line.connect(str(path))
        line.sendall(b"GET /hea")  # silent mid request line
        assert JudgeClient(address)(["    return a + b\n"], task_id=["toy/add"]) == [1.0]  # others are served
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        out, err = proc.communicate(timeout=IDLE_SECONDS + 60)
        assert proc.returncode == 0, err[-2000:]
        assert time.monotonic() - started < IDLE_SECONDS + 50
        body.settimeout(5)
        answer = body.recv(65536)
        assert answer.split()[1] == b"408", answer
        assert json.loads(out)["refused"] == {"408": 1}
    finally:
        body.close()
        line.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _raw(path, request: bytes) -> tuple[int, dict]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(60)
        sock.connect(str(path))
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    return int(head.split()[1]), json.loads(body)


def _post(path, body: bytes) -> tuple[int, dict]:
    return _raw(path, b"POST /score HTTP/1.0\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def test_odd_bodies_are_bad_requests_and_a_unicode_task_id_works(tmp_path):
    """A NaN `timeout` (Python's JSON reader accepts it) was queued and answered 504 "within nan s"; an array
    nested 100,000 deep was a 500 (RecursionError) instead of the documented 400."""
    require_toolchains("python")
    odd = {**PROBLEM, "task_id": "задача/ü\u202e\U0001F600"}
    problems = tmp_path / "toy.jsonl"
    problems.write_text(json.dumps(PROBLEM) + "\n" + json.dumps(odd) + "\n")
    path = tmp_path / "j.sock"
    proc, address = start_judge("--problems", str(problems), "--workers", "1", socket_path=path)
    try:
        status, answer = _post(path, b'{"completions": ["    return a + b\\n"], "task_id": ["toy/add"], '
                                     b'"timeout": NaN}')
        assert status == 400 and "timeout" in answer["error"], answer
        status, answer = _post(path, b'{"completions": ' + b"[" * 100_000 + b"]" * 100_000 + b', "task_id": []}')
        assert status == 400 and "not JSON" in answer["error"], answer
        assert JudgeClient(address)(["    return a + b\n"], task_id=[odd["task_id"]]) == [1.0]
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
