"""samples.jsonl bookkeeping: torn lines, corrupt lines, duplicates, the settings hash and tag styles."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from codegen_cli.errors import InputDataError, MismatchError, UsageError
from codegen_cli.generation import GenerationConfig
from codegen_cli.generation.engine import generation_settings
from codegen_cli.generation.prompts import resolve_tag_style, tagged_prompt
from codegen_cli.generation.store import SampleStore, model_fingerprint, settings_hash


def row(task: str, idx: int, digest: str = "h1") -> dict:
    return {"task_id": task, "language": "python", "sample_idx": idx, "completion": "  pass", "settings_hash": digest}


def test_torn_last_line_is_dropped_and_rows_are_keyed(tmp_path):
    store = SampleStore(tmp_path)
    store.append([row("Python/0", 0), row("Python/0", 1)])
    with store.path.open("a") as handle:
        handle.write('{"task_id": "Python/0", "sampl')
    assert len(store.read()) == 2
    assert store.repair() > 0 and store.path.read_text().endswith("\n")
    store.append([row("Python/0", 1)])  # a duplicate: the first row wins
    assert set(store.check("h1", force=False)) == {("Python/0", 0), ("Python/0", 1)}


def test_corrupt_line_is_bad_input_and_other_hash_is_a_mismatch(tmp_path):
    store = SampleStore(tmp_path)
    store.append([row("Python/0", 0, "old")])
    with pytest.raises(MismatchError) as info:
        store.check("new", force=False)
    assert info.value.exit_code == 4
    store.path.write_text("not json\n")
    with pytest.raises(InputDataError, match="samples.jsonl:1"):
        store.read()


def _append_many(folder, worker):
    store = SampleStore(folder)
    for i in range(50):
        store.append([row(f"Python/{worker}", i), row(f"Python/{worker}", 1000 + i)])


def test_processes_appending_together_never_interleave_lines(tmp_path):
    procs = [multiprocessing.get_context("fork").Process(target=_append_many, args=(tmp_path, w)) for w in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    lines = (tmp_path / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 300 and all(json.loads(line)["completion"] == "  pass" for line in lines)


def test_settings_hash_covers_sampling_not_batch_size(random_model, tmp_path):
    base = GenerationConfig(model=str(random_model), output=tmp_path)
    digest = settings_hash(generation_settings(base, "comment"))
    same = GenerationConfig(model=str(random_model), output=tmp_path / "x", batch_size=3, n_samples=9)
    assert settings_hash(generation_settings(same, "comment")) == digest
    for change in ({"temperature": 0.2}, {"top_p": 0.5}, {"max_new_tokens": 7}, {"seed": 2}):
        other = GenerationConfig(model=str(random_model), output=tmp_path, **change)
        assert settings_hash(generation_settings(other, "comment")) != digest, change
    assert settings_hash(generation_settings(base, "none")) != digest
    greedy_a = GenerationConfig(model=str(random_model), output=tmp_path, temperature=0, seed=1)
    greedy_b = GenerationConfig(model=str(random_model), output=tmp_path, temperature=0, seed=2, top_p=0.5)
    assert generation_settings(greedy_a, "none") == generation_settings(greedy_b, "none")
    assert "model.safetensors" in model_fingerprint(str(random_model))["files"]
    assert model_fingerprint("org/name") == {"hub_id": "org/name"}


def test_tag_style_comes_from_the_model_folder_unless_overridden(random_model, tmp_path):
    assert resolve_tag_style(random_model, None) == "comment"  # written by codegen's tokenizer
    assert resolve_tag_style(tmp_path, None) == "none"  # a folder without codegen_tokenizer.json
    assert resolve_tag_style("org/name", "token") == "token"
    with pytest.raises(UsageError):
        resolve_tag_style(random_model, "emoji")
    assert tagged_prompt("int f() {\n", "cpp", "comment") == "// language: C++\nint f() {\n"
    assert tagged_prompt("x", "go", "token") == "<|lang:Go|>x"
    assert tagged_prompt("x", None, "comment") == "x"


def test_token_style_tags_missing_from_the_tokenizer_are_reported(random_model):
    from transformers import AutoTokenizer

    from codegen_cli.generation.prompts import missing_tag_tokens

    tok = AutoTokenizer.from_pretrained(random_model)  # trained with comment tags: no tag tokens at all
    assert missing_tag_tokens(tok, ["python", "cpp"], "token") == ["<|lang:C++|>", "<|lang:Python|>"]
    assert missing_tag_tokens(tok, ["python"], "comment") == []
