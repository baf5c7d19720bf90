"""Translations made elsewhere (`--samples`): the target's canonical solutions score 1.0, the source code
pasted unchanged scores 0, CodeGeeX's file format is read, and a rerun resumes without running anything."""

from __future__ import annotations

import json

import pytest

from codegen_cli.errors import InputDataError, MismatchError, UsageError
from codegen_cli.evaluate.model_eval import evaluate
from codegen_cli.evaluate.translation import translate
from tests.conftest import require_toolchains

from .conftest import TASKS, eval_config, write_translations

PAIRS = [("python", "cpp"), ("python", "js"), ("js", "python"), ("cpp", "js")]
NUMBERS = [int(t) for t in TASKS]


def _run(tmp_path, samples, **extra):
    return translate(eval_config(samples=samples, output=tmp_path / "results", tasks=TASKS, **extra))


def test_canonical_translations_score_one(tmp_path, problems):
    require_toolchains("cpp", "js")
    samples = write_translations(tmp_path / "canonical.jsonl", problems, PAIRS, NUMBERS, paste_source=False)
    summary = _run(tmp_path, samples)
    assert sorted(summary["pairs"]) == sorted(f"{s}-to-{t}" for s, t in PAIRS)
    for name, pair in summary["pairs"].items():
        assert pair["pass_at_k"] == {"pass@1": 1.0}, (name, pair["statuses"])
        assert pair["problems"] == len(NUMBERS)
    assert summary["matrix"]["pass@1"]["python"] == {"cpp": 1.0, "js": 1.0}
    assert summary["sources"] == ["python", "cpp", "js"] and summary["targets"] == ["python", "cpp", "js"]
    out = tmp_path / "results"
    assert json.loads((out / "summary.json").read_text())["matrix"] == summary["matrix"]
    rows = [json.loads(line) for line in (out / "python-to-cpp" / "samples.jsonl").read_text().splitlines()]
    assert {r["source_language"] for r in rows} == {"python"} and rows[0]["task_id"] == "CPP/0"
    assert (out / "python-to-cpp" / "results.jsonl").is_file()
    assert (out / "manifest.json").is_file()
    # a rerun resumes: every result is reused, nothing runs again
    again = _run(tmp_path, samples)
    assert again["matrix"] == summary["matrix"]
    assert all(pair["programs"]["run"] == 0 for pair in again["pairs"].values())
    assert json.loads((out / "cpp-to-js" / "summary.json").read_text())["pass_at_k"] == {"pass@1": 1.0}


def test_pasted_source_scores_zero(tmp_path, problems):
    require_toolchains("cpp", "js")
    samples = write_translations(tmp_path / "pasted.jsonl", problems, PAIRS, NUMBERS, paste_source=True)
    summary = _run(tmp_path, samples)
    for name, pair in summary["pairs"].items():
        assert pair["pass_at_k"] == {"pass@1": 0.0}, (name, pair["statuses"])


def test_codegeex_format_file(tmp_path, problems):
    """CodeGeeX rows: task id of the SOURCE problem, `generation`, pair in the file name."""
    require_toolchains("cpp", "js")
    path = tmp_path / "codegeex_python-to-js_samples.jsonl"
    rows = [{"task_id": problems["python"][n].task_id, "generation": problems["js"][n].canonical_solution}
            for n in NUMBERS for _ in range(2)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = evaluate(eval_config(samples=path, output=tmp_path / "out", tasks=TASKS, k=[1, 2])).to_dict()
    assert list(summary["pairs"]) == ["python-to-js"]
    assert summary["pairs"]["python-to-js"]["pass_at_k"] == {"pass@1": 1.0, "pass@2": 1.0}
    assert summary["pairs"]["python-to-js"]["samples"] == 2 * len(NUMBERS)


def test_filters_and_bad_rows(tmp_path, problems):
    require_toolchains("js")
    samples = write_translations(tmp_path / "s.jsonl", problems, PAIRS, NUMBERS, paste_source=False)
    summary = _run(tmp_path, samples, source_language="python", languages=["js"])
    assert list(summary["pairs"]) == ["python-to-js"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_id": "CPP/0", "completion": "x"}\nnot json\n')
    with pytest.raises(InputDataError, match="2 bad translation sample row"):
        _run(tmp_path, bad)
    # another completion for a scored sample is refused (its result would no longer match)
    pasted = write_translations(tmp_path / "p.jsonl", problems, PAIRS, NUMBERS, paste_source=True)
    with pytest.raises(MismatchError):
        _run(tmp_path, pasted)


def test_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="either --model"):
        translate(eval_config(output=tmp_path))
    with pytest.raises(UsageError, match="needs --source-language"):
        translate(eval_config(model=str(tmp_path), output=tmp_path))
    with pytest.raises(UsageError, match="use one of generate, translate"):
        evaluate(eval_config(task="nope", output=tmp_path))
