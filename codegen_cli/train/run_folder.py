"""The run folder's lifecycle: which checkpoint a run resumes from, and clearing an old run on --force."""

from __future__ import annotations

import shutil
from pathlib import Path

from codegen_cli.errors import MismatchError
from codegen_cli.train.checkpoint import checkpoints_dir, list_checkpoints
from codegen_cli.train.config import TrainConfig
from codegen_cli.train.export import resolve_checkpoint


def choose_checkpoint(cfg: TrainConfig) -> Path | None:
    """The checkpoint to resume from per --resume, or None for a fresh start. Writes nothing."""
    run = Path(cfg.output)
    if cfg.resume == "auto":
        found = list_checkpoints(run)
        return found[-1] if found else None
    if cfg.resume == "never":
        used = list_checkpoints(run) or (run / "metrics.jsonl").exists() or (run / "hf").exists()
        if used and not cfg.force:
            raise MismatchError(f"{run} already holds a training run; use --resume auto to continue it, "
                                "another -o, or --force to start over (deletes its checkpoints)")
        return None
    return resolve_checkpoint(Path(cfg.resume))


def clear_run(run: Path) -> None:
    """--resume never --force: remove the old run's outputs (only after all input checks passed)."""
    shutil.rmtree(checkpoints_dir(run), ignore_errors=True)
    shutil.rmtree(run / "hf", ignore_errors=True)
    for name in ("metrics.jsonl", "manifest.json"):
        (run / name).unlink(missing_ok=True)
