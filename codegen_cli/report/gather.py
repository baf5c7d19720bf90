"""Find the stage folders under a report's FOLDER and read what the charts and tables need.

A folder is recognised by its `manifest.json` (`stage`: collect, tokenize, train, eval); eval folders are
also recognised by `summary.json` alone (results made by other harnesses' files). FOLDER may be one stage
folder or a workdir holding several; `.previous` folders (moved aside by `codegen run`) are left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen_cli.atomic import read_json_object
from codegen_cli.errors import UsageError


@dataclass
class StageFolder:
    stage: str  # collect | tokenize | train | eval | translate
    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)


def _kind(folder: Path) -> StageFolder | None:
    manifest = read_json_object(folder / "manifest.json")
    stage = manifest.get("stage")
    summary = folder / "summary.json"
    if stage == "eval" or (not stage and summary.is_file()):
        translate = manifest.get("task") == "translate" or "matrix" in read_json_object(summary)
        return StageFolder("translate" if translate else "eval", folder, manifest)
    if stage in ("collect", "tokenize", "train"):
        return StageFolder(stage, folder, manifest)
    return None


def find_stage_folders(folder: Path) -> list[StageFolder]:
    """FOLDER itself when it is a stage folder, else its stage subfolders in pipeline order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder; pass a workdir or a stage folder")
    own = _kind(folder)
    if own is not None:
        return [own]
    found = [k for k in (_kind(sub) for sub in sorted(folder.iterdir())
                         if sub.is_dir() and not sub.name.endswith(".previous")) if k]
    if not found:
        raise UsageError(f"{folder}: neither a stage folder nor a workdir holding one (no manifest.json or "
                         "summary.json in it or its subfolders)")
    order = {"collect": 0, "tokenize": 1, "train": 2, "eval": 3, "translate": 4}
    return sorted(found, key=lambda s: (order[s.stage], s.path.name))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file; a torn or foreign line is skipped (a report never fails on one row)."""
    rows = []
    if not path.is_file():
        return rows
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


def training_curves(run: Path) -> dict[str, list[tuple[float, float]]]:
    """(step, value) series from metrics.jsonl: loss, val_loss, lr, tokens_per_s."""
    series: dict[str, list[tuple[float, float]]] = {"loss": [], "val_loss": [], "lr": [], "tokens_per_s": []}
    for row in read_jsonl(run / "metrics.jsonl"):
        for key, points in series.items():
            if isinstance(row.get(key), (int, float)) and isinstance(row.get("step"), (int, float)):
                points.append((row["step"], float(row[key])))
    return series


def summary_of(folder: Path) -> dict[str, Any]:
    return read_json_object(folder / "summary.json")


def problems_table(folder: Path, *, per_problem: int, max_chars: int) -> list[dict[str, Any]]:
    """One entry per task: counts by status and up to `per_problem` samples (failures first), each with its
    code (from samples.jsonl) and its status and output (from results.jsonl), cut to `max_chars`."""
    code = {(r.get("task_id"), r.get("sample_idx")): r.get("completion", r.get("generation", ""))
            for r in read_jsonl(folder / "samples.jsonl")}
    tasks: dict[str, dict[str, Any]] = {}
    for row in read_jsonl(folder / "results.jsonl"):
        task = str(row.get("task_id"))
        entry = tasks.setdefault(task, {"task_id": task, "language": row.get("language", ""), "statuses": {},
                                        "samples": []})
        status = str(row.get("status", "passed" if row.get("passed") else "failed"))
        entry["statuses"][status] = entry["statuses"].get(status, 0) + 1
        entry["samples"].append({
            "sample_idx": row.get("sample_idx"), "status": status,
            "code": _cut(str(code.get((row.get("task_id"), row.get("sample_idx")), "")), max_chars),
            "output": _cut((str(row.get("stdout") or "") + str(row.get("stderr") or "")).strip(), max_chars)})
    for entry in tasks.values():
        entry["samples"].sort(key=lambda s: (s["status"] == "passed", s["sample_idx"] or 0))
        entry["total"] = len(entry["samples"])
        entry["samples"] = entry["samples"][:per_problem]
    return sorted(tasks.values(), key=_task_order)


def _task_order(entry: dict[str, Any]) -> tuple[str, int, str]:
    prefix, _, number = entry["task_id"].rpartition("/")
    return (prefix, int(number) if number.isdigit() else 0, number)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit:,} more characters)"
