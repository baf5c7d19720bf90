"""Recipe files: one TOML table per stage whose keys are that stage's CLI options, plus a workdir.

Loading a recipe builds every stage's config up front, so an unknown stage or key fails with exit 2
before any work starts (litgpt's habit: validate everything first).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen_cli.config import apply_overrides, load_toml
from codegen_cli.errors import UsageError
from codegen_cli.pipeline.stages import STEP_ORDER

STAGE_ORDER: tuple[str, ...] = STEP_ORDER  # the stages, plus `baseline` (pipeline/stages.py)
TOP_LEVEL_KEYS = {"workdir", "name", "description", "launch"}


@dataclass
class Recipe:
    path: Path
    workdir: Path
    name: str
    description: str
    stages: dict[str, dict[str, Any]]  # stage -> raw option table (before wiring folders)
    launch: dict[str, Any] = field(default_factory=dict)  # how `train` is launched (accelerate config etc.)


def parse_recipe(data: dict[str, Any], *, path: Path, overrides: list[str] | None = None) -> Recipe:
    data = apply_overrides(copy.deepcopy(data), list(overrides or []))
    stages: dict[str, dict[str, Any]] = {}
    for key, value in data.items():
        if key in TOP_LEVEL_KEYS:
            continue
        if key not in STAGE_ORDER:
            raise UsageError(
                f"{path}: unknown stage or key {key!r} (stages: {', '.join(STAGE_ORDER)}; "
                f"top-level keys: {', '.join(sorted(TOP_LEVEL_KEYS))})"
            )
        if not isinstance(value, dict):
            raise UsageError(f"{path}: [{key}] must be a table of that stage's options")
        stages[key] = value
    if not stages:
        raise UsageError(f"{path}: no stage tables; add at least one of [{'], ['.join(STAGE_ORDER)}]")
    workdir = data.get("workdir")
    if not isinstance(workdir, str) or not workdir:
        raise UsageError(f"{path}: missing top-level key 'workdir' (the folder every stage writes under)")
    launch = data.get("launch", {})
    if not isinstance(launch, dict):
        raise UsageError(f"{path}: 'launch' must be a table")
    return Recipe(
        path=path,
        workdir=Path(workdir),
        name=str(data.get("name", path.stem)),
        description=str(data.get("description", "")),
        stages=stages,
        launch=launch,
    )


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    path = Path(path)
    return parse_recipe(load_toml(path), path=path, overrides=overrides)


def select_stages(recipe: Recipe, start: str | None, stop: str | None) -> list[str]:
    """Stages present in the recipe, in pipeline order, between --from and --until (inclusive)."""
    for flag, value in (("--from", start), ("--until", stop)):
        if value is not None and value not in STAGE_ORDER:
            raise UsageError(f"{flag} {value!r}: not a stage; use one of {', '.join(STAGE_ORDER)}")
    order = [s for s in STAGE_ORDER if s in recipe.stages]
    lo = STAGE_ORDER.index(start) if start else 0
    hi = STAGE_ORDER.index(stop) if stop else len(STAGE_ORDER) - 1
    if lo > hi:
        raise UsageError(f"--from {start} comes after --until {stop}")
    return [s for s in order if lo <= STAGE_ORDER.index(s) <= hi]
