"""Stored results stand only for runs with the same settings (issue 11): a rerun into the same --output with
another --timeout/--memory-mb/--postprocess, other verdict rules, another toolchain or a changed problem is
scored again and says so in a line; an unchanged rerun reuses everything. Bad encodings exit 3 naming file
and line. Real `codegen eval` runs on Python problems (the fastest toolchain)."""

from __future__ import annotations

import gzip
import json

import pytest

from codegen_cli.evaluate.postprocess import codegeex
from codegen_cli.evaluate.problems import PACKAGED_DIR

from .conftest import HUMANEVAL_X, require_toolchains

ROWS = [
    {"task_id": "Python/2", "completion": "    return number % 1.0\n"},
    {"task_id": "Python/2", "generation": "    return number % 1.0\n\n```\nprint(truncate_number(2.5))\n"},
]


def _run(cli, tmp_path, *extra, problems=HUMANEVAL_X):
    samples = tmp_path / "samples.jsonl"
    if not samples.exists():
        samples.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return cli(
        "eval",
        "--samples",
        samples,
        "--problems",
        problems,
        "-l",
        "python",
        "-k",
        "1",
        "-o",
        tmp_path / "out",
        "--allow-code-execution",
        "--json",
        *extra,
    )


def _rows(tmp_path):
    return [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]


def test_changed_settings_are_rescored_and_said(cli, tmp_path):
    require_toolchains("python")
    first = _run(cli, tmp_path)
    assert first.exit_code == 0, first.stderr
    assert [r["status"] for r in _rows(tmp_path)] == ["passed", "passed"]  # the fence is cut (codegeex)
    again = _run(cli, tmp_path)
    assert "rescoring" not in again.stderr and "resuming: 2 of 2" in again.stderr

    shorter = _run(cli, tmp_path, "--timeout", "5")
    assert "rescoring 2 stored results: --timeout 5.0 (they were scored with 10.0)" in shorter.stderr
    assert {r["verdict_settings"]["timeout"] for r in _rows(tmp_path)} == {5.0} and len(_rows(tmp_path)) == 2

    plain = _run(cli, tmp_path, "--timeout", "5", "--postprocess", "none")
    assert "rescoring 1 stored result: --postprocess none (they were scored with codegeex)" in plain.stderr
    by_idx = {r["sample_idx"]: r for r in _rows(tmp_path)}
    assert (
        by_idx[1]["status"] == "failed" and by_idx[0]["status"] == "passed"
    )  # the raw fence: a syntax error
    assert json.loads(plain.stdout)["settings"]["postprocess"] == "none"

    # rows of other rules (a codegen update) or of a codegen that recorded no settings
    path = tmp_path / "out" / "results.jsonl"
    rows = _rows(tmp_path)
    rows[0]["verdict_settings"]["rules"] = "0"
    del rows[1]["verdict_settings"]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    updated = _run(cli, tmp_path, "--timeout", "5", "--postprocess", "none")
    assert "verdict rules changed (version 0 -> " in updated.stderr
    assert "older codegen that did not record its settings" in updated.stderr
    assert all("verdict_settings" in r for r in _rows(tmp_path))


def test_a_changed_test_is_rescored(cli, tmp_path):
    require_toolchains("python")
    assert _run(cli, tmp_path).exit_code == 0
    rows = [
        json.loads(line)
        for line in gzip.decompress((PACKAGED_DIR / "humaneval_python.jsonl.gz").read_bytes()).splitlines()
    ]
    for row in rows:
        if row["task_id"] == "Python/2":
            row["test"] = row["test"].replace(
                "assert truncate_number(3.5) == 0.5", "assert truncate_number(3.5) == 0.25"
            )
    edited = tmp_path / "python.jsonl"
    edited.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = _run(cli, tmp_path, problems=edited)
    assert "rescoring 2 stored results: the problem's prompt or test changed" in result.stderr
    assert {r["status"] for r in _rows(tmp_path)} == {"failed"}


@pytest.mark.parametrize("target", ["samples", "problems"])
def test_bad_encoding_exits_3_naming_file_and_line(cli, tmp_path, target):
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(ROWS[0]) + "\n")
    bad = tmp_path / "bad.jsonl"
    if target == "samples":
        bad.write_bytes(good.read_bytes() + b'{"task_id": "Python/2", "completion": "  return \xff"}\n')
        result = cli(
            "eval", "--samples", bad, "-l", "python", "-o", tmp_path / "out", "--allow-code-execution"
        )
        assert (
            result.exit_code == 3 and f"{bad}" in result.stderr and "line 2: not valid UTF-8" in result.stderr
        )
    else:
        lines = gzip.decompress((PACKAGED_DIR / "humaneval_python.jsonl.gz").read_bytes()).splitlines(
            keepends=True
        )
        bad.write_bytes(lines[0] + lines[1][:20] + b"\xe9" + lines[1][20:] + b"".join(lines[2:]))
        result = cli(
            "eval", "--samples", good, "--problems", bad, "-o", tmp_path / "out", "--allow-code-execution"
        )
        assert (
            result.exit_code == 3
            and f"{bad}:2: not valid UTF-8 (byte 0xe9 at byte column 21)" in result.stderr
        ), result.stderr
    assert "Traceback" not in result.stderr and "UnicodeDecodeError" not in result.stderr


def test_codegeex_postprocessing_is_python_only():
    text = "    return x\n\n\nprint(f(1))\nassert f(2) == 3\n    indented again\n"
    assert codegeex("python", text) == "    return x\n\n"
    assert codegeex("python", "\treturn x\n```\n") == "\treturn x"
    assert codegeex("python", "def f():\n    pass\n") == ""  # a non-indented first line keeps nothing
    for language in ("cpp", "java", "js", "go", "rust"):
        assert codegeex(language, text) == text
