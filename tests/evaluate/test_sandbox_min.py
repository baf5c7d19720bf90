"""`--sandbox-min` / CODEGEN_SANDBOX_MIN: a CI job that must not score without isolation gets exit 2, before any
program runs; the summary says plainly how isolated the programs were."""

from __future__ import annotations

import json

from codegen_cli.errors import EXIT_USAGE


def test_a_weaker_tier_than_required_exits_2_and_runs_nothing(cli, tmp_path):
    out = tmp_path / "out"
    result = cli("eval", "--check-references", "-l", "python", "--limit", "1", "-o", out, "--sandbox", "unshare",
                 "--sandbox-min", "bwrap")
    assert result.exit_code == EXIT_USAGE == 2, result.stderr
    assert "weaker than the required minimum bwrap" in result.stderr or "does not work here" in result.stderr
    assert not (out / "results.jsonl").exists()


def test_the_environment_variable_raises_the_minimum(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("CODEGEN_SANDBOX_MIN", "bwrap")
    result = cli("eval", "--check-references", "-l", "python", "--limit", "1", "-o", tmp_path / "out", "--sandbox",
                 "unshare")
    assert result.exit_code == 2 and "required minimum bwrap" in result.stderr


def test_summary_says_whether_programs_were_isolated(cli, tmp_path):
    out = tmp_path / "out"
    result = cli("eval", "--check-references", "-l", "python", "--limit", "1", "-o", out, "--json")
    assert result.exit_code == 0, result.stderr
    sandbox = json.loads((out / "summary.json").read_text())["sandbox"]
    assert sandbox["isolation"] == ("none" if sandbox["tier"] == "rlimits" else "namespaces"), sandbox
