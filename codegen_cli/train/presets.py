"""Model presets: shapes from a CPU test model up to a CodeGeeX-13B-shaped config.

Each preset fixes the model shape plus the settings that go with that size (sequence length, peak
learning rate, micro-batch). Anything can still be overridden (`--seq-len`, `--set model.num_layers=4`).
Learning rates follow the GPT-3 paper's table for similar sizes (125M 6e-4, 350M 3e-4, 1.3B 2e-4,
13B 1e-4); the tiny model tolerates a much larger one because it only has to learn quickly in tests.
"""

from __future__ import annotations

from typing import Any

from codegen_cli.errors import UsageError

# intermediate_size ~ 8/3 * hidden for SwiGLU (keeps the MLP's parameter count equal to a 4x GELU MLP),
# rounded up to a multiple of 64 for efficient matmuls.
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {  # ~0.1M non-embedding params: a few steps per second on one CPU core
        "model": {"hidden_size": 64, "num_layers": 2, "num_heads": 4, "num_kv_heads": 4,
                  "intermediate_size": 192},
        "seq_len": 64,
        "lr": 3e-3,
        "micro_batch_size": 8,
    },
    "small": {  # ~5M non-embedding params: the benchmark size on a CPU, a quick smoke test on a GPU
        "model": {"hidden_size": 256, "num_layers": 6, "num_heads": 8, "num_kv_heads": 8,
                  "intermediate_size": 704},
        "seq_len": 256,
        "lr": 1e-3,
        "micro_batch_size": 8,
    },
    "125m": {  # GPT-3 Small / GPT-2 124M shape
        "model": {"hidden_size": 768, "num_layers": 12, "num_heads": 12, "num_kv_heads": 12,
                  "intermediate_size": 2048},
        "seq_len": 2048,
        "lr": 6e-4,
        "micro_batch_size": 16,
    },
    "350m": {  # GPT-3 Medium shape
        "model": {"hidden_size": 1024, "num_layers": 24, "num_heads": 16, "num_kv_heads": 16,
                  "intermediate_size": 2752},
        "seq_len": 2048,
        "lr": 3e-4,
        "micro_batch_size": 8,
    },
    "1.3b": {  # GPT-3 XL shape
        "model": {"hidden_size": 2048, "num_layers": 24, "num_heads": 16, "num_kv_heads": 16,
                  "intermediate_size": 5504},
        "seq_len": 2048,
        "lr": 2e-4,
        "micro_batch_size": 4,
    },
    "codegeex-13b": {  # CodeGeeX: 39 layers (+ its top query layer), hidden 5120, 40 heads, seq 2048
        "model": {"hidden_size": 5120, "num_layers": 39, "num_heads": 40, "num_kv_heads": 40,
                  "intermediate_size": 13696},
        "seq_len": 2048,
        "lr": 1e-4,
        "micro_batch_size": 1,
    },
}


def get_preset(name: str) -> dict[str, Any]:
    """The preset table for `name`, or a UsageError listing the valid names."""
    if name not in PRESETS:
        raise UsageError(f"preset {name!r} does not exist; use one of: {', '.join(PRESETS)}")
    return PRESETS[name]
