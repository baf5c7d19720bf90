"""MFU: the FLOPs formula and parameter count checked against hand computations."""

from __future__ import annotations

import pytest

from codegen_cli.train.config import ModelConfig
from codegen_cli.train.metrics import flops_per_token, fmt_mfu, mfu, peak_flops
from codegen_cli.train.model import build_model, hf_config, matmul_params

SPECIALS = {"eos": 0, "pad": 1}


def test_flops_per_token_matches_nanogpt_gpt2_124m_by_hand() -> None:
    # GPT-2 124M: N = 123.65M non-position params (wte tied to the head), L=12, d=768, T=1024.
    n = 123_653_376
    expected = 6 * n + 12 * 12 * 768 * 1024  # = 855,166,464 FLOPs per token
    assert flops_per_token(n, 12, 768, 1024) == expected == 855_166_464
    # 8xA100 at 107k tokens/s per GPU -> ~29% MFU (nanoGPT README figures)
    assert mfu(8 * 107e3, expected, peak_flops("NVIDIA A100-SXM4-40GB"), 8) == pytest.approx(0.293, abs=0.002)


def test_matmul_params_of_a_tiny_llama_by_hand() -> None:
    m = ModelConfig(hidden_size=64, num_layers=2, num_heads=4, num_kv_heads=4, intermediate_size=192)
    model = build_model(hf_config(m, vocab_size=1000, seq_len=32, special_ids=SPECIALS), seed=0)
    d, f, v, L = 64, 192, 1000, 2
    per_layer = 4 * d * d + 3 * d * f + 2 * d  # q,k,v,o + gate,up,down + two RMSNorm weights
    assert matmul_params(model) == L * per_layer + d + v * d  # + final norm + tied output projection
    assert sum(p.numel() for p in model.parameters()) == L * per_layer + d + v * d


def test_matmul_params_of_a_gpt2_excludes_position_table() -> None:
    m = ModelConfig(arch="gpt2", hidden_size=32, num_layers=1, num_heads=2, intermediate_size=128)
    model = build_model(hf_config(m, vocab_size=100, seq_len=16, special_ids=SPECIALS), seed=0)
    total = sum(p.numel() for p in model.parameters())
    assert matmul_params(model) == total - 16 * 32  # token table counted once, as the tied head


def test_peaks_and_formatting() -> None:
    assert peak_flops("NVIDIA H200") == 989e12
    assert peak_flops("NVIDIA H100 PCIe") == 756e12
    assert peak_flops(None) is None and peak_flops("Some CPU") is None
    assert peak_flops(None, override_tflops=100) == 100e12
    assert mfu(1000, 1e9, None, 1) is None and fmt_mfu(None) == "n/a" and fmt_mfu(0.4123) == "41.2%"


def test_same_seed_same_weights() -> None:
    m = ModelConfig(hidden_size=32, num_layers=1, num_heads=2, num_kv_heads=2, intermediate_size=64)
    cfg = hf_config(m, vocab_size=50, seq_len=8, special_ids=SPECIALS)
    a, b = build_model(cfg, seed=3), build_model(cfg, seed=3)
    assert all((x == y).all() for x, y in zip(a.state_dict().values(), b.state_dict().values()))
