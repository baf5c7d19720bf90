"""EvalSummary: pass@k per language and overall, status counts, reference-check verdicts, provenance."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from codegen_cli.evaluate.known_bugs import KNOWN_BUGS, expected_failure
from codegen_cli.evaluate.passk import mean_pass_at_k


@dataclass
class EvalSummary:
    output: str
    mode: str  # samples | check-references
    benchmark: str
    sandbox_tier: str
    sandbox_reason: str
    toolchains: dict[str, dict[str, str]]
    ks: list[int]
    pass_at_k: dict[str, float]
    per_language: dict[str, dict[str, Any]]
    statuses: dict[str, int]
    problems: int
    samples: int
    programs_run: int
    programs_cached: int
    seconds: float
    references: dict[str, Any] = field(default_factory=dict)
    problems_without_samples: int = 0
    sandbox_uid: str = ""  # which uid programs ran as
    sandbox_memory: str = ""  # what capped their memory (a cgroup for the whole tree, or RLIMIT_AS only)
    settings: dict[str, Any] = field(default_factory=dict)  # verdict-relevant settings (postprocess, limits)
    cache_changed: list[str] = field(default_factory=list)  # tool-cache files a program changed (rlimits tier)
    runtimes: dict[str, str] = field(default_factory=dict)  # language -> how its programs ran (zygote or not)

    @property
    def unexpected_failures(self) -> list[dict[str, Any]]:
        return list(self.references.get("unexpected_failures", []))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": 1,
            "output": self.output,
            "mode": self.mode,
            "benchmark": self.benchmark,
            "sandbox": {"tier": self.sandbox_tier, "reason": self.sandbox_reason, "uid": self.sandbox_uid,
                        # plainly: did anything stand between the programs and this machine's files?
                        "isolation": "none" if self.sandbox_tier == "rlimits" else "namespaces",
                        "memory": self.sandbox_memory, "tool_cache": _cache_note(self.sandbox_tier),
                        "tool_cache_changed": self.cache_changed, "runtime": self.runtimes},
            "settings": self.settings,
            "toolchains": self.toolchains,
            "k": self.ks,
            "pass_at_k": self.pass_at_k,
            "per_language": self.per_language,
            "statuses": self.statuses,
            "problems": self.problems,
            "samples": self.samples,
            "problems_without_samples": self.problems_without_samples,
            "programs": {"run": self.programs_run, "cached": self.programs_cached},
            "seconds": round(self.seconds, 2),
            "references": self.references,
        }


def _cache_note(tier: str) -> str:
    """How the tool cache was protected from the programs in `tier` (docs/sandbox.md)."""
    if tier in ("bwrap", "unshare"):
        return "read-only bind mount; content manifest verified at start"
    return "writable by programs (no filesystem isolation); content manifest verified at start and end"


def per_problem_counts(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """task_id -> (n, c) from result rows."""
    counts: dict[str, list[int]] = {}
    for row in rows:
        entry = counts.setdefault(row["task_id"], [0, 0])
        entry[0] += 1
        entry[1] += row["status"] == "passed"
    return {task: (n, c) for task, (n, c) in counts.items()}


def language_block(rows: list[dict[str, Any]], ks: list[int]) -> dict[str, Any]:
    counts = per_problem_counts(rows)
    ns = [n for n, _ in counts.values()]
    return {
        "problems": len(counts),
        "samples": len(rows),
        "n_min": min(ns, default=0),
        "n_max": max(ns, default=0),
        "passed": sum(c for _, c in counts.values()),
        "pass_at_k": mean_pass_at_k(counts, ks),
        "statuses": dict(sorted(Counter(row["status"] for row in rows).items())),
    }


def reference_report(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Canonical-solution verdicts: known data bugs apart from unexpected failures."""
    unexpected, known = [], []
    for row in sorted(rows, key=lambda r: (r["language"], r["task_id"])):
        bug = KNOWN_BUGS.get(row["task_id"])
        if bug is not None and bug.expect != "pass":
            known.append(
                {
                    "task_id": row["task_id"],
                    "status": row["status"],
                    "expect": bug.expect,
                    "reason": bug.reason,
                }
            )
        if row["status"] != "passed" and expected_failure(row["task_id"]) is None:
            unexpected.append(
                {"task_id": row["task_id"], "status": row["status"], "stderr": row.get("stderr", "")[-500:]}
            )
    passed = sum(row["status"] == "passed" for row in rows)
    return {"total": len(rows), "passed": passed, "known_bugs": known, "unexpected_failures": unexpected}
