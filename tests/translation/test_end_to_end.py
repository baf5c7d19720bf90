"""A tiny real model (random weights) translates Python problems into C++ and JavaScript end to end:
samples per pair with source_language, the translation prompt, scoring, the matrix, and resume."""

from __future__ import annotations

import json

from codegen_cli.evaluate.model_eval import evaluate
from codegen_cli.evaluate.translation import render_matrix, translation_format, translation_prompt
from tests.conftest import require_toolchains

from .conftest import eval_config


def test_tiny_model_translates_two_pairs(tmp_path, tiny_model, problems, capsys):
    require_toolchains("cpp", "js")
    out = tmp_path / "results"
    cfg = eval_config(model=str(tiny_model), source_language="python", languages=["cpp", "js"], tasks=["0", "2"],
                      output=out, n_samples=2, k=[1, 2], max_new_tokens=24, batch_size=4, temperature=0.8)
    summary = evaluate(cfg).to_dict()
    assert list(summary["pairs"]) == ["python-to-cpp", "python-to-js"]
    for name, target in [("python-to-cpp", "cpp"), ("python-to-js", "js")]:
        rows = [json.loads(line) for line in (out / name / "samples.jsonl").read_text().splitlines()]
        assert len(rows) == 4  # 2 problems x 2 samples
        assert {r["source_language"] for r in rows} == {"python"} and {r["language"] for r in rows} == {target}
        assert {r["task_id"].split("/")[1] for r in rows} == {"0", "2"}
        results = (out / name / "results.jsonl").read_text().splitlines()
        assert len(results) == 4
        pair = summary["pairs"][name]
        assert pair["generation"]["generated"] == 4 and pair["samples"] == 4
        assert set(pair["pass_at_k"]) == {"pass@1", "pass@2"}
        assert 0.0 <= pair["pass_at_k"]["pass@1"] <= 1.0
    assert set(summary["matrix"]["pass@1"]["python"]) == {"cpp", "js"}
    # the generation engine saw the translation prompt (its format is part of the settings hash)
    settings = json.loads((out / "python-to-cpp" / "generation.json").read_text())["settings"]
    assert settings["prompt_format"] == translation_format("python", problems["python"]).name
    fmt = translation_format("python", problems["python"])
    assert fmt.build(problems["cpp"][0], "comment") == translation_prompt(problems["python"][0], problems["cpp"][0])
    # resume: nothing generated or run again, same figures
    again = evaluate(cfg).to_dict()
    assert again["matrix"] == summary["matrix"]
    assert all(p["generation"]["generated"] == 0 and p["programs"]["run"] == 0 for p in again["pairs"].values())
    render_matrix(summary)
    assert "python" in capsys.readouterr().err


def test_pairs_without_selected_problems_are_skipped(tmp_path, tiny_model):
    """`--tasks CPP/0` selects only a C++ problem: the python->js pair has nothing to do and is skipped."""
    require_toolchains("cpp", "js")
    out = tmp_path / "results"
    cfg = eval_config(model=str(tiny_model), source_language="python", languages=["cpp", "js"],
                      tasks=["CPP/0"], output=out, n_samples=1, max_new_tokens=8, temperature=0.0)
    summary = evaluate(cfg).to_dict()
    assert list(summary["pairs"]) == ["python-to-cpp"]
    assert not (out / "python-to-js").exists()
