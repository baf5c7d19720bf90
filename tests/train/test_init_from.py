"""`codegen train --init-from MODEL`: a warm start from real pretrained parts (SmolLM2's tokenizer, a tiny
Llama folder), embeddings grown for added tags, export with the base model on its card, `RUN/hf` continued,
and the three refusals (other tokenizer, vocabulary that does not match, GGUF transformers cannot load)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from codegen_cli.train.config import TrainConfig, resolve, warm_start_warmup
from codegen_cli.train.init import grow_embeddings
from codegen_cli.train.optim import lr_at, warmup_steps
from tests.conftest import freeze_when
from tests.pretrained import LICENSE, smollm2_tokenizer_folder, tiny_llama_folder, unloadable_gguf
from tests.train.conftest import REPO, run_cli, stdlib_documents, write_corpus

SMOLLM2_VOCAB = 49152


@pytest.fixture(scope="module")
def smollm2_tokenizer(tmp_path_factory) -> Path:
    return smollm2_tokenizer_folder(tmp_path_factory.mktemp("smollm2") / "tokenizer")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, smollm2_tokenizer) -> Path:
    return tiny_llama_folder(smollm2_tokenizer, tmp_path_factory.mktemp("tiny") / "model")


def _tokens(out: Path, tokenizer: Path, tag_style: str) -> Path:
    from codegen_cli.tokenizer import TokenizeConfig, tokenize

    corpus = write_corpus(out.parent / f"{out.name}-corpus", stdlib_documents(60_000))
    tokenize(TokenizeConfig(corpus=corpus, output=out, tokenizer=str(tokenizer), tag_style=tag_style,
                            eos_token="<|endoftext|>", val_fraction=0.2, workers=1))
    return out


@pytest.fixture(scope="module")
def tokens_tagged(tmp_path_factory, smollm2_tokenizer) -> Path:
    """SmolLM2's tokenizer plus the <|lang:Python|> tag token: the embedding must grow by one row."""
    return _tokens(tmp_path_factory.mktemp("tagged") / "tokens", smollm2_tokenizer, "token")


def _args(tokens: Path, run: Path, model: Path | str, *extra: str) -> list[str]:
    return ["train", str(tokens), "-o", str(run), "--init-from", str(model), "--seq-len", "32",
            "--micro-batch-size", "2", "--set", "log_every=1", "--set", "eval_batches=2", *extra]


def test_warm_start_defaults():
    cfg = resolve(TrainConfig(tokens=Path("t"), output=Path("r"), init_from="m", max_steps=60))
    assert cfg.optim.lr == 1e-4 and cfg.optim.warmup_steps == warm_start_warmup(0.95) == 40
    assert cfg.model.hidden_size is None  # the model brings its own shape, not the preset's
    assert warmup_steps(cfg.optim, 60, warm_start=True) == 30  # capped at half the run
    assert lr_at(0, cfg.optim, 60, warm_start=True) == pytest.approx(1e-4 / 30)
    scratch = resolve(TrainConfig(tokens=Path("t"), output=Path("r"), max_steps=60))
    assert scratch.optim.warmup_steps == 100 and scratch.optim.lr == 3e-3 and scratch.model.hidden_size == 64


def test_new_rows_are_the_mean_embedding(tiny_model):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model))
    before = model.get_input_embeddings().weight.detach().clone()
    assert grow_embeddings(model, SMOLLM2_VOCAB + 2) == 2
    after = model.get_input_embeddings().weight.detach()
    assert torch.equal(after[:SMOLLM2_VOCAB], before)
    assert torch.allclose(after[SMOLLM2_VOCAB:], before.mean(dim=0).expand(2, -1))
    assert model.get_output_embeddings().weight.shape[0] == SMOLLM2_VOCAB + 2  # tied: the head grew too


def test_warm_start_trains_exports_and_continues(tokens_tagged, tiny_model, tmp_path):
    run = tmp_path / "run"
    result = run_cli(_args(tokens_tagged, run, tiny_model, "--max-steps", "3", "--json"))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["steps"] == 3 and summary["init_from"] == str(tiny_model)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows[0]["step"] == 0 and rows[0]["val_loss"] == summary["initial_val_loss"]  # the base model's loss
    assert [r["step"] for r in rows if "loss" in r] == [1, 2, 3]  # a fresh step counter
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(run / "hf"))
    tokenizer = AutoTokenizer.from_pretrained(str(run / "hf"))
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer) == SMOLLM2_VOCAB + 1
    card = (run / "hf" / "README.md").read_text()
    assert f"license: {LICENSE}" in card and str(tiny_model) in card and "<|lang:Python|>" in card
    assert json.loads((run / "base_model.json").read_text())["added_tokens"] == ["<|lang:Python|>"]
    # RUN/hf continues the run on the same tokens (its tokenizer already holds the tag)
    again = run_cli(_args(tokens_tagged, tmp_path / "run2", run / "hf", "--max-steps", "1", "--json"))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["initial_val_loss"] == pytest.approx(summary["final_val_loss"], rel=1e-4)


def test_tokens_from_another_tokenizer_are_refused(tokens_dir, tiny_model, tmp_path):
    result = run_cli(_args(tokens_dir, tmp_path / "run", tiny_model, "--max-steps", "1"))
    assert result.returncode == 4, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert str(tokens_dir / "tokenizer") in line and f"not with the tokenizer of {tiny_model}" in line
    assert "--tokenizer" in line and not (tmp_path / "run").exists()


def test_model_whose_vocabulary_does_not_match_is_refused(smollm2_tokenizer, tokens_tagged, tmp_path):
    small = tiny_llama_folder(smollm2_tokenizer, tmp_path / "small", vocab_size=1000)
    result = run_cli(_args(tokens_tagged, tmp_path / "run", small, "--max-steps", "1"))
    assert result.returncode == 4, result.stderr
    assert "its embedding has 1,000 rows but its tokenizer has 49,152 ids" in result.stderr
    assert not (tmp_path / "run").exists()


def test_gguf_transformers_cannot_load_is_refused(tokens_tagged, tmp_path):
    bad = unloadable_gguf(tmp_path / "bad.gguf")
    result = run_cli(_args(tokens_tagged, tmp_path / "run", bad, "--max-steps", "1"),
                     env={"CODEGEN_MODEL_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 3, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ") and "bad.gguf: not loadable as a GGUF causal LM" in line
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_sigkill_then_resume_continues_the_warm_start(tokens_tagged, tiny_model, tmp_path):
    """A resume restores the checkpoint over the base weights: steps go on, step 0 (the base loss) stays once."""
    run = tmp_path / "run"
    args = _args(tokens_tagged, run, tiny_model, "--max-steps", "12", "--save-every", "2")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CODEGEN_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "codegen_cli", *args], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        freeze_when(proc, lambda: any(p.name == "step-00000004" for p in (run / "checkpoints").glob("step-*")),
                    "the step-4 checkpoint")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=600)
    before = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
    result = run_cli(args + ["--json"])
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["resumed_from"] and summary["steps"] == 12
    assert summary["initial_val_loss"] == before["val_loss"]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows].count(0) == 1
    assert [r["step"] for r in rows if "loss" in r] == list(range(1, 13))  # each step once, in order
