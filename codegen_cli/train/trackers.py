"""Experiment trackers (TensorBoard, W&B, MLflow, ... through Accelerate): checked up front, named, and
reused by eval so a run's pass@k lands beside its loss curves.

A tracker that is asked for but not installed is a usage error (exit 2) with the install command, before
any work: Accelerate itself only warns and logs nothing. TensorBoard is the `tracking` extra
(`pip install 'codegen-cli[tracking]'`); the others are installed by their own package names.

Where things go: TensorBoard event files in RUN/tensorboard/<run name>/<project>/ (Accelerate's
TensorBoardTracker writes under logging_dir/project); the hosted trackers get the project and the run name
(`--tracker-project`, `--run-name`, default the run folder's name). `eval --model RUN/hf` (and the eval stage
of `codegen run`) reads RUN/config.toml and logs pass@k to the same trackers at the run's last step.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from codegen_cli.errors import UsageError

# tracker -> (module that must import, install command)
INSTALL = {
    "tensorboard": ("tensorboard", "pip install 'codegen-cli[tracking]'"),
    "wandb": ("wandb", "pip install wandb"),
    "mlflow": ("mlflow", "pip install mlflow"),
    "comet_ml": ("comet_ml", "pip install comet_ml"),
    "aim": ("aim", "pip install aim"),
    "clearml": ("clearml", "pip install clearml"),
    "dvclive": ("dvclive", "pip install dvclive"),
    "swanlab": ("swanlab", "pip install swanlab"),
    "trackio": ("trackio", "pip install trackio"),
}
# The keyword each hosted tracker's init takes for a run's display name.
NAME_KEYS = {"wandb": "name", "mlflow": "run_name", "comet_ml": "experiment_name", "aim": "run_name",
             "swanlab": "experiment_name", "trackio": "name"}


def check_trackers(names: list[str]) -> None:
    """Every requested tracker is known and importable, or one UsageError naming the install commands."""
    problems = []
    for name in names:
        if name not in INSTALL:
            problems.append(f"--trackers {name}: unknown tracker; use one of {', '.join(INSTALL)}")
        elif importlib.util.find_spec(INSTALL[name][0]) is None:
            problems.append(f"--trackers {name}: {INSTALL[name][0]} is not installed; install it with "
                            f"`{INSTALL[name][1]}`")
    if problems:
        raise UsageError("; ".join(problems))


def run_name(output: Path, name: str | None) -> str:
    return name or Path(output).resolve().name


def logging_dir(output: Path, name: str | None) -> Path:
    """Where TensorBoard writes (Accelerate adds the project as the last folder)."""
    return Path(output) / "tensorboard" / run_name(output, name)


def init_kwargs(names: list[str], run: str) -> dict[str, dict[str, Any]]:
    return {name: {NAME_KEYS[name]: run} for name in names if name in NAME_KEYS}


def log_eval_to_run_trackers(model: Path, summary: dict[str, Any]) -> list[str]:
    """When `model` is RUN/hf of a run that used trackers, log eval's pass@k (overall and per language)
    there at the run's last step; returns the trackers logged to (none: [])."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    run = Path(model).resolve().parent
    try:
        config = tomllib.loads((run / "config.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    names = [str(n) for n in config.get("trackers") or []]
    if not names or not (run / "hf").resolve() == Path(model).resolve():
        return []
    check_trackers(names)
    values = {f"eval/{k}": v for k, v in (summary.get("pass_at_k") or {}).items()}
    for language, block in (summary.get("per_language") or {}).items():
        values.update({f"eval/{language}/{k}": v for k, v in (block.get("pass_at_k") or {}).items()})
    if not values:
        return []
    step = _last_step(run)
    name = run_name(run, config.get("run_name"))
    project = str(config.get("tracker_project") or "codegen")
    from accelerate.tracking import LOGGER_TYPE_TO_CLASS

    for tracker_name in names:
        cls = LOGGER_TYPE_TO_CLASS[tracker_name]
        if tracker_name == "tensorboard":
            tracker = cls(project, logging_dir(run, config.get("run_name")))
        else:
            tracker = cls(project, **init_kwargs([tracker_name], name).get(tracker_name, {}))
        if hasattr(tracker, "start"):  # Accelerate >= 1.6 opens the writer in start(), earlier in __init__
            tracker.start()
        tracker.log(values, step=step)
        tracker.finish()
    return names


def _last_step(run: Path) -> int:
    import json

    try:
        return int(json.loads((run / "manifest.json").read_text(encoding="utf-8"))["counts"]["steps"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0
