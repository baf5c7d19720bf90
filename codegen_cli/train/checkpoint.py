"""Checkpoints: Accelerate state + trainer_state.json, written atomically, pruned to a keep limit.

A checkpoint is first written to `checkpoints/.step-00000100.tmp` (model, optimizer and RNG states via
`accelerator.save_state` on every process, then the trainer state and the model config), and renamed
to `step-00000100` only when complete. A kill at any moment therefore leaves either the previous set of
checkpoints or the new one, never a half-written folder that `--resume auto` would pick.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

from codegen_cli.atomic import atomic_write_json
from codegen_cli.errors import InputDataError, MismatchError

STATE_NAME = "trainer_state.json"
MODEL_CONFIG_NAME = "model_config.json"
_STEP_DIR = re.compile(r"^step-(\d{8})$")

# Tied embeddings are saved once on purpose; Accelerate's warning about it would only worry users.
logging.getLogger("accelerate.utils.other").addFilter(lambda record: "Removed shared tensor" not in record.getMessage())


def checkpoints_dir(run: Path) -> Path:
    return Path(run) / "checkpoints"


def step_dir(run: Path, step: int) -> Path:
    return checkpoints_dir(run) / f"step-{step:08d}"


def list_checkpoints(run: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    folder = checkpoints_dir(run)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if _STEP_DIR.match(p.name) and (p / STATE_NAME).is_file()]
    return sorted(found, key=lambda p: p.name)


def remove_partial(run: Path) -> None:
    """Delete `.tmp` folders a killed save left behind."""
    folder = checkpoints_dir(run)
    if folder.is_dir():
        for path in folder.glob(".step-*.tmp"):
            shutil.rmtree(path, ignore_errors=True)


def save_checkpoint(accelerator: Any, run: Path, *, step: int, state: dict[str, Any],
                    model_config: dict[str, Any], keep: int) -> Path:
    """Save on all processes (FSDP/DeepSpeed need collectives); files and renames on the main one."""
    final = step_dir(run, step)
    tmp = final.with_name(f".{final.name}.tmp")
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        atomic_write_json(tmp / MODEL_CONFIG_NAME, model_config)
        atomic_write_json(tmp / STATE_NAME, state)
        if final.exists():  # a rerun that reached the same step again replaces it
            shutil.rmtree(final)
        tmp.rename(final)
        prune(run, keep)
    accelerator.wait_for_everyone()
    return final


def prune(run: Path, keep: int) -> None:
    if keep <= 0:
        return
    for path in list_checkpoints(run)[:-keep]:
        shutil.rmtree(path, ignore_errors=True)


def read_state(ckpt: Path) -> dict[str, Any]:
    path = Path(ckpt) / STATE_NAME
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputDataError(f"{path}: missing or unreadable, {ckpt} is not a codegen checkpoint") from exc
    for key in ("step", "tokens_seen", "data_position", "config_hash", "world_size"):
        if key not in state:
            raise InputDataError(f"{path}: field {key!r} missing; not a codegen checkpoint")
    return state


def check_compatible(state: dict[str, Any], *, ckpt: Path, config_hash: str, world_size: int,
                     force: bool, batch_hash: str = "", windows_per_step: int | None = None) -> list[str]:
    """Differences that make a resume diverge from the original run: MismatchError unless forced.

    A checkpoint written by another number of processes, or with another micro-batch and accumulation,
    resumes when the global batch and everything else are the same (`batch_hash`): every step then reads
    the same windows. Returns the differences (as warnings) when `force` is set."""
    problems = []
    same_run = bool(batch_hash) and state.get("batch_hash") == batch_hash
    saved = state.get("windows_per_step")
    if not same_run and saved is not None and windows_per_step is not None and int(saved) != windows_per_step:
        problems.append(f"its global batch was {saved} sequences per step, this run's is {windows_per_step} "
                        f"({world_size} process(es) x micro-batch x grad-accum)")
    elif state["config_hash"] != config_hash and not same_run:
        problems.append("the training config differs (model, optimizer, batch, seq_len, seed or data)")
    elif int(state["world_size"]) != world_size and not same_run:
        problems.append(f"it was written by {state['world_size']} processes, this run has {world_size}")
    if problems and not force:
        raise MismatchError(f"cannot resume from {ckpt}: {'; '.join(problems)}; "
                            "use the original settings, --resume never with a new -o, or --force")
    return problems
