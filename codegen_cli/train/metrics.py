"""Throughput, MFU and the metrics.jsonl log.

MFU follows PaLM (appendix B) and nanoGPT: a token costs 6N FLOPs in the matmuls of forward + backward
plus 12·L·d·T in attention (scores and weighted sum, forward + backward), where N counts matmul weights,
L layers, d the model width and T the sequence length. MFU = achieved FLOP/s over the devices' peak.
Peaks are dense bf16 tensor-core figures from the vendors' data sheets; CPUs and unknown devices report
"n/a" unless `peak_tflops` is given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codegen_cli.jsonl_store import JsonlStore

# Dense bf16 peak FLOP/s by a substring of torch.cuda.get_device_name(); most specific first.
PEAK_FLOPS: tuple[tuple[str, float], ...] = (
    ("H200", 989e12),
    ("H100 PCIe", 756e12),
    ("H100 NVL", 835e12),
    ("H100", 989e12),
    ("GH200", 989e12),
    ("B200", 2.25e15),
    ("A100", 312e12),
    ("A800", 312e12),
    ("L40S", 362e12),
    ("L4", 121e12),
    ("A6000", 154.85e12),
    ("A10G", 70e12),
    ("MI300X", 1.3e15),
)


def flops_per_token(n_matmul_params: int, num_layers: int, hidden_size: int, seq_len: int) -> float:
    """Training FLOPs per token: 6N + 12·L·d·T."""
    return 6.0 * n_matmul_params + 12.0 * num_layers * hidden_size * seq_len


def peak_flops(device_name: str | None, override_tflops: float | None = None) -> float | None:
    """Peak FLOP/s of one device, or None when unknown (then MFU is n/a)."""
    if override_tflops:
        return override_tflops * 1e12
    if not device_name:
        return None
    for key, value in PEAK_FLOPS:
        if key.lower() in device_name.lower():
            return value
    return None


def mfu(tokens_per_s: float, flops_token: float, peak_per_device: float | None, devices: int) -> float | None:
    """Model FLOPs utilisation in [0, 1], or None when the peak is unknown."""
    if not peak_per_device or devices < 1:
        return None
    return tokens_per_s * flops_token / (peak_per_device * devices)


def fmt_mfu(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


class MetricsLog:
    """RUN/metrics.jsonl: one JSON object per log event, appended (main process only).

    Not fsynced per row: a log line lost to a power cut is redone from the last checkpoint anyway."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.store = JsonlStore(path, fsync=False, what="metrics row", key=None)

    def truncate_after(self, step: int) -> None:
        """On resume, drop rows a killed run wrote after its last checkpoint (they are redone)."""
        if self.path.exists():
            rows = self.store.read(bad_rows="skip")  # a line cut by the kill is dropped too
            self.store.rewrite(row for row in rows if int(row.get("step", 0)) <= step)

    def write(self, row: dict[str, Any]) -> None:
        self.store.append([row])


def read_metrics(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
