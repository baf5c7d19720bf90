"""Before and after (issue 24): a recipe's [baseline] is `codegen eval` of the model [train] starts from,
with [eval]'s settings; [train] init_from is [tokenize]'s tokenizer; the delta of two real scored result
folders is printed by `codegen run` and drawn by `codegen report`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codegen_cli.errors import UsageError
from codegen_cli.evaluate.problems import load_problems
from codegen_cli.pipeline.recipe import parse_recipe, select_stages
from codegen_cli.pipeline.runner import build_configs, launch_command
from codegen_cli.pipeline.stages import step_record
from codegen_cli.report.compare import compare_results, format_lines
from tests.conftest import HUMANEVAL_X

RECIPE = {"workdir": "w", "tokenize": {"tag_style": "comment"}, "baseline": {"batch_size": 4},
          "train": {"init_from": "org/base-model", "max_steps": 3},
          "eval": {"languages": ["go"], "limit": 8, "temperature": 0.0, "prompt_style": "completion", "k": [1]}}


def test_baseline_is_eval_of_the_starting_model_with_evals_settings(tmp_path):
    recipe = parse_recipe(RECIPE, path=tmp_path / "r.toml")
    assert select_stages(recipe, None, None) == ["tokenize", "baseline", "train", "eval"]
    configs = build_configs(recipe)
    base, after = configs["baseline"], configs["eval"]
    assert base.generation.model == "org/base-model" and after.generation.model == "w/run/hf"
    assert base.output == Path("w/results-base") and after.output == Path("w/results")
    assert (base.scoring.languages, base.scoring.limit, base.generation.temperature) == (["go"], 8, 0.0)
    assert base.generation.batch_size == 4 and after.generation.batch_size != 4  # its own keys win
    assert configs["tokenize"].tokenizer == "org/base-model"
    assert launch_command(step_record("baseline"), base, recipe).startswith("codegen eval ")


def test_baseline_without_a_starting_model_is_a_usage_error(tmp_path):
    recipe = parse_recipe({"workdir": "w", "baseline": {}, "eval": {}}, path=tmp_path / "r.toml")
    with pytest.raises(UsageError, match=r"\[baseline\].*init_from"):
        build_configs(recipe)


def _scored(cli, folder: Path, passing: set[str]) -> Path:
    """A real `codegen eval --samples` run: the canonical solution for `passing` tasks, a wrong body else."""
    problems = load_problems(HUMANEVAL_X, languages=["python"], limit=4)
    rows = [{"task_id": p.task_id, "completion": p.canonical_solution if p.task_id in passing
             else "    return None\n"} for p in problems]
    samples = folder.with_suffix(".jsonl")
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = cli("eval", "--samples", samples, "-l", "python", "--limit", "4", "-k", "1", "-o", folder,
                 "--allow-code-execution")
    assert result.exit_code == 0, result.stderr
    return folder


def test_delta_of_two_scored_folders_printed_and_in_the_report(cli, tmp_path):
    before = _scored(cli, tmp_path / "results-base", {"Python/0"})
    after = _scored(cli, tmp_path / "results", {"Python/0", "Python/1", "Python/3"})
    comparison = compare_results(before, after)
    python = next(r for r in comparison["rows"] if r["language"] == "Python")
    assert (python["before"], python["after"], python["problems"]) == (0.25, 0.75, 4)
    assert python["delta"] == pytest.approx(0.5)
    assert "Python pass@1 on 4 problems: 25.0% -> 75.0% (+50.0 points)" in format_lines(comparison)
    result = cli("report", tmp_path, "-o", tmp_path / "report.html")
    assert result.exit_code == 0, result.stderr
    page = (tmp_path / "report.html").read_text()
    assert "Before and after: results-base/ vs results/" in page and "+50.0" in page
