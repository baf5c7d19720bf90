"""The continue-smollm2 recipe, shortened (issue 24): the real SmolLM2-135M GGUF, tokens from its own
tokenizer, a few optimizer steps from its weights on CPU; the export reloads in transformers and its held-out
loss on the trained language is lower than the base model's, measured here on the same val windows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.generation.conftest import model_cache, smollm2_folder, smollm2_gguf  # noqa: F401 (fixtures)
from tests.train.conftest import run_cli, stdlib_documents, write_corpus

pytestmark = pytest.mark.slow
SEQ_LEN = 64
WINDOWS = 8  # 512 held-out tokens (documents never trained on): a few seconds per model on 2 cores


def _heldout_loss(model_dir: Path, windows: np.ndarray) -> float:
    """Mean next-token cross-entropy (nats/token) of a transformers folder over [n, SEQ_LEN + 1] windows."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    model.eval()
    batch = torch.from_numpy(windows)
    with torch.no_grad():
        logits = model(input_ids=batch[:, :-1]).logits
    return F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), batch[:, 1:].reshape(-1)).item()


def test_short_continued_pretraining_lowers_the_heldout_loss(smollm2_gguf, smollm2_folder, tmp_path):  # noqa: F811
    from codegen_cli.train.data import WindowSource, read_tokens_info

    corpus = write_corpus(tmp_path / "corpus", stdlib_documents(60_000))
    tokens = tmp_path / "tokens"
    result = run_cli(["tokenize", str(corpus), "-o", str(tokens), "--tokenizer", str(smollm2_gguf),
                      "--eos-token", "<|endoftext|>", "--val-fraction", "0.15", "--verify", "--json"])
    assert result.returncode == 0, result.stderr
    tokenized = json.loads(result.stdout)
    assert tokenized["round_trip_failures"] == 0 and tokenized["vocab_size"] == 49152
    assert tokenized["base_tokenizer"]["kind"] == "gguf"

    run = tmp_path / "run"
    result = run_cli(["train", str(tokens), "-o", str(run), "--init-from", str(smollm2_gguf), "--seq-len",
                      str(SEQ_LEN), "--micro-batch-size", "2", "--max-steps", "4", "--set", "eval_batches=1",
                      "--set", "log_every=1", "--json"], env={"OMP_NUM_THREADS": "2"})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["steps"] == 4 and summary["initial_val_loss"] is not None

    windows = WindowSource(read_tokens_info(tokens), "val", SEQ_LEN).batch(np.arange(WINDOWS))
    base, after = _heldout_loss(smollm2_folder, windows), _heldout_loss(run / "hf", windows)
    assert after < base, (base, after)
    card = (run / "hf" / "README.md").read_text()
    assert "license: apache-2.0" in card and "SmolLM2-135M-Instruct.Q4_1.gguf" in card
