"""When a stored result may stand for this run: only when what decided its verdict is the same.

A result row records `verdict_settings`: the verdict rules' version (languages/base.RULES_VERSION), the
limits (--timeout, --memory-mb, --compile-timeout), the toolchain versions the preflight found, the
post-processing the row got (--postprocess) and a hash of the problem (prompt, declaration, test, ...).
The assembled program is a function of exactly these and the completion, whose sha256 the row records too.
A rerun into the same --output compares them per sample; a sample whose stored row differs is scored again,
and one line per cause says so (e.g. "rescoring 164 stored results: --timeout 1.0 (they were scored with
10.0)"). Issue 11: a rerun with --timeout 1 used to keep the old `passed`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from codegen_cli.evaluate import postprocess
from codegen_cli.evaluate.languages.base import RULES_VERSION
from codegen_cli.evaluate.problems import Problem

# Settings a user sets: the option that changed is named in the message.
_OPTIONS = {
    "timeout": "--timeout",
    "memory_mb": "--memory-mb",
    "compile_timeout": "--compile-timeout",
    "postprocess": "--postprocess",
}


def problem_hash(problem: Problem) -> str:
    """16 hex digits over every field of the problem that goes into a program."""
    fields = [
        problem.task_id,
        problem.prompt,
        problem.declaration,
        problem.test,
        json.dumps(problem.extra, sort_keys=True),
    ]
    return hashlib.sha256("\0".join(fields).encode("utf-8")).hexdigest()[:16]


def verdict_settings(cfg: Any, problem: Problem, field: str, toolchain: dict[str, str]) -> dict[str, Any]:
    """What decides a verdict besides the completion, for one sample (`field`: completion | generation)."""
    return {
        "rules": RULES_VERSION,
        "timeout": float(cfg.timeout),
        "memory_mb": int(cfg.memory_mb),
        "compile_timeout": float(cfg.compile_timeout),
        "toolchain": "; ".join(f"{tool} {version}" for tool, version in sorted(toolchain.items())),
        "postprocess": postprocess.resolve(cfg.postprocess, field),
        "problem": problem_hash(problem),
    }


def why_stale(stored: dict[str, Any] | None, current: dict[str, Any], language: str) -> str | None:
    """Why a stored row's settings cannot stand for `current` (one cause, the first that differs), or None."""
    if not stored:
        return "they were scored by an older codegen that did not record its settings"
    for key, value in current.items():
        old = stored.get(key)
        if old == value:
            continue
        if key in _OPTIONS:
            return f"{_OPTIONS[key]} {value} (they were scored with {old})"
        if key == "rules":
            return f"codegen's verdict rules changed (version {old} -> {value})"
        if key == "toolchain":
            return f"the {language} toolchain changed ({old} -> {value})"
        return "the problem's prompt or test changed (--problems)"
    return None


def stale(
    done: dict[tuple[str, int], dict[str, Any]], current: dict[tuple[str, int], dict[str, Any]]
) -> dict[tuple[str, int], str]:
    """(task_id, sample_idx) -> why, for every stored row of this run's samples that must be scored again."""
    found = {}
    for key, settings in current.items():
        row = done.get(key)
        if row is not None:
            reason = why_stale(row.get("verdict_settings"), settings, row.get("language", ""))
            if reason:
                found[key] = reason
    return found


def report(found: dict[tuple[str, int], str]) -> list[str]:
    """One line per cause: `rescoring N stored result(s): <cause>`."""
    counts = Counter(found.values())
    return [f"rescoring {n} stored result{'s' * (n != 1)}: {cause}" for cause, n in counts.most_common()]
