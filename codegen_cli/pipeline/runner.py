"""Run a recipe's stages in order; skip a stage only when nothing it reads or is told has changed.

A stage's record (WORKDIR/.codegen-run/<stage>.json, written after it succeeds) holds what its run
depended on: its resolved options, the codegen version, the hash of its input folder's manifest, what else
it read (collect: the listing of its sources, `Stage.inputs`), and the hash of the manifest it wrote. The
next run compares each part and says which one changed ("collect: src: 1 file added", "train: options
changed: max_steps 200 -> 300"). A stage reruns when any part changed, when it has no record (it never
finished), or when forced; it is skipped ("up to date") otherwise.

A stage whose INPUT changed (an upstream stage rebuilt its folder, or collect's sources changed) or that is
forced (`--force STAGE`) starts from scratch: its old output folder is moved aside to `<folder>.previous`
first, so it cannot resume from, or be refused by, work made from other inputs. A stage whose own options
changed resumes when it can and otherwise stops with its own exit-4 message naming the option (e.g. fewer
`max_steps` than already trained); `--force` then starts it fresh on request.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
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
from codegen_cli.pipeline.stages import build_config, command_line, input_folder, output_folder, step_record
from codegen_cli.stages import STAGES, Stage, did_nothing, failure_of

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
    report: bool = option(True, "Write WORKDIR/report.html (codegen report) at the end.",
                          why="the run's curves, mixes and pass@k at a glance, from disk")


@dataclass
class StageOutcome:
    stage: str
    status: str  # ran | up to date | planned (--dry-run: would run)
    output: str
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    command: str = ""
    result: Any = field(default=None, repr=False, compare=False)  # the stage's summary object (not in JSON)
    reason: str = ""  # why it ran (or would run): "its sources changed (src: 1 file added)", "--force", ...


@dataclass
class RunSummary:
    recipe: str
    workdir: str
    stages: list[StageOutcome]
    seconds: float
    report: str | None = None  # WORKDIR/report.html when written
    comparison: dict[str, Any] | None = None  # [baseline] and [eval] both scored: before, after, delta

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


# Manifest keys that change on every run without the folder's content changing: left out of the input
# identity, so that a stage whose rerun gives the same data (e.g. collect with more workers) does not
# make the stages after it start again.
_VOLATILE = frozenset({"created_unix", "command", "timings", "seconds", "chunks_resumed", "resumed",
                       "resumed_from", "already_complete", "already_done", "train_seconds"})


def _manifest_hash(folder: Path) -> str | None:
    path = folder / MANIFEST_NAME
    return sha256_file(path) if path.is_file() else None


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def content_identity(folder: Path) -> str | None:
    """Hash of a stage folder's manifest without its volatile keys: what the folder holds, not when."""
    try:
        return sha256_json(_stable(json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))))
    except (OSError, ValueError):
        return None


def _state_path(workdir: Path, stage: str) -> Path:
    return workdir / STATE_DIR / f"{stage}.json"


def _read_state(workdir: Path, stage: str) -> dict[str, Any] | None:
    try:
        return json.loads(_state_path(workdir, stage).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass
class Facts:
    """What a stage's run depends on, as recorded after it succeeds and compared before the next run."""

    options: dict[str, Any]
    codegen: str
    input_manifest: str | None
    inputs: Any  # Stage.describe_inputs (collect: its sources' listings), or None

    def fingerprint(self) -> str:
        return sha256_json(asdict(self))


def _facts(record: Stage, config: Any, workdir: Path) -> Facts:
    upstream = input_folder(record, workdir)
    return Facts(to_dict(config), __version__, content_identity(upstream) if upstream else None,
                 record.describe_inputs(config))


def _changed_options(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if isinstance(before, dict) and isinstance(after, dict):
            out += _changed_options(before, after, f"{prefix}{key}.")
        elif before != after:
            out.append(f"{prefix}{key} {before!r} -> {after!r}")
    return out


def why_rerun(record: Stage, facts: Facts, state: dict[str, Any] | None,
              output: Path) -> tuple[str | None, bool]:
    """(None, False) when the stage is up to date; else (the reason, whether its input changed).

    An input change means the old output was made from other data: the stage must start fresh."""
    if state is None:
        return "no finished run recorded", False
    old = state.get("facts") or {}
    if record.inputs and old.get("inputs") != facts.inputs:
        from codegen_cli.collect.listing import describe_change  # the one stage with extra inputs today

        change = describe_change(old.get("inputs") or [], facts.inputs or [])
        return f"its sources changed ({change or 'recorded differently'})", True
    if old.get("input_manifest") != facts.input_manifest:
        return f"its input {STAGES[record.previous].folder}/ changed", True
    if old.get("options") != facts.options:
        changed = _changed_options(old.get("options") or {}, facts.options)
        return "options changed: " + "; ".join(changed), False
    if old.get("codegen") != facts.codegen:
        return f"codegen {old.get('codegen')} -> {facts.codegen}", False
    if state.get("output_manifest") != _manifest_hash(output):
        return f"its output {output.name}/ changed since it was made", False
    return None, False


def _move_aside(output: Path) -> None:
    """Start a stage from scratch without losing its old output: `<folder>` -> `<folder>.previous`."""
    if not output.exists():
        return
    previous = output.with_name(output.name + ".previous")
    shutil.rmtree(previous, ignore_errors=True)
    output.rename(previous)
    log(f"moved the old {output.name}/ aside to {previous.name}/ (made from other inputs)")


def build_configs(recipe: Recipe) -> dict[str, Any]:
    """Every stage's config, built before any work so a bad key fails fast (exit 2) naming it."""
    problems, configs = [], {}
    for stage, table in recipe.stages.items():
        try:
            configs[stage] = build_config(step_record(stage), table, recipe.workdir, where=f"{recipe.path} [{stage}]",
                                          step=stage, stages=recipe.stages)
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


def _run_stage(stage: Stage, config: Any, recipe: Recipe, command: str, *, step: str = "") -> tuple[Any, dict[str, Any]]:
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
        exc.args = (f"stage {step or stage.name} failed: {exc}",)
        raise


def write_report(workdir: Path) -> str | None:
    """WORKDIR/report.html of what the run left; a report that cannot be drawn is a warning, never a
    failed run (the stages' results are all on disk already)."""
    from codegen_cli.output import warn
    from codegen_cli.report.build import report
    from codegen_cli.report.config import ReportConfig

    try:
        summary = report(ReportConfig(folder=workdir, output=workdir / "report.html"))
    except CodegenError as exc:
        warn(f"no report: {exc}")
        return None
    log(f"report: {summary.output} ({summary.bytes / 1e3:,.0f} KB, {summary.charts} charts); open it in a browser")
    return summary.output


def run_pipeline(cfg: RunConfig, *, on_stage_done: Callable[[StageOutcome], None] | None = None) -> RunSummary:
    """Run the recipe's stages; `on_stage_done(outcome)` is called as each stage ends (the CLI prints that
    stage's table then, not all at the end)."""
    start_time = time.monotonic()
    recipe = load_recipe(cfg.recipe, cfg.overrides)
    stages = select_stages(recipe, cfg.start, cfg.stop)
    unknown = [s for s in cfg.force if s != "all" and s not in recipe.stages]
    if unknown:
        raise UsageError(f"--force {unknown[0]!r}: not a stage of {recipe.path}")
    configs = build_configs(recipe)
    check_launch(recipe.launch, str(recipe.path))
    outcomes: list[StageOutcome] = []
    planned: set[str] = set()  # --dry-run: stages that would run
    for stage in stages:
        record = step_record(stage)
        config = configs[stage]
        output = output_folder(record, recipe.workdir)
        try:
            facts = _facts(record, config, recipe.workdir)  # collect lists its sources: bad paths fail here
        except CodegenError as exc:
            exc.args = (f"stage {stage} failed: {exc}",)
            raise
        command = launch_command(record, config, recipe)
        forced = "all" in cfg.force or stage in cfg.force
        reason, fresh = why_rerun(record, facts, _read_state(recipe.workdir, stage), output)
        if forced:
            reason, fresh = "--force", True
        if cfg.dry_run:
            if reason is None and record.previous in planned:
                reason = f"if {record.previous} changes {STAGES[record.previous].folder}/ (it runs first)"
            log(f"[bold]{stage}[/bold]: " + (f"runs ({reason})" if reason else "up to date, skipped")
                + f": {command}")
            outcomes.append(StageOutcome(stage, "planned" if reason else "up to date", str(output),
                                         command=command, reason=reason or ""))
            if reason:
                planned.add(stage)
            continue
        if reason is None:
            log(f"[bold]{stage}[/bold]: up to date, skipped (--force {stage} reruns it)")
            outcomes.append(StageOutcome(stage, "up to date", str(output), command=command))
            continue
        log(f"[bold cyan]== {stage}[/bold cyan] ({reason}): {command}")
        if fresh:
            _move_aside(output)
        began = time.monotonic()
        result, summary = _run_stage(record, config, recipe, command, step=stage)
        seconds = round(time.monotonic() - began, 2)
        status = "up to date" if did_nothing(result) else "ran"
        if status == "up to date":
            log(f"[bold]{stage}[/bold]: its output already held this result; nothing ran")
        outcomes.append(StageOutcome(stage, status, str(output), seconds, summary, command, result, reason))
        if on_stage_done is not None:
            on_stage_done(outcomes[-1])
        if failure_of(result) is not None:
            break  # not recorded as done: the next run reruns it; later stages would build on a failure
        atomic_write_json(_state_path(recipe.workdir, stage), {
            "fingerprint": facts.fingerprint(),
            "facts": asdict(facts),
            "output_manifest": _manifest_hash(output),
            "seconds": seconds,
        })
    comparison = _compare(recipe, outcomes) if not cfg.dry_run else None
    written = write_report(recipe.workdir) if cfg.report and not cfg.dry_run and outcomes else None
    seconds = round(time.monotonic() - start_time, 2)
    return RunSummary(str(recipe.path), str(recipe.workdir), outcomes, seconds, written, comparison)


def _compare(recipe: Recipe, outcomes: list[StageOutcome]) -> dict[str, Any] | None:
    """Before/after of a recipe with [baseline] and [eval], once both folders hold a summary; logged."""
    from codegen_cli.report.compare import compare_results, format_lines

    done = {o.stage for o in outcomes if o.status in ("ran", "up to date")}
    before, after = (output_folder(step_record(s), recipe.workdir) for s in ("baseline", "eval"))
    if not {"baseline", "eval"} <= done or not (before / "summary.json").is_file() \
            or not (after / "summary.json").is_file():
        return None
    comparison = compare_results(before, after, output_folder(STAGES["train"], recipe.workdir))
    for line in format_lines(comparison):
        log(f"before -> after: {line}")
    return comparison
