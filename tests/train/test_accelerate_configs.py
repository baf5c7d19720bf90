"""Every shipped accelerate config loads with Accelerate's own config reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.train.conftest import REPO

CONFIGS = sorted((REPO / "pipelines" / "accelerate").glob("*.yaml"))
EXPECTED = {"single_gpu": "NO", "multi_gpu": "MULTI_GPU", "fsdp": "FSDP", "deepspeed_zero2": "DEEPSPEED",
            "deepspeed_zero3": "DEEPSPEED", "multi_node": "MULTI_GPU"}


def test_all_expected_configs_exist() -> None:
    assert {p.stem for p in CONFIGS} == set(EXPECTED)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_loads(path: Path) -> None:
    from accelerate.commands.config.config_args import ClusterConfig

    cfg = ClusterConfig.from_yaml_file(str(path))
    assert str(cfg.distributed_type).split(".")[-1] == EXPECTED[path.stem]
    assert cfg.mixed_precision == "bf16" and not cfg.use_cpu
    if path.stem == "fsdp":
        assert cfg.fsdp_config["fsdp_version"] == 2
    if path.stem.startswith("deepspeed"):
        assert cfg.deepspeed_config["zero_stage"] == int(path.stem[-1])
        assert "gradient_accumulation_steps" not in cfg.deepspeed_config  # --grad-accum owns it
