"""Decontamination: benchmark texts found through reformatting; short texts ignored; errors named."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from codegen_cli.collect.decontaminate import MIN_TOKENS, load_benchmark, text_tokens
from codegen_cli.errors import InputDataError, UsageError


def test_humaneval_x_prompts_are_found_even_reformatted(humaneval_x_dir: Path):
    index = load_benchmark(humaneval_x_dir)
    assert index.texts > 6 * 164  # prompts of all six languages, plus the longer solutions
    with gzip.open(humaneval_x_dir / "humaneval_cpp.jsonl.gz", "rt", encoding="utf-8") as handle:
        problem = json.loads(handle.readline())
    copy = "// my file\n" + problem["prompt"].replace("    ", "\t").replace("\n", "\n\n") + "\nint other() {}\n"
    assert index.contains(text_tokens(copy))
    assert not index.contains(text_tokens("int main() { return helper(1, 2) + helper(3, 4); }\n" * 20))


def test_keyword_humaneval_x_is_the_packaged_copy(humaneval_x_dir: Path, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no folder named humaneval-x here
    assert load_benchmark(Path("humaneval-x")).texts == load_benchmark(humaneval_x_dir).texts


def test_short_texts_are_not_used(tmp_path: Path):
    path = tmp_path / "bench.jsonl"
    rows = [{"prompt": "def f(a, b):\n", "canonical_solution": "    return a + b\n"},
            {"prompt": " ".join(f"word{i}" for i in range(MIN_TOKENS)), "canonical_solution": ""}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    index = load_benchmark(path)
    assert index.texts == 1
    assert not index.contains(text_tokens("def f(a, b):\n    return a + b\n" * 5))


def test_bad_benchmark_paths(tmp_path: Path):
    with pytest.raises(UsageError):
        load_benchmark(tmp_path / "missing.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputDataError):
        load_benchmark(tmp_path / "empty")
