"""llama.cpp on the real SmolLM2-135M-Instruct GGUF (the `llamacpp` extra: llama-cpp-python, built from
source once): `--backend llamacpp` in process, and llama.cpp's own OpenAI-compatible server
(`python -m llama_cpp.server` on 127.0.0.1) driven by `--backend openai`, each with a kill and a resume
that ends equal to an uninterrupted run."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import freeze_when, require_toolchains, toolchain_missing

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def llama_cpp_installed():
    if importlib.util.find_spec("llama_cpp") is None:
        toolchain_missing("llama-cpp-python is not installed: pip install -e '.[llamacpp]' (as .ci/run does)")


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def _eval(out: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "codegen_cli", "eval", "--temperature", "0", "--max-new-tokens", "48",
            "--batch-size", "2", "-k", "1", "--allow-code-execution", "-o", str(out), "--json", *args]


def _killed_and_resumed(command: list[str], out: Path, total: int) -> tuple[list[dict], dict]:
    """Run `command`, SIGKILL it once a first sample is stored, rerun it to the end; (rows, summary)."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
                            start_new_session=True)
    samples = out / "samples.jsonl"
    freeze_when(proc, lambda: len(_rows(samples)) >= 1, "a first sample in samples.jsonl")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = _rows(samples)
    assert 1 <= len(first) < total
    done = subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = _rows(samples)
    assert len(rows) == total and len({(r["task_id"], r["sample_idx"]) for r in rows}) == total
    assert rows[:len(first)] == first  # the killed run's samples were kept as they were
    return rows, json.loads(done.stdout)


def test_llamacpp_backend_killed_and_resumed_equals_an_uninterrupted_run(smollm2_gguf, tmp_path):
    """Chat style (the GGUF's template), Python and C++: stop rules cut every sample; a run killed after its
    first sample and resumed writes what an uninterrupted run writes (greedy)."""
    require_toolchains("cpp")  # the run scores its C++ samples
    args = ["--backend", "llamacpp", "--model", str(smollm2_gguf), "-l", "python,cpp", "--limit", "2"]
    whole = subprocess.run(_eval(tmp_path / "whole", *args), capture_output=True, text=True, env=_env(),
                           timeout=900, check=False)
    assert whole.returncode == 0, whole.stderr[-3000:]
    summary = json.loads(whole.stdout)
    assert summary["generation"]["backend"] == "llamacpp" and summary["generation"]["prompt_style"] == "chat"
    rows, _ = _killed_and_resumed(_eval(tmp_path / "resumed", *args), tmp_path / "resumed", 4)
    reference = {r["task_id"]: r["completion"] for r in _rows(tmp_path / "whole" / "samples.jsonl")}
    assert {r["task_id"]: r["completion"] for r in rows} == reference
    assert all(r["reply"].startswith("```") for r in rows)  # the assistant turn opened with the fence
    record = json.loads((tmp_path / "whole" / "generation.json").read_text())
    assert record["model"]["sampling"]["repeat_penalty"] == 1.0 and record["model"]["file_type"] == "Q4_1"


def test_llamacpp_completion_style_stops_where_the_function_ends(smollm2_gguf, tmp_path):
    from codegen_cli.config import from_mapping
    from codegen_cli.evaluate.problems import load_problems
    from codegen_cli.generation import generate_samples
    from codegen_cli.generation.config import GenerationConfig

    cfg = from_mapping(GenerationConfig, {"model": str(smollm2_gguf), "backend": "llamacpp", "temperature": 0,
                                          "max_new_tokens": 96, "prompt_style": "completion", "output": tmp_path})
    summary = generate_samples(cfg, load_problems(None, languages=["cpp", "go"], tasks=["2"]))
    rows = _rows(tmp_path / "samples.jsonl")
    assert summary.generated == 2 and summary.backend == "llamacpp"
    for row in rows:  # a stop means the function's braces closed: nothing after the closing brace
        assert row["finish_reason"] != "stop" or row["completion"].rstrip().endswith("}")
        assert 0 < row["num_tokens"] <= 96


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_llama_cpp_server_through_the_openai_backend(smollm2_gguf, tmp_path):
    """`python -m llama_cpp.server` with the GGUF on 127.0.0.1: chat samples through `--backend openai`, a kill
    after the first sample and a resume; the request fields it takes are sent (generation.json)."""
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf), "--host",
                               "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--model_alias", "local"],
                              stdout=log, stderr=subprocess.STDOUT, env=_env(), start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not come up: {(tmp_path / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        out = tmp_path / "served"
        command = _eval(out, "--backend", "openai", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "local",
                        "-l", "python", "--limit", "4", "--concurrency", "1")
        rows, summary = _killed_and_resumed(command, out, 4)
        assert summary["generation"]["reused"] >= 1
        assert all(r["served_model"] == "local" and r["reply"] for r in rows)
        record = json.loads((out / "generation.json").read_text())["model"]
        assert record["request_fields"]["repeat_penalty"] == 1.0 and record["request_fields"]["top_k"] == 0
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
