"""`--backend openai` against a real OpenAI-compatible server on 127.0.0.1: `transformers serve` (the
`serving` extra) with SmolLM2-135M-Instruct, chat and completion style, a kill mid-run and a resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import freeze_when

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(smollm2_folder, tmp_path_factory):
    """`transformers serve MODEL` on a free 127.0.0.1 port; yields its /v1 URL; stopped at the end."""
    import importlib.util

    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        pytest.skip("transformers serve needs the serving extra: pip install -e '.[serving]' (as .ci/run does)")
    cli = shutil.which("transformers")
    if cli is None:
        pytest.skip("the `transformers` command is not on PATH")
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "serve.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([cli, "serve", str(smollm2_folder), "--host", "127.0.0.1", "--port", str(port),
                             "--device", "cpu", "--dtype", "float32"], stdout=log.open("w"),
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + 600
    while not _healthy(f"http://127.0.0.1:{port}/health"):
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"transformers serve did not come up: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    yield f"http://127.0.0.1:{port}/v1"
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _eval(server: str, model: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "codegen_cli", "eval", "--backend", "openai", "--base-url", server,
            "--model", str(model), "-l", "python", "--limit", "6", "--temperature", "0", "--max-new-tokens", "48",
            "--batch-size", "2", "-k", "1", "--allow-code-execution", "-o", str(out), "--json", *extra]


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_chat_eval_killed_and_resumed(server, smollm2_folder, tmp_path):
    out = tmp_path / "chat"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(_eval(server, smollm2_folder, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, start_new_session=True)
    samples = out / "samples.jsonl"
    freeze_when(proc, lambda: samples.is_file() and len(_rows(samples)) >= 2, "a first batch in samples.jsonl")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = _rows(samples)
    assert 2 <= len(first) < 6
    done = subprocess.run(_eval(server, smollm2_folder, out), capture_output=True, text=True, env=env, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    rows = _rows(samples)
    assert len(rows) == 6 and len({r["task_id"] for r in rows}) == 6  # no duplicates, none lost
    assert rows[:len(first)] == first  # the killed run's samples were kept as they were
    assert summary["generation"]["reused"] == len(first) and summary["generation"]["prompt_style"] == "chat"
    assert all(r["prompt_style"] == "chat" and r["reply"] for r in rows)
    assert summary["samples"] == 6


def test_completion_style_through_the_server(server, smollm2_folder, tmp_path):
    out = tmp_path / "completion"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(_eval(server, smollm2_folder, out, "--prompt-style", "completion", "--limit", "2"),
                          capture_output=True, text=True, env=env, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = _rows(out / "samples.jsonl")
    assert len(rows) == 2 and all("prompt_style" not in r for r in rows)
    assert all(r["num_tokens"] > 0 for r in rows)


def test_unreachable_server_is_a_clean_failure(smollm2_folder, tmp_path):
    from codegen_cli.config import from_mapping
    from codegen_cli.errors import JobFailed
    from codegen_cli.evaluate.problems import load_problems
    from codegen_cli.generation import generate_samples
    from codegen_cli.generation.config import GenerationConfig

    cfg = from_mapping(GenerationConfig, {"model": "m", "backend": "openai", "retries": 1, "request_timeout": 2,
                                          "base_url": f"http://127.0.0.1:{_free_port()}/v1", "output": tmp_path})
    with pytest.raises(JobFailed, match="no answer after 2 tries"):
        generate_samples(cfg, load_problems(None, languages=["python"], limit=1))
