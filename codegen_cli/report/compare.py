"""Before and after: pass@k of two eval folders on the same problems, and the held-out loss of a run
started from a pretrained model (`codegen train --init-from`), side by side with the difference.

`codegen run` prints it when a recipe has both a `[baseline]` (the starting model) and an `[eval]` (the
trained one); `codegen report` draws it for a workdir holding `X-base/` next to `X/` (results-base/ and
results/ in a recipe's workdir). A language or k scored in only one of the two is left out: a delta
between different problem sets would mean nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codegen_cli.atomic import read_json_object
from codegen_cli.languages import HUMANEVAL_X_KEYS

BASE_SUFFIX = "-base"


def _pass_at_k(summary: dict[str, Any]) -> dict[str, dict[str, float]]:
    """language name (and "all") -> metric -> value."""
    rows = {HUMANEVAL_X_KEYS.get(key, key): {m: float(v) for m, v in (entry.get("pass_at_k") or {}).items()}
            for key, entry in (summary.get("per_language") or {}).items()}
    rows["all"] = {m: float(v) for m, v in (summary.get("pass_at_k") or {}).items()}
    return rows


def _problems(summary: dict[str, Any]) -> dict[str, int]:
    return {HUMANEVAL_X_KEYS.get(key, key): int(entry.get("problems") or 0)
            for key, entry in (summary.get("per_language") or {}).items()}


def compare_results(before: Path, after: Path, run: Path | None = None) -> dict[str, Any]:
    """{"before", "after", "rows": [{language, metric, problems, before, after, delta}], "val_loss"}.

    `val_loss` (when `run` is a train folder started with --init-from): the starting model's loss on the
    val split before the first step and the run's final one, in nats per token.
    """
    old, new = read_json_object(Path(before) / "summary.json"), read_json_object(Path(after) / "summary.json")
    old_k, new_k = _pass_at_k(old), _pass_at_k(new)
    old_n, new_n = _problems(old), _problems(new)
    rows = []
    for language in [lang for lang in sorted(old_k) if lang != "all"] + ["all"]:
        if language not in new_k or (language != "all" and old_n.get(language) != new_n.get(language)):
            continue
        for metric in sorted(set(old_k[language]) & set(new_k[language])):
            a, b = old_k[language][metric], new_k[language][metric]
            rows.append({"language": language, "metric": metric, "problems": new_n.get(language),
                         "before": a, "after": b, "delta": b - a})
    result: dict[str, Any] = {"before": str(before), "after": str(after), "rows": rows}
    summary = read_json_object(Path(run) / "manifest.json").get("summary") or {} if run else {}
    if isinstance(summary.get("initial_val_loss"), (int, float)):
        start, end = summary["initial_val_loss"], summary.get("final_val_loss")
        result["val_loss"] = {"before": start, "after": end,
                              "delta": end - start if isinstance(end, (int, float)) else None}
    return result


def baseline_pairs(folders: list[Path]) -> list[tuple[Path, Path]]:
    """(X-base, X) for every eval folder X-base/ whose partner X/ is among `folders`."""
    by_name = {folder.name: folder for folder in folders}
    return [(folder, by_name[folder.name[:-len(BASE_SUFFIX)]]) for folder in folders
            if folder.name.endswith(BASE_SUFFIX) and folder.name[:-len(BASE_SUFFIX)] in by_name]


def format_lines(comparison: dict[str, Any]) -> list[str]:
    """Plain lines for a terminal or a log: held-out loss, then pass@k per language, before -> after (delta)."""
    lines = []
    loss = comparison.get("val_loss")
    if loss and loss.get("after") is not None:
        lines.append(f"held-out loss (nats/token): {loss['before']:.4f} -> {loss['after']:.4f} "
                     f"({loss['delta']:+.4f})")
    for row in comparison.get("rows", []):
        problems = f" on {row['problems']} problems" if row.get("problems") else ""
        lines.append(f"{row['language']} {row['metric']}{problems}: {100 * row['before']:.1f}% -> "
                     f"{100 * row['after']:.1f}% ({100 * row['delta']:+.1f} points)")
    return lines
