"""Generated samples go straight into the scoring engine (`codegen eval --model` glue): files and counts.

A model with hand-set weights scores 0; the test checks that every sample was written, read back by the
scorer and given a verdict, not the score.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import require_toolchains


@pytest.mark.slow
def test_samples_are_scored_end_to_end(stopper_model, humaneval_x_dir, tmp_path):
    require_toolchains("cpp")
    from codegen_cli.config import from_mapping
    from codegen_cli.evaluate.config import EvalConfig
    from codegen_cli.evaluate.model_eval import evaluate

    config = from_mapping(EvalConfig, dict(
        model=str(stopper_model), output=tmp_path, problems=str(humaneval_x_dir), languages=["python", "cpp"],
        limit=2, n_samples=2, k=[1], max_new_tokens=30, batch_size=4, temperature=1.0, top_p=1.0,
        allow_code_execution=True))
    result = evaluate(config).to_dict()
    assert result["generation"]["generated"] == 8
    scoring = result
    assert scoring["samples"] == 8 and scoring["problems"] == 4
    assert {lang: stats["samples"] for lang, stats in scoring["per_language"].items()} == {"python": 4, "cpp": 4}
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    samples = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert sorted((r["task_id"], r["sample_idx"]) for r in rows) == \
        sorted((s["task_id"], s["sample_idx"]) for s in samples)
    assert all(r["status"] in ("passed", "failed", "compile_error", "timeout", "memory") for r in rows)
    assert (tmp_path / "summary.json").is_file()
