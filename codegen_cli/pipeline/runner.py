"""Run a recipe's stages in order; skip a stage whose inputs, options and code version are unchanged.

A stage's fingerprint is the hash of (stage, resolved options, codegen version, the input folder's
manifest hash). After a stage succeeds, the fingerprint and the hash of the manifest it wrote are stored
in WORKDIR/.codegen-run/<stage>.json. On the next run the stage is skipped when both still match; a
stage that failed or was killed has no record, so it runs again and resumes from its own progress.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen_cli import __version__
from codegen_cli.atomic import atomic_write_json, sha256_file, sha256_json
from codegen_cli.config import option, to_dict
from codegen_cli.errors import CodegenError, UsageError
from codegen_cli.manifest import MANIFEST_NAME
from codegen_cli.output import log
from codegen_cli.pipeline.launch import accelerate_command, check_launch, is_multi_node, run_launch
from codegen_cli.pipeline.recipe import Recipe, load_recipe, select_stages
from codegen_cli.pipeline.stages import build_config, command_line, input_folder, output_folder
from codegen_cli.stages import STAGES, Stage, failure_of

STATE_DIR = ".codegen-run"


@dataclass
class RunConfig:
    recipe: Path = option(Path("pipelines/smoke.toml"), "Recipe file, e.g. pipelines/smoke.toml.", positional=True,
                          required=True)
    start: str | None = option(None, "First stage to run.", flag="--from", shown_default="the first")
    stop: str | None = option(None, "Last stage to run.", flag="--until", shown_default="the last")
    force: list[str] = option([], "Rerun this stage even if unchanged ('all' for every stage; repeatable).",
                              shown_default="none")
    overrides: list[str] = option([], "Override a recipe key: --set stage.key=value (repeatable).", flag="--set",
                                  shown_default="none")
    dry_run: bool = option(False, "Print each stage's command; run nothing.")


@dataclass
class StageOutcome:
    stage: str
    status: str  # ran | skipped | planned
    output: str
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    command: str = ""
    result: Any = field(default=None, repr=False, compare=False)  # the stage's summary object (not in JSON)


@dataclass
class RunSummary:
    recipe: str
    workdir: str
    stages: list[StageOutcome]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        data = to_dict(self)
        for stage in data["stages"]:
            stage.pop("result", None)
        return data

    def failure(self) -> Exception | None:
        """A stage that finished but failed its own check (eval's canonical solutions) fails the run."""
        for outcome in self.stages:
            problem = failure_of(outcome.result)
            if problem is not None:
                problem.args = (f"stage {outcome.stage}: {problem}",)
                return problem
        return None


def _manifest_hash(folder: Path) -> str | None:
    path = folder / MANIFEST_NAME
    return sha256_file(path) if path.is_file() else None


def _fingerprint(stage: str, config: Any, input_folder: Path | None) -> str:
    return sha256_json({
        "stage": stage,
        "options": to_dict(config),
        "codegen": __version__,
        "input_manifest": _manifest_hash(input_folder) if input_folder else None,
    })


def _state_path(workdir: Path, stage: str) -> Path:
    return workdir / STATE_DIR / f"{stage}.json"


def _is_unchanged(workdir: Path, stage: str, fingerprint: str, output: Path) -> bool:
    import json

    path = _state_path(workdir, stage)
    if not path.is_file():
        return False
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return False
    return state.get("fingerprint") == fingerprint and state.get("output_manifest") == _manifest_hash(output)


def build_configs(recipe: Recipe) -> dict[str, Any]:
    """Every stage's config, built before any work so a bad key fails fast (exit 2) naming it."""
    problems, configs = [], {}
    for stage, table in recipe.stages.items():
        try:
            configs[stage] = build_config(STAGES[stage], table, recipe.workdir, where=f"{recipe.path} [{stage}]")
        except UsageError as exc:  # every stage's problems at once
            problems.append(str(exc))
    if problems:
        raise UsageError("; ".join(problems))
    return configs


def launch_command(stage: Stage, config: Any, recipe: Recipe) -> str:
    command = command_line(stage, config)
    if stage.name == "train" and recipe.launch:
        return accelerate_command(recipe.launch, command)
    return command


def _run_stage(stage: Stage, config: Any, recipe: Recipe, command: str) -> tuple[Any, dict[str, Any]]:
    """The stage's own summary object (for its renderer) and its JSON-able dict."""
    try:
        if stage.name == "train" and recipe.launch:
            if is_multi_node(recipe.launch):
                raise UsageError(
                    f"{recipe.path}: train runs on {recipe.launch['num_machines']} nodes; start this on every "
                    f"node (set --machine_rank per node): {command}"
                )
            return None, run_launch(command)
        result = stage.run(config)
        return result, result.to_dict()
    except CodegenError as exc:
        exc.args = (f"stage {stage.name} failed: {exc}",)
        raise


def run_pipeline(cfg: RunConfig) -> RunSummary:
    start_time = time.monotonic()
    recipe = load_recipe(cfg.recipe, cfg.overrides)
    stages = select_stages(recipe, cfg.start, cfg.stop)
    unknown = [s for s in cfg.force if s != "all" and s not in recipe.stages]
    if unknown:
        raise UsageError(f"--force {unknown[0]!r}: not a stage of {recipe.path}")
    configs = build_configs(recipe)
    check_launch(recipe.launch, str(recipe.path))
    outcomes: list[StageOutcome] = []
    for stage in stages:
        record = STAGES[stage]
        config = configs[stage]
        output = output_folder(record, recipe.workdir)
        fingerprint = _fingerprint(stage, config, input_folder(record, recipe.workdir))
        command = launch_command(record, config, recipe)
        if cfg.dry_run:
            log(f"[bold]{stage}[/bold]: {command}")
            outcomes.append(StageOutcome(stage, "planned", str(output), command=command))
            continue
        forced = "all" in cfg.force or stage in cfg.force
        if not forced and _is_unchanged(recipe.workdir, stage, fingerprint, output):
            log(f"[bold]{stage}[/bold]: unchanged since its last run, skipped (--force {stage} reruns it)")
            outcomes.append(StageOutcome(stage, "skipped", str(output), command=command))
            continue
        log(f"[bold cyan]== {stage}[/bold cyan]: {command}")
        began = time.monotonic()
        result, summary = _run_stage(record, config, recipe, command)
        seconds = round(time.monotonic() - began, 2)
        outcomes.append(StageOutcome(stage, "ran", str(output), seconds, summary, command, result))
        if failure_of(result) is not None:
            break  # not recorded as done: the next run reruns it; later stages would build on a failure
        atomic_write_json(_state_path(recipe.workdir, stage), {
            "fingerprint": fingerprint,
            "output_manifest": _manifest_hash(output),
            "seconds": seconds,
        })
    return RunSummary(str(recipe.path), str(recipe.workdir), outcomes, round(time.monotonic() - start_time, 2))
