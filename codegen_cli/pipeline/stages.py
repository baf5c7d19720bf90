"""How `codegen run` drives a stage: build its config from the recipe table, wire the folders, run it.

Each pipeline stage reads the previous stage's folder under the recipe's workdir and writes its own
(`Stage.folder`); the recipe table holds only the stage's own options, so the folder keys are set here
(and refused in the recipe). The command line a stage is shown with (`--dry-run`, the log) is made by
`codegen_cli.options.command_words` from the same config, so it parses back into that config.

A recipe step is a stage name, or `baseline`: the `codegen eval` of the model that `[train] init_from`
starts from, into `results-base/`, with `[eval]`'s keys (same problems, same sampling) under its own
(before and after; the report and `codegen run` print the delta). `[train] init_from` is also the tokenizer `[tokenize]` uses unless that
table names one: tokens from any other tokenizer cannot train that model.
"""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import Any

from codegen_cli.config import from_mapping
from codegen_cli.errors import UsageError
from codegen_cli.options import command_words
from codegen_cli.stages import STAGES, Stage


# Steps that run a stage's command under another name and folder.
EXTRA_STEPS: dict[str, Stage] = {
    "baseline": dataclasses.replace(STAGES["eval"], folder="results-base", previous=""),
}
STEP_ORDER: tuple[str, ...] = ("collect", "tokenize", "baseline", "train", "eval")


def step_record(step: str) -> Stage:
    """The stage record a recipe step runs (`baseline` runs eval's)."""
    return EXTRA_STEPS.get(step) or STAGES[step]


def input_folder(stage: Stage, workdir: Path) -> Path | None:
    return workdir / STAGES[stage.previous].folder if stage.previous else None


def output_folder(stage: Stage, workdir: Path) -> Path:
    return workdir / stage.folder


def _wire(stage: Stage, table: dict[str, Any], workdir: Path, *, step: str,
          stages: dict[str, dict[str, Any]]) -> dict[str, Any]:
    for key in ("output", stage.input_key):
        if key and key in table:
            raise UsageError(f"[{step}] key {key!r}: `codegen run` sets it to the workdir's folder; remove it")
    table["output"] = str(output_folder(stage, workdir))
    if stage.input_key:
        table[stage.input_key] = str(input_folder(stage, workdir))
    init_from = (stages.get("train") or {}).get("init_from")
    if step == "baseline" and not _gives_samples(table):
        if not init_from:
            raise UsageError("[baseline] evaluates the model [train] starts from: set [train] init_from "
                             "(or give [baseline] its own model)")
        table["model"] = str(init_from)
    elif step == "eval" and not _gives_samples(table):
        # eval scores the model train just exported, unless the recipe names samples to score instead
        table["model"] = str(workdir / STAGES["train"].folder / "hf")
    if step == "tokenize" and init_from and not table.get("tokenizer"):
        table["tokenizer"] = str(init_from)
    return table


def _gives_samples(table: dict[str, Any]) -> bool:
    flat = {**table, **table.get("scoring", {}), **table.get("generation", {})}
    return any(flat.get(key) for key in ("samples", "check_references", "model"))


def build_config(stage: Stage, table: dict[str, Any], workdir: Path, where: str, *, step: str | None = None,
                 stages: dict[str, dict[str, Any]] | None = None) -> Any:
    step = step or stage.name
    if step == "baseline":  # eval's settings, so before and after are scored alike; its own keys win
        inherited = {k: v for k, v in ((stages or {}).get("eval") or {}).items() if k != "model"}
        table = _merge(inherited, table)
    wired = _wire(stage, dict(table), workdir, step=step, stages=stages or {})
    return from_mapping(stage.config_class(), wired, where=where)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def command_line(stage: Stage, config: Any) -> str:
    """`codegen STAGE ...`: the command that builds exactly `config` (only options off their default)."""
    return shlex.join(["codegen", stage.name, *command_words(config)])
