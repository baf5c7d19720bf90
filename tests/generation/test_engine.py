"""generate_samples end to end: n samples for problems in two languages, resume, settings mismatch, SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from codegen_cli.errors import MismatchError, UsageError
from codegen_cli.generation import GenerationConfig, generate_samples
from codegen_cli.generation.engine import plan_batches
from codegen_cli.generation.prompts import problem_text
from codegen_cli.generation.stopping import cut_completion
from tests.conftest import freeze_when

REPO = Path(__file__).resolve().parents[2]


def rows_of(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]


def config(model: Path, out: Path, **overrides) -> GenerationConfig:
    values = {"model": str(model), "output": out, "n_samples": 3, "batch_size": 4, "max_new_tokens": 40,
              "temperature": 1.0, "top_p": 1.0, "seed": 11}
    values.update(overrides)
    return GenerationConfig(**values)


def test_n_samples_for_two_languages(stopper_model, two_language_problems, tmp_path):
    summary = generate_samples(config(stopper_model, tmp_path), two_language_problems)
    rows = rows_of(tmp_path)
    assert summary.generated == summary.requested == len(rows) == 12 and summary.reused == 0
    assert summary.per_language == {"python": 6, "cpp": 6} and summary.tag_style == "comment"
    assert Counter((r["task_id"], r["sample_idx"]) for r in rows) == Counter(
        {(p.task_id, i): 1 for p in two_language_problems for i in range(3)})
    assert {r["settings_hash"] for r in rows} == {summary.settings_hash}
    assert set(rows[0]) >= {"task_id", "language", "sample_idx", "completion", "settings_hash"}
    problems = {p.task_id: p for p in two_language_problems}
    reasons = Counter(row["finish_reason"] for row in rows)
    assert reasons["stop"] >= 9 and set(reasons) <= {"stop", "length"}  # the stopper model rarely runs long
    for row in rows:
        assert 0 < row["num_tokens"] <= 40
        if row["language"] == "cpp" and row["finish_reason"] == "stop":
            prompt = "// language: C++\n" + problem_text(problems[row["task_id"]])
            assert cut_completion(row["completion"], "cpp", prompt) == (row["completion"], True)
    record = json.loads((tmp_path / "generation.json").read_text())
    assert record["settings_hash"] == summary.settings_hash and record["run"]["batch_size"] == 4


def test_rerun_reuses_and_larger_n_adds(stopper_model, two_language_problems, tmp_path):
    generate_samples(config(stopper_model, tmp_path), two_language_problems)
    before = (tmp_path / "samples.jsonl").read_bytes()
    again = generate_samples(config(stopper_model, tmp_path, batch_size=2), two_language_problems)
    assert again.generated == 0 and again.reused == 12
    assert (tmp_path / "samples.jsonl").read_bytes() == before
    more = generate_samples(config(stopper_model, tmp_path, n_samples=5), two_language_problems)
    assert more.generated == 8 and more.reused == 12
    keys = [(r["task_id"], r["sample_idx"]) for r in rows_of(tmp_path)]
    assert len(keys) == len(set(keys)) == 20


def test_other_settings_refuse_with_exit_4_unless_forced(stopper_model, two_language_problems, tmp_path):
    generate_samples(config(stopper_model, tmp_path), two_language_problems)
    with pytest.raises(MismatchError, match="other generation settings") as info:
        generate_samples(config(stopper_model, tmp_path, temperature=0.5), two_language_problems)
    assert info.value.exit_code == 4
    forced = generate_samples(config(stopper_model, tmp_path, temperature=0.5, force=True), two_language_problems)
    assert forced.generated == 12 and (tmp_path / "samples.jsonl.old").is_file()
    assert {r["settings_hash"] for r in rows_of(tmp_path)} == {forced.settings_hash}


def test_bad_settings_are_one_usage_error(stopper_model, two_language_problems, tmp_path):
    with pytest.raises(UsageError, match="top-p.*batch-size"):
        generate_samples(config(stopper_model, tmp_path, top_p=0, batch_size=0), two_language_problems)
    with pytest.raises(UsageError, match="vllm"):
        generate_samples(config(stopper_model, tmp_path, backend="vllm"), two_language_problems)


def test_batches_do_not_depend_on_what_is_done(two_language_problems):
    full = plan_batches(two_language_problems, n_samples=3, batch_size=4, seed=1, done=set())
    assert [len(b.items) for b in full] == [4, 4, 4]
    done = {(two_language_problems[p].task_id, s) for p, s in full[0].items[:2]}
    resumed = plan_batches(two_language_problems, n_samples=3, batch_size=4, seed=1, done=done)
    assert [b.seed for b in resumed] == [b.seed for b in full]
    assert resumed[0].items == full[0].items[2:] and resumed[1:] == full[1:]
    lengths = [len(problem_text(two_language_problems[p])) for b in full for p, _ in b.items]
    assert lengths == sorted(lengths)  # shortest prompts first: little padding in mixed batches


def test_resumed_run_equals_uninterrupted_run(stopper_model, two_language_problems, tmp_path):
    whole, part = tmp_path / "whole", tmp_path / "part"
    generate_samples(config(stopper_model, whole), two_language_problems)
    generate_samples(config(stopper_model, part), two_language_problems)
    lines = (part / "samples.jsonl").read_text().splitlines(keepends=True)
    # keep the first batch, then half a line, as a kill in the middle of a write would leave it
    (part / "samples.jsonl").write_text("".join(lines[:4]) + lines[4][: len(lines[4]) // 2])
    resumed = generate_samples(config(stopper_model, part), two_language_problems)
    assert resumed.generated == 8 and resumed.reused == 4
    key = lambda r: (r["task_id"], r["sample_idx"])
    assert sorted(rows_of(part), key=key) == sorted(rows_of(whole), key=key)


KILL_SCRIPT = """
import sys
from pathlib import Path
from codegen_cli.generation import GenerationConfig, generate_samples
from codegen_cli.evaluate.problems import load_problems
problems = load_problems(sys.argv[3], languages=["python", "cpp"], limit=2)
config = GenerationConfig(model=sys.argv[1], output=Path(sys.argv[2]), n_samples=4, batch_size=1,
                          max_new_tokens=32, temperature=1.0, top_p=1.0, seed=5)
generate_samples(config, problems)
"""


@pytest.mark.slow
def test_resume_after_sigkill_without_duplicates(random_model, two_language_problems, tmp_path, humaneval_x_dir):
    out = tmp_path / "results"
    env = {**os.environ, "PYTHONPATH": str(REPO), "CODEGEN_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(random_model), str(out), str(humaneval_x_dir)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    samples = out / "samples.jsonl"
    freeze_when(proc, lambda: samples.is_file() and samples.read_bytes().count(b"\n") >= 2, "2 written samples")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=600)
    written = samples.read_bytes()
    kept = written[: written.rfind(b"\n") + 1]
    assert 2 <= kept.count(b"\n") < 16
    # batch size is not part of the settings: the rest is made 8 at a time
    summary = generate_samples(config(random_model, out, n_samples=4, batch_size=8, max_new_tokens=32, seed=5),
                               two_language_problems)
    assert summary.reused == kept.count(b"\n") and summary.reused + summary.generated == 16
    assert samples.read_bytes().startswith(kept)  # finished samples were neither rewritten nor regenerated
    keys = [(r["task_id"], r["sample_idx"]) for r in rows_of(out)]
    assert len(keys) == len(set(keys)) == 16


TWO_PROCESS_SCRIPT = """
import json, sys
from pathlib import Path
from codegen_cli.generation import GenerationConfig, generate_samples
from codegen_cli.evaluate.problems import load_problems
problems = load_problems(sys.argv[3], languages=["python", "cpp"], limit=2)
config = GenerationConfig(model=sys.argv[1], output=Path(sys.argv[2]), n_samples=3, batch_size=4,
                          max_new_tokens=40, temperature=1.0, top_p=1.0, seed=11)
summary = generate_samples(config, problems)
print(json.dumps({"processes": summary.processes, "generated": summary.generated}), flush=True)
# Tear the gloo group down before exit: left to interpreter shutdown, its threads can abort the process
# ("terminate called without an active exception", exit -6), seen once in CI.
from accelerate import PartialState
PartialState().destroy_process_group()
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_processes_split_the_batches_and_match_one_process(stopper_model, two_language_problems, tmp_path,
                                                               humaneval_x_dir):
    """Two CPU processes (gloo, as `accelerate launch --cpu --num_processes 2` would start them) write the
    same samples as one process: batches and their seeds do not depend on the process count."""
    out = tmp_path / "two"
    port = str(_free_port())
    procs = []
    for rank in range(2):
        env = {**os.environ, "PYTHONPATH": str(REPO), "RANK": str(rank), "LOCAL_RANK": str(rank),
               "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port,
               "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
        procs.append(subprocess.Popen(
            [sys.executable, "-c", TWO_PROCESS_SCRIPT, str(stopper_model), str(out), str(humaneval_x_dir)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [proc.communicate(timeout=600) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs[0][1][-2000:] + outputs[1][1][-2000:]
    main = json.loads(outputs[0][0].strip().splitlines()[-1])
    assert main == {"processes": 2, "generated": 12}
    one = tmp_path / "one"
    generate_samples(config(stopper_model, one), two_language_problems)
    key = lambda r: (r["task_id"], r["sample_idx"])
    assert sorted(rows_of(out), key=key) == sorted(rows_of(one), key=key)


def test_progress_moves_per_token_within_a_batch(random_model, two_language_problems, tmp_path, capsys,
                                                 monkeypatch):
    """Off a terminal, plain progress lines come while the first batch is still running (tokens/s move
    per step), so a long batch is never a silent phase."""
    from codegen_cli.generation import GenerationConfig, generate_samples

    monkeypatch.setenv("CODEGEN_LOG_INTERVAL", "0")
    cfg = GenerationConfig(model=str(random_model), output=tmp_path, n_samples=2, batch_size=8,
                           max_new_tokens=40, temperature=0.8)
    generate_samples(cfg, two_language_problems)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[generate] 0/")]
    assert lines and any("tok/s=" in line and "tok/s=0 " not in line + " " for line in lines)
