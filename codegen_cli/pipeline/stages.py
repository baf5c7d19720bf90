"""How `codegen run` drives a stage: build its config from the recipe table, wire the folders, run it.

Each pipeline stage reads the previous stage's folder under the recipe's workdir and writes its own
(`Stage.folder`); the recipe table holds only the stage's own options, so the folder keys are set here
(and refused in the recipe). The command line a stage is shown with (`--dry-run`, the log) is made by
`codegen_cli.options.command_words` from the same config, so it parses back into that config.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from codegen_cli.config import from_mapping
from codegen_cli.errors import UsageError
from codegen_cli.options import command_words
from codegen_cli.stages import STAGES, Stage


def input_folder(stage: Stage, workdir: Path) -> Path | None:
    return workdir / STAGES[stage.previous].folder if stage.previous else None


def output_folder(stage: Stage, workdir: Path) -> Path:
    return workdir / stage.folder


def _wire(stage: Stage, table: dict[str, Any], workdir: Path) -> dict[str, Any]:
    for key in ("output", stage.input_key):
        if key and key in table:
            raise UsageError(f"[{stage.name}] key {key!r}: `codegen run` sets it to the workdir's folder; remove it")
    table["output"] = str(output_folder(stage, workdir))
    if stage.input_key:
        table[stage.input_key] = str(input_folder(stage, workdir))
    if stage.name == "eval" and not _gives_samples(table):
        # eval scores the model train just exported, unless the recipe names samples to score instead
        table["model"] = str(workdir / STAGES["train"].folder / "hf")
    return table


def _gives_samples(table: dict[str, Any]) -> bool:
    flat = {**table, **table.get("scoring", {}), **table.get("generation", {})}
    return any(flat.get(key) for key in ("samples", "check_references", "model"))


def build_config(stage: Stage, table: dict[str, Any], workdir: Path, where: str) -> Any:
    return from_mapping(stage.config_class(), _wire(stage, dict(table), workdir), where=where)


def command_line(stage: Stage, config: Any) -> str:
    """`codegen STAGE ...`: the command that builds exactly `config` (only options off their default)."""
    return shlex.join(["codegen", stage.name, *command_words(config)])
