"""Fixtures for the translation tests: HumanEval-X problems, translation samples files made from the
canonical solutions, and a tiny random-weight Llama with a tokenizer trained here (no download)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from codegen_cli.evaluate.problems import PACKAGED_DIR as HUMANEVAL_X

# Problems whose canonical solutions pass in every language (none is in known_bugs.py).
TASKS = ["0", "2", "7"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """A tiny model gains nothing from threads; on a shared, loaded box they only slow it down."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def humaneval_x() -> Path:
    return HUMANEVAL_X


@pytest.fixture(scope="session")
def problems(humaneval_x):
    """Every HumanEval-X problem, by language then number."""
    from codegen_cli.evaluate.problems import load_problems

    out: dict[str, dict[int, object]] = {}
    for problem in load_problems(humaneval_x):
        out.setdefault(problem.language, {})[problem.number] = problem
    return out


def write_translations(path: Path, problems, pairs, numbers, *, paste_source: bool) -> Path:
    """Our-format translation samples: the target's canonical solution, or the source's pasted unchanged."""
    rows = []
    for source, target in pairs:
        for number in numbers:
            chosen = problems[source if paste_source else target][number]
            rows.append({"task_id": problems[target][number].task_id, "language": target,
                         "source_language": source, "sample_idx": 0, "completion": chosen.canonical_solution})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _documents(data: Path) -> list[tuple[str, str]]:
    docs = []
    for key, name in [("python", "Python"), ("cpp", "C++"), ("js", "JavaScript")]:
        with gzip.open(data / f"humaneval_{key}.jsonl.gz", "rt", encoding="utf-8") as handle:
            docs += [(row["prompt"] + row["canonical_solution"], name) for row in map(json.loads, handle)]
    return docs


@pytest.fixture(scope="session")
def tiny_model(humaneval_x, tmp_path_factory) -> Path:
    """A 2-layer random-weight Llama + a 600-token BPE trained on HumanEval-X text, saved as an HF folder."""
    import shutil

    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from codegen_cli.tokenizer import train_tokenizer

    tok_dir = train_tokenizer(_documents(humaneval_x), tmp_path_factory.mktemp("tok") / "tokenizer",
                              vocab_size=600, tag_style="comment")
    tok = AutoTokenizer.from_pretrained(tok_dir)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=None)
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("model") / "hf"
    shutil.copytree(tok_dir, out, dirs_exist_ok=True)
    LlamaForCausalLM(config).save_pretrained(out)
    return out


def eval_config(**values):
    """An EvalConfig for `--task translate` with the test defaults (2 workers, code execution on); flat keys."""
    from codegen_cli.config import from_mapping
    from codegen_cli.evaluate.config import EvalConfig

    base = {"task": "translate", "problems": str(HUMANEVAL_X), "k": [1], "workers": 2, "timeout": 20.0,
            "allow_code_execution": True}
    return from_mapping(EvalConfig, {**base, **values})
