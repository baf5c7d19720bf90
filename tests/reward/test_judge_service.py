"""`codegen judge serve` (issue 25): the JSON API, its errors, the bounded queue, per-request time limits
and a clean SIGTERM, against a real server process on a unix socket and on a TCP port."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest

from codegen_cli.reward.client import JudgeClient, JudgeError
from tests.conftest import require_toolchains
from tests.reward.conftest import start_judge, stop_judge

pytestmark = pytest.mark.slow

PROBLEMS = [
    {"task_id": "toy/add", "language": "python", "prompt": "def add(a, b):\n    \"\"\"a + b\"\"\"\n",
     "test": "def check(f):\n    assert f(1, 2) == 3\n    assert f(2, 2) == 4\n\ncheck(add)\n"},
]
RIGHT, WRONG = "    return a + b\n", "    return a - b\n"
SLOW = "    import time\n    time.sleep({})\n    return a + b  # {}\n"


def _raw(path: Path, request: bytes) -> tuple[int, dict]:
    """One raw HTTP exchange over the unix socket (for bodies the client would never send)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(60)
        sock.connect(str(path))
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    return int(head.split()[1]), json.loads(body)


def _wait_for(client: JudgeClient, what, deadline: float = 120) -> dict:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        health = client.health()
        if what(health):
            return health
        time.sleep(0.05)  # polls the service's own report of its state, bounded
    raise AssertionError(f"the service never reached the state: {client.health()}")


@pytest.fixture
def problems_file(tmp_path) -> Path:
    path = tmp_path / "toy.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in PROBLEMS))
    return path


def test_refuses_to_start_without_the_opt_in(cli, monkeypatch, problems_file):
    monkeypatch.delenv("CODEGEN_ALLOW_CODE_EXECUTION", raising=False)
    result = cli("judge", "serve", "--problems", problems_file, "--port", "0")
    assert result.exit_code == 2
    assert "--allow-code-execution" in result.stderr


def test_score_health_errors_queue_timeout_and_sigterm(tmp_path, problems_file):
    require_toolchains("python")
    path = tmp_path / "j.sock"
    proc, address = start_judge("--problems", str(problems_file), "--queue", "1", "--workers", "1",
                                "--timeout", "20", socket_path=path)
    client = JudgeClient(address)
    try:
        assert (path.stat().st_mode & 0o777) == 0o600  # only this user may send code to run
        health = client.health()
        assert health["problems"] == 1 and health["languages"] == ["python"] and health["queue"]["limit"] == 1
        assert client([RIGHT, WRONG], task_id=["toy/add", "toy/add"]) == [1.0, 0.0]
        rows = client.score([WRONG], task_id=["toy/add"])
        assert rows[0]["status"] == "failed" and rows[0]["reason"] and rows[0]["passed"] is False

        assert _raw(path, b"GET /nope HTTP/1.0\r\n\r\n")[0] == 404
        status, body = _raw(path, b"POST /score HTTP/1.0\r\nContent-Length: 5\r\n\r\nnot j")
        assert status == 400 and "not JSON" in body["error"]
        with pytest.raises(JudgeError, match="unknown task id") as error:
            client([RIGHT], task_id=["HumanEval/0"])
        assert error.value.status == 400
        with pytest.raises(JudgeError, match="2 completions but 1 task ids"):
            client([RIGHT, RIGHT], task_id=["toy/add"])

        # one batch runs, one waits (the queue holds 1), the next is refused at once
        answers: dict[str, object] = {}

        def post(name: str, completions: list[str], **kw) -> None:
            try:
                answers[name] = client.score(completions, task_id=["toy/add"] * len(completions), **kw)
            except JudgeError as exc:
                answers[name] = exc.status

        running = threading.Thread(target=post, args=("running", [SLOW.format(3, "a")]))
        running.start()
        _wait_for(client, lambda h: h["queue"]["scoring"] == 1)
        waiting = threading.Thread(target=post, args=("waiting", [RIGHT + "# waits"]), kwargs={"timeout": 1.0})
        waiting.start()
        _wait_for(client, lambda h: h["queue"]["waiting"] == 1)
        with pytest.raises(JudgeError, match="queue is full") as full:
            client([RIGHT], task_id=["toy/add"])
        assert full.value.status == 503
        waiting.join()
        running.join()
        assert answers["waiting"] == 504  # its 1 s ran out behind the running batch: dropped unscored
        assert [row["status"] for row in answers["running"]] == ["passed"]

        # SIGTERM while a batch runs: that batch is still answered, then the process exits 0
        last = threading.Thread(target=post, args=("last", [SLOW.format(2, "b")]))
        last.start()
        _wait_for(client, lambda h: h["queue"]["scoring"] == 1)
    finally:
        summary = stop_judge(proc)
    last.join()
    assert [row["status"] for row in answers["last"]] == ["passed"]
    assert not path.exists()
    assert summary["requests"] == 4 and summary["stopped_by"] == "SIGTERM"
    assert summary["refused"] == {"400": 3, "404": 1, "503": 1, "504": 1}


def test_tcp_port_on_loopback(problems_file):
    require_toolchains("python")
    proc, address = start_judge("--problems", str(problems_file), "--workers", "1")
    try:
        assert address.startswith("http://127.0.0.1:")
        assert JudgeClient(address)([RIGHT], task_id=["toy/add"]) == [1.0]
        port = int(address.rsplit(":", 1)[1])
        with socket.socket() as other:  # loopback only: the port is not open on another interface
            other.settimeout(5)
            try:
                outside = socket.gethostbyname(socket.gethostname())
            except OSError:
                outside = "127.0.0.1"
            if not outside.startswith("127."):
                assert other.connect_ex((outside, port)) != 0
    finally:
        stop_judge(proc)
