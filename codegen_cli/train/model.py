"""Build the causal LM from a config (no download) and count what MFU needs.

Default: a Llama-style model from `transformers` (RoPE, SwiGLU, RMSNorm, SDPA attention, no biases);
`arch = "gpt2"` gives the GPT-2 layout. Dropout is always 0 (pretraining on de-duplicated data does not
need it, and it keeps resumed runs bit-identical). Vocabulary and special ids come from meta.json.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from codegen_cli.train.config import ModelConfig


def padded_vocab(vocab_size: int, multiple: int) -> int:
    return int(math.ceil(vocab_size / multiple) * multiple)


def hf_config(m: ModelConfig, *, vocab_size: int, seq_len: int, special_ids: dict[str, int]) -> Any:
    """The transformers config object for this model (what RUN/hf/config.json will hold)."""
    eos = special_ids["eos"]
    pad = special_ids.get("pad", eos)
    vocab = padded_vocab(vocab_size, m.vocab_multiple)
    if m.arch == "gpt2":
        from transformers import GPT2Config

        return GPT2Config(
            vocab_size=vocab, n_positions=seq_len, n_embd=m.hidden_size, n_layer=m.num_layers,
            n_head=m.num_heads, n_inner=m.intermediate_size, resid_pdrop=0.0, embd_pdrop=0.0,
            attn_pdrop=0.0, initializer_range=m.init_std, bos_token_id=eos, eos_token_id=eos,
            pad_token_id=pad, tie_word_embeddings=m.tie_embeddings,
        )
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab, hidden_size=m.hidden_size, intermediate_size=m.intermediate_size,
        num_hidden_layers=m.num_layers, num_attention_heads=m.num_heads,
        num_key_value_heads=m.num_kv_heads or m.num_heads, max_position_embeddings=seq_len,
        rope_theta=m.rope_theta, initializer_range=m.init_std, tie_word_embeddings=m.tie_embeddings,
        attention_dropout=0.0, bos_token_id=eos, eos_token_id=eos, pad_token_id=pad,
    )


def build_model(config: Any, *, seed: int) -> torch.nn.Module:
    """Fresh weights from `config`, initialised from `seed` alone (same seed, same model, any machine)."""
    from transformers import AutoModelForCausalLM

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    model.config.use_cache = False  # no KV cache while training; export turns it back on
    return model


def matmul_params(model: torch.nn.Module) -> int:
    """N for the 6N FLOPs rule: every weight used in a matmul, i.e. all parameters minus the embedding
    lookups (token and position tables), plus the output projection (counted once even when tied)."""
    total = sum(p.numel() for p in model.parameters())  # tied tensors appear once
    embeddings = model.get_input_embeddings().weight.numel()
    positions = 0
    wpe = getattr(getattr(model, "transformer", None), "wpe", None)
    if wpe is not None:
        positions = wpe.weight.numel()
    head = model.get_output_embeddings().weight
    tied = head is model.get_input_embeddings().weight
    return total - embeddings - positions + (head.numel() if tied else 0)
