"""The train stage under `accelerate launch`: the command line a recipe's [launch] table describes.

Single-node launches run as a subprocess of `codegen run`; a multi-node launch must start on every node,
so `codegen run` prints the per-node command instead (a scheduler such as Slurm runs it on each node).
"""

from __future__ import annotations

import shlex
import subprocess
from typing import Any

from codegen_cli.errors import CodegenError, UsageError

# [launch] keys -> `accelerate launch` flags (same names with dashes).
LAUNCH_KEYS = ("config_file", "num_processes", "num_machines", "machine_rank", "main_process_ip",
               "main_process_port", "mixed_precision", "same_network", "rdzv_backend")


def check_launch(launch: dict[str, Any], where: str) -> None:
    for key in launch:
        if key not in LAUNCH_KEYS:
            raise UsageError(f"{where} [launch]: unknown key {key!r} (valid keys: {', '.join(LAUNCH_KEYS)})")


def accelerate_command(launch: dict[str, Any], codegen_command: str) -> str:
    """`accelerate launch <flags> -m codegen_cli <stage args>` from a `codegen <stage> ...` line."""
    words = ["accelerate", "launch"]
    for key in LAUNCH_KEYS:
        if key in launch:
            value = launch[key]
            flag = "--" + key
            if isinstance(value, bool):
                if value:
                    words.append(flag)
            else:
                words.extend([flag, str(value)])
    stage_args = shlex.split(codegen_command)[1:]  # drop the leading `codegen`
    return shlex.join([*words, "-m", "codegen_cli", *stage_args])


def is_multi_node(launch: dict[str, Any]) -> bool:
    return int(launch.get("num_machines", 1)) > 1


def run_launch(command: str) -> dict[str, Any]:
    """Run a single-node launch; a non-zero exit keeps the stage's own exit code."""
    proc = subprocess.run(shlex.split(command), check=False)
    if proc.returncode != 0:
        error = CodegenError(f"`{command}` exited with {proc.returncode}")
        error.exit_code = proc.returncode
        raise error
    return {"launched": command, "exit_code": 0}
