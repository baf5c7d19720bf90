"""A real instruct model (SmolLM2-135M-Instruct, GGUF) through `codegen eval`: chat by default, replies
kept, completions fitted, and translation in chat style too."""

from __future__ import annotations

import json

import pytest

from tests.conftest import require_toolchains

pytestmark = pytest.mark.slow


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_eval_gguf_chat_by_default(smollm2_gguf, smollm2_folder, tmp_path, monkeypatch):
    require_toolchains("cpp")
    from codegen_cli.config import from_mapping
    from codegen_cli.evaluate.config import EvalConfig
    from codegen_cli.evaluate.model_eval import evaluate

    monkeypatch.setenv("CODEGEN_ALLOW_CODE_EXECUTION", "1")
    cfg = from_mapping(EvalConfig, {"model": str(smollm2_gguf), "languages": ["python", "cpp"], "limit": 2,
                                    "temperature": 0, "max_new_tokens": 48, "k": [1], "output": tmp_path})
    run = evaluate(cfg)
    assert run.generation.prompt_style == "chat" and run.scoring.samples == 4
    rows = _rows(tmp_path / "samples.jsonl")
    assert all(r["prompt_style"] == "chat" and r["reply"].startswith("```") for r in rows)
    assert all(r["completion"].strip() for r in rows)
    # the same folder asked for completion style: other settings, refused (exit 4)
    from codegen_cli.errors import MismatchError

    with pytest.raises(MismatchError):
        evaluate(from_mapping(EvalConfig, {"model": str(smollm2_gguf), "languages": ["python"], "limit": 2,
                                           "temperature": 0, "max_new_tokens": 48, "k": [1], "output": tmp_path,
                                           "prompt_style": "completion"}))


def test_translate_in_chat_style(smollm2_folder, tmp_path, monkeypatch):
    require_toolchains("cpp")
    from codegen_cli.config import from_mapping
    from codegen_cli.evaluate.config import EvalConfig
    from codegen_cli.evaluate.model_eval import evaluate

    monkeypatch.setenv("CODEGEN_ALLOW_CODE_EXECUTION", "1")
    cfg = from_mapping(EvalConfig, {"task": "translate", "source_language": "python", "model": str(smollm2_folder),
                                    "languages": ["cpp"], "limit": 2, "temperature": 0, "max_new_tokens": 48,
                                    "k": [1], "output": tmp_path})
    evaluate(cfg)
    rows = _rows(tmp_path / "python-to-cpp" / "samples.jsonl")
    assert len(rows) == 2 and all(r["prompt_style"] == "chat" and r["source_language"] == "python" for r in rows)
