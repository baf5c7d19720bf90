"""Config helpers: unknown keys named, types coerced, overrides parsed."""

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from codegen_cli.config import apply_overrides, from_mapping, option, to_dict
from codegen_cli.errors import UsageError


@dataclass
class Inner:
    weight_decay: float = option(0.1, "decay")


@dataclass
class Outer:
    out: Path = option(Path("x"), "output")
    steps: int = option(10, "steps")
    langs: list[str] = option([], "languages")
    optim: Inner = field(default_factory=Inner)


def test_from_mapping_coerces_and_nests():
    cfg = from_mapping(Outer, {"out": "a/b", "steps": "5", "langs": "py,go", "optim": {"weight-decay": 0}})
    assert cfg.out == Path("a/b") and cfg.steps == 5 and cfg.langs == ["py", "go"]
    assert cfg.optim.weight_decay == 0.0
    assert to_dict(cfg) == {"out": "a/b", "steps": 5, "langs": ["py", "go"], "optim": {"weight_decay": 0.0}}


def test_unknown_key_is_named():
    with pytest.raises(UsageError, match="unknown key 'stepz'"):
        from_mapping(Outer, {"stepz": 1}, where="recipe.train")
    with pytest.raises(UsageError, match="recipe.train.steps: expected int"):
        from_mapping(Outer, {"steps": "many"}, where="recipe.train")


def test_apply_overrides():
    data = apply_overrides({}, ["optim.weight_decay=0.01", "name=hello", "flags=[1, 2]", "on=true"])
    assert data == {"optim": {"weight_decay": 0.01}, "name": "hello", "flags": [1, 2], "on": True}
    with pytest.raises(UsageError):
        apply_overrides({}, ["novalue"])
