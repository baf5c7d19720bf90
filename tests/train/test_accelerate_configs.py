"""Every shipped accelerate config loads with Accelerate's own config reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.train.conftest import REPO

CONFIGS = sorted((REPO / "pipelines" / "accelerate").glob("*.yaml"))
EXPECTED = {"single_gpu": "NO", "multi_gpu": "MULTI_GPU", "fsdp": "FSDP", "deepspeed_zero2": "DEEPSPEED",
            "deepspeed_zero3": "DEEPSPEED", "multi_node": "MULTI_GPU", "multi_cpu": "MULTI_CPU"}


def test_all_expected_configs_exist() -> None:
    assert {p.stem for p in CONFIGS} == set(EXPECTED)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_loads(path: Path) -> None:
    from accelerate.commands.config.config_args import ClusterConfig

    cfg = ClusterConfig.from_yaml_file(str(path))
    assert str(cfg.distributed_type).split(".")[-1] == EXPECTED[path.stem]
    if path.stem == "multi_cpu":
        assert cfg.use_cpu and cfg.mixed_precision == "no"
        return
    assert cfg.mixed_precision == "bf16" and not cfg.use_cpu
    if path.stem == "fsdp":
        assert cfg.fsdp_config["fsdp_version"] == 2
    if path.stem.startswith("deepspeed"):
        assert cfg.deepspeed_config["zero_stage"] == int(path.stem[-1])
        assert "gradient_accumulation_steps" not in cfg.deepspeed_config  # --grad-accum owns it
        assert cfg.deepspeed_config["deepspeed_multinode_launcher"] == "standard"  # one launch line per node
