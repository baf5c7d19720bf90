"""`--backend openai` against the quirks real servers have, rebuilt in a stub server on 127.0.0.1
(tests/generation/openai_stub.py): a loading server, Retry-After, replies with only reasoning_content, no
choices, answers that are not JSON, ignored max_tokens and n, a prompt refused for its length, fields a
server does not take, server-side sampling defaults, two models under one name, a changed prompt.

Each case failed on the client before issue 22 (exit 2 or 1, a silent empty sample, a bare IndexError, a
silent mix); the stub answers in milliseconds, so the module takes a few seconds.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from codegen_cli.config import from_mapping
from codegen_cli.errors import JobFailed, MismatchError
from codegen_cli.evaluate.problems import load_problems
from codegen_cli.generation.chat import extract_code
from codegen_cli.generation.config import GenerationConfig
from codegen_cli.generation.engine import generate_samples
from codegen_cli.generation.reconcile import entry_name, reconcile

from .conftest import HUMANEVAL_X
from .openai_stub import Stub, StubServer

TASKS = ["0", "2", "12"]


@pytest.fixture(scope="module")
def problems():
    return load_problems(HUMANEVAL_X, languages=["python"], tasks=TASKS)


def _replies(problems) -> dict[str, str]:
    """Each problem's `def name(` line -> a reply with its canonical solution in a fence."""
    return {f"def {entry_name(p)}(": f"Here it is:\n```python\n{p.prompt}{p.canonical_solution}```\n" for p in problems}


def _expected(problem) -> str:
    return reconcile(problem, extract_code(_replies([problem])[f"def {entry_name(problem)}("], entry_name(problem),
                                           "python"))


def _config(url: str, out: Path, **extra) -> GenerationConfig:
    return from_mapping(GenerationConfig, {"model": "local", "backend": "openai", "base_url": url, "output": out,
                                           "temperature": 0, "max_new_tokens": 64, "batch_size": 4,
                                           "concurrency": 2, "retries": 1, **extra})


def _rows(out: Path) -> list[dict]:
    path = out / "samples.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _chat_posts(stub: Stub) -> list[dict]:
    return [body for _, path, body in stub.requests if path.endswith("/chat/completions")]


def test_greedy_is_greedy_on_a_server_with_sampling_defaults(problems, tmp_path):
    """The stub samples with llama.cpp-like defaults unless told otherwise (they make every reply wrong):
    codegen turns them off explicitly, and generation.json records exactly what was sent."""
    stub = Stub(_replies(problems))
    with StubServer(stub) as url:
        summary = generate_samples(_config(url, tmp_path), problems)
    assert summary.generated == 3
    assert {r["task_id"]: r["completion"] for r in _rows(tmp_path)} == {p.task_id: _expected(p) for p in problems}
    sent = _chat_posts(stub)[0]
    assert (sent["temperature"], sent["top_p"], sent["top_k"], sent["min_p"], sent["repeat_penalty"],
            sent["repetition_penalty"], sent["n"]) == (0, 1.0, 0, 0.0, 1.0, 1.0, 1)
    record = json.loads((tmp_path / "generation.json").read_text())["model"]
    assert record["request_fields"] == {k: v for k, v in sent.items() if k not in ("messages", "seed")}
    assert record["served_models"] == ["local-a.gguf"]


def test_extra_body_overrides_and_is_recorded(problems, tmp_path):
    stub = Stub(_replies(problems), server_defaults=False)
    with StubServer(stub) as url:
        generate_samples(_config(url, tmp_path, extra_body='{"top_k": 20, "mirostat": 0}'), problems[:1])
        sent = _chat_posts(stub)[0]
        assert sent["top_k"] == 20 and sent["mirostat"] == 0
        with pytest.raises(MismatchError):  # other request fields, other samples: never mixed
            generate_samples(_config(url, tmp_path), problems[:1])


def test_loading_server_is_waited_for_honouring_retry_after(problems, tmp_path, capfd):
    """503 "Loading model" + Retry-After 2 for 2.5 s, with --retries 0: the old client gave up at once."""
    stub = Stub(_replies(problems), loading_for=2.5, retry_after=2)
    with StubServer(stub) as url:
        summary = generate_samples(_config(url, tmp_path, retries=0, concurrency=1), problems[:1])
    assert summary.generated == 1
    times = [t for t, _, _ in stub.requests]
    gaps = [b - a for a, b in itertools.pairwise(times) if a - stub.started < stub.loading_for]  # after each 503
    assert gaps and min(gaps) >= 1.9  # every retry waited the Retry-After the server gave
    err = capfd.readouterr().err
    assert "waiting for" in err and "HTTP 503" in err and "Retry-After 2 s" in err


def test_loading_wait_is_bounded(problems, tmp_path):
    stub = Stub(_replies(problems), loading_for=60, retry_after=1)
    with StubServer(stub) as url, pytest.raises(JobFailed, match=r"still HTTP 503 \(Loading model.*--server-wait"):
        generate_samples(_config(url, tmp_path, server_wait=1.5), problems[:1])


def test_every_retry_is_a_line_and_waits_its_retry_after(problems, tmp_path, capfd):
    stub = Stub(_replies(problems), fail_first=1)
    with StubServer(stub) as url:
        assert generate_samples(_config(url, tmp_path, concurrency=1), problems[:1]).generated == 1
    assert "HTTP 502 (upstream restarting); retry 1 of 1 in 1 s (the server's Retry-After)" in capfd.readouterr().err


def test_reasoning_only_reply_is_warned_and_recorded(problems, tmp_path, capfd):
    """Empty content, the text in reasoning_content: an empty completion WITH a warning and the reasoning in
    its row (it used to be a silent empty completion, exit 0)."""
    stub = Stub(_replies(problems), quirk="reasoning_only")
    with StubServer(stub) as url:
        generate_samples(_config(url, tmp_path), problems[:1])
    row = _rows(tmp_path)[0]
    assert "reasoning_content" in row["error"] and row["reasoning"].startswith("Here it is")
    assert "return" not in row["completion"]  # reasoning is never the answer
    assert "reasoning_content only" in capfd.readouterr().err


@pytest.mark.parametrize(("quirk", "message"), [("no_choices", "the answer has no choices"),
                                                ("not_json", "the answer is not JSON")])
def test_malformed_answer_is_one_line_and_keeps_finished_samples(problems, tmp_path, quirk, message):
    """The second answer is malformed: exit 1 naming the URL and what was wrong; the first sample, finished
    before it, is already stored (samples used to be stored per batch, and `choices: []` was an IndexError)."""
    stub = Stub(_replies(problems), quirk=quirk, quirk_after=1)
    with StubServer(stub) as url, pytest.raises(JobFailed) as failure:
        generate_samples(_config(url, tmp_path, concurrency=1), problems)
    assert str(failure.value).startswith(f"{url}/chat/completions: {message}")
    assert failure.value.exit_code == 1
    assert len(_rows(tmp_path)) == 1


def test_a_prompt_the_server_refuses_fails_that_sample_only(problems, tmp_path, capfd):
    """HTTP 400 context_length_exceeded for one prompt: that sample fails with the server's message and the
    run goes on (it used to end the run with exit 2 and blame --model)."""
    stub = Stub(_replies(problems), refuse=f"def {entry_name(problems[1])}(")
    with StubServer(stub) as url:
        summary = generate_samples(_config(url, tmp_path), problems)
    rows = {r["task_id"]: r for r in _rows(tmp_path)}
    refused = rows[problems[1].task_id]
    assert refused["finish_reason"] == "refused" and "context_length_exceeded" in refused["error"]
    assert summary.finish_reasons.get("refused") == 1 and summary.generated == 3
    assert rows[problems[0].task_id]["completion"] == _expected(problems[0])
    assert "1 samples were refused by the server" in capfd.readouterr().err


@pytest.mark.parametrize(("quirk", "field", "got"), [("ignore_max_tokens", "max_tokens", 1533), ("ignore_n", "n", 3)])
def test_ignored_max_tokens_and_n_are_warned_and_recorded(problems, tmp_path, capfd, quirk, field, got):
    stub = Stub(_replies(problems), quirk=quirk)
    with StubServer(stub) as url:
        generate_samples(_config(url, tmp_path), problems[:2])
    asked = 64 if field == "max_tokens" else 1
    assert all(r["server_ignored"] == {field: {"asked": asked, "got": got}} for r in _rows(tmp_path))
    assert json.loads((tmp_path / "generation.json").read_text())["model"]["server_ignored"] == {field: 2}
    assert capfd.readouterr().err.count(f"the server ignored {field}=") == 1  # once per run


def test_fields_a_server_does_not_take_are_dropped_with_a_warning(problems, tmp_path, capfd):
    """transformers serve answers 422 "Unexpected fields" for llama.cpp/vLLM sampling fields: the request is
    sent again without them, and generation.json says so."""
    stub = Stub(_replies(problems), server_defaults=False, reject_fields=("min_p", "repeat_penalty", "top_k"))
    with StubServer(stub) as url:
        assert generate_samples(_config(url, tmp_path), problems).generated == 3
    record = json.loads((tmp_path / "generation.json").read_text())["model"]
    assert sorted(record["refused_fields"]) == ["min_p", "repeat_penalty", "top_k"]
    assert not {"min_p", "repeat_penalty", "top_k"} & set(record["request_fields"])
    assert "the server takes no" in capfd.readouterr().err


def test_two_models_under_one_name_never_mix(problems, tmp_path):
    """`--model local` against two different GGUFs on the same URL: a different /v1/models entry is another
    settings hash (exit 4, naming what differs); without /v1/models, the answers' own `model` field differs
    (exit 4); --force drops the other model's samples."""
    first = StubServer(Stub(_replies(problems), served_as="smol-a.gguf", models_meta=None))
    with first as url:
        generate_samples(_config(url, tmp_path), problems)
    port = first.port
    second = Stub(_replies(problems), served_as="smol-b.gguf", models_meta=None)
    with StubServer(second, port=port) as url:
        with pytest.raises(MismatchError, match="answers as model 'smol-b.gguf'.*'smol-a.gguf'") as mismatch:
            generate_samples(_config(url, tmp_path, n_samples=2), problems)
        assert mismatch.value.exit_code == 4
        assert len(_rows(tmp_path)) == 3  # nothing of the second model was written
        generate_samples(_config(url, tmp_path, n_samples=2, force=True), problems)
    assert {r["served_model"] for r in _rows(tmp_path)} == {"smol-b.gguf"} and len(_rows(tmp_path)) == 6
    listed = tmp_path / "listed"
    with StubServer(Stub(_replies(problems), served_as="local", models_meta={"n_params": 1}), port=port) as url:
        generate_samples(_config(url, listed), problems[:1])
    with StubServer(Stub(_replies(problems), served_as="local", models_meta={"n_params": 2}), port=port) as url, \
            pytest.raises(MismatchError, match="model"):
        generate_samples(_config(url, listed), problems[:1])


def test_a_changed_prompt_regenerates_that_problem_only(problems, tmp_path):
    stub = Stub(_replies(problems))
    with StubServer(stub) as url:
        generate_samples(_config(url, tmp_path), problems)
        before = {r["task_id"]: r for r in _rows(tmp_path)}
        fixed = dataclasses.replace(problems[1], prompt=problems[1].prompt.replace('"""', '"""Fixed. ', 1))
        summary = generate_samples(_config(url, tmp_path), [problems[0], fixed, problems[2]])
    assert summary.generated == 1 and summary.reused == 2
    assert len(_chat_posts(stub)) == 4 and "Fixed." in _chat_posts(stub)[-1]["messages"][0]["content"]
    after = {r["task_id"]: r for r in _rows(tmp_path)}
    assert len(_rows(tmp_path)) == 3  # the stale row is gone, not shadowing the new one
    assert after[problems[0].task_id] == before[problems[0].task_id]
    assert after[fixed.task_id]["prompt_sha"] != before[fixed.task_id]["prompt_sha"]


def test_progress_reports_samples_and_tokens_while_requests_run(problems, tmp_path, capfd):
    """A slow server (1.5 s per reply, one at a time): a plain progress line at least every 5 s, with the
    server's usage numbers as tok/s and the requests not yet answered."""
    stub = Stub(_replies(problems), delay=1.5)
    with StubServer(stub) as url:
        generate_samples(_config(url, tmp_path, concurrency=1, n_samples=2), problems[:2])
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("[generate]")]
    assert any("waiting=" in line for line in lines), lines
    assert all("tok/s=0" not in line for line in lines if "samples/s=0.00" not in line), lines


@pytest.mark.slow
def test_cli_eval_against_the_stub_passes_every_problem(problems, tmp_path):
    """End to end through the CLI: chat replies from the stub, scored for real (Python), pass@1 1.0."""
    with StubServer(Stub(_replies(problems))) as url:
        proc = subprocess.run([sys.executable, "-m", "codegen_cli", "eval", "--backend", "openai", "--base-url", url,
                               "--model", "local", "-l", "python", "--tasks", ",".join(TASKS), "--temperature", "0",
                               "--max-new-tokens", "64", "-k", "1", "--allow-code-execution", "-o",
                               str(tmp_path / "out"), "--json"], capture_output=True, text=True, timeout=300,
                              check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["pass_at_k"] == {"pass@1": 1.0}, proc.stdout


def test_any_task_id_is_accepted_or_refused_with_exit_3(problems, tmp_path):
    """`Python/naïve-1` in a problems file: loaded, sorted after the numbered ids, generated for (it was
    `ValueError: invalid literal for int()`, exit 1); pairing it across languages is exit 3 with the id."""
    from codegen_cli.errors import InputDataError

    source = problems[1]
    rows = [{"task_id": task_id, "prompt": source.prompt, "test": source.test} for task_id in ("Python/naïve-1",
                                                                                                "Python/3")]
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    loaded = load_problems(path, languages=["python"])
    assert [p.task_id for p in loaded] == ["Python/3", "Python/naïve-1"]
    assert [p.task_id for p in load_problems(path, languages=["python"], tasks=["naïve-1"])] == ["Python/naïve-1"]
    with StubServer(Stub(_replies(problems))) as url:
        generate_samples(_config(url, tmp_path / "out"), loaded)
    assert {r["task_id"] for r in _rows(tmp_path / "out")} == {"Python/3", "Python/naïve-1"}
    with pytest.raises(InputDataError, match="task_id 'Python/naïve-1': no problem number") as failure:
        loaded[1].number  # noqa: B018 - the property is the check
    assert failure.value.exit_code == 3
