"""Config building: presets, overrides, config files, validation, the LR schedule."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from codegen_cli.config import load_toml
from codegen_cli.errors import UsageError
from codegen_cli.train.config import TrainConfig, identity, load_train_config, resolve, to_toml
from codegen_cli.train.optim import lr_at
from codegen_cli.train.presets import PRESETS


def test_overrides_reach_nested_sections_and_keep_types() -> None:
    cfg = load_train_config({"max_steps": 5}, ["optim.weight_decay=0.05", "model.num_layers=3",
                                                "trackers=['tensorboard']", "compile=true", "seq_len=128"])
    assert cfg.optim.weight_decay == 0.05 and isinstance(cfg.optim.weight_decay, float)
    assert cfg.model.num_layers == 3 and cfg.seq_len == 128 and cfg.compile is True
    assert cfg.trackers == ["tensorboard"]


def test_unknown_override_key_names_the_key() -> None:
    with pytest.raises(UsageError, match="optim_typo"):
        load_train_config({}, ["optim_typo.lr=1"])
    with pytest.raises(UsageError, match="wd"):
        load_train_config({}, ["optim.wd=0.1"])
    with pytest.raises(UsageError, match="expected int"):
        load_train_config({}, ["max_steps=many"])


def test_resolve_fills_from_preset_and_keeps_explicit_values() -> None:
    cfg = resolve(load_train_config({"preset": "125m", "max_steps": 1}, ["model.num_layers=2"]))
    assert cfg.model.hidden_size == 768 and cfg.model.num_layers == 2
    assert cfg.seq_len == 2048 and cfg.optim.lr == PRESETS["125m"]["lr"]


def test_codegeex_preset_has_the_published_shape() -> None:
    cfg = resolve(TrainConfig(preset="codegeex-13b", max_steps=1))
    assert (cfg.model.num_layers, cfg.model.hidden_size, cfg.model.num_heads, cfg.seq_len) == (39, 5120, 40, 2048)


def test_resolve_reports_every_problem_at_once() -> None:
    with pytest.raises(UsageError) as info:
        resolve(TrainConfig(preset="tiny", max_steps=1, grad_accum=0, mixed_precision="fp8",
                            model=TrainConfig().model.__class__(hidden_size=65)))
    text = str(info.value)
    assert "--grad-accum" in text and "--mixed-precision" in text and "divisible" in text
    with pytest.raises(UsageError, match="does not exist"):
        resolve(TrainConfig(preset="huge", max_steps=1))
    with pytest.raises(UsageError, match="--max-steps or --max-tokens"):
        resolve(TrainConfig())


def test_config_toml_round_trips(tmp_path: Path) -> None:
    cfg = resolve(load_train_config({"max_steps": 7, "trackers": ["tensorboard"]}, ["optim.eps=1e-8"]))
    from codegen_cli.config import to_dict

    path = tmp_path / "config.toml"
    path.write_text(to_toml(to_dict(cfg)), encoding="utf-8")
    again = resolve(load_train_config(load_toml(path)))
    assert identity(again) == identity(cfg) and again.max_steps == 7


def test_lr_schedule_warms_up_then_decays_to_the_floor() -> None:
    o = resolve(TrainConfig(max_steps=1)).optim
    o.lr, o.warmup_steps, o.min_lr_ratio = 1.0, 10, 0.1
    lrs = [lr_at(s, o, 200) for s in range(200)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(lrs[10:]))
    assert lrs[-1] == pytest.approx(0.1, abs=1e-3)
    assert lr_at(1, o, 20) == pytest.approx(1.0)  # warm-up capped at 10% of a short run (2 steps)
    assert math.isclose(lr_at(110, o, 210), 0.1 + 0.45 * (1 + math.cos(math.pi * 0.5)))
