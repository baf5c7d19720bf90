"""manifest.json: what a stage read, how it was configured, what it produced (DESIGN.md §1).

Every stage folder carries one. A later stage calls `read_manifest(folder, stage=...)` on its input and
gets a one-line error naming the stage to (re)run when the folder is not what it expects.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen_cli import __version__
from codegen_cli.atomic import atomic_write_json
from codegen_cli.errors import InputDataError, MismatchError, UsageError

MANIFEST_NAME = "manifest.json"

# Bump a stage's format version when its folder layout changes incompatibly.
FORMAT_VERSIONS: dict[str, int] = {"collect": 1, "tokenize": 1, "train": 1, "eval": 1, "run": 1}


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour shapes the outputs (recorded for provenance)."""
    from importlib import metadata

    versions = {"python": platform.python_version(), "codegen": __version__}
    for name in ("torch", "transformers", "datasets", "tokenizers", "accelerate", "pyarrow", "datasketch"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@dataclass
class Manifest:
    stage: str
    inputs: list[dict[str, Any]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "format_version": FORMAT_VERSIONS[self.stage],
            "codegen_version": __version__,
            "created_unix": round(time.time(), 3),
            "command": sys.argv,
            "libraries": library_versions(),
            "inputs": self.inputs,
            "options": self.options,
            "counts": self.counts,
            "timings": self.timings,
            **self.extra,
        }


def write_manifest(folder: str | Path, manifest: Manifest) -> Path:
    path = Path(folder) / MANIFEST_NAME
    atomic_write_json(path, manifest.to_dict())
    return path


def read_manifest(folder: str | Path, *, stage: str) -> dict[str, Any]:
    """Load and check a stage folder's manifest; raise with the command that makes a valid one."""
    folder = Path(folder)
    path = folder / MANIFEST_NAME
    rerun = f"run `codegen {stage}` to create it"
    if not folder.exists():  # a path argument that does not exist: usage (exit 2), as for every command
        raise UsageError(f"{folder}: no such folder; {rerun}")
    if not folder.is_dir():
        raise InputDataError(f"{folder}: is a file, not a {stage} folder; {rerun}")
    if not path.is_file():
        raise InputDataError(f"{path}: missing, so {folder} is not a finished {stage} output; {rerun}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputDataError(f"{path}: unreadable ({exc}); {rerun} again") from exc
    if not isinstance(data, dict) or data.get("stage") != stage:
        found = data.get("stage") if isinstance(data, dict) else None
        raise InputDataError(f"{path}: written by stage {found!r}, expected {stage!r}; {rerun}")
    if data.get("format_version") != FORMAT_VERSIONS[stage]:
        raise MismatchError(
            f"{path}: format version {data.get('format_version')} but this codegen reads "
            f"{FORMAT_VERSIONS[stage]}; rerun `codegen {stage}` with this version"
        )
    return data
