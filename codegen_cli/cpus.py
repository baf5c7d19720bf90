"""How many worker processes a stage starts by default: one per CPU this process may run on.

Every stage uses this one rule. `os.cpu_count()` counts the machine's CPUs, not the ones a container,
`taskset` or a Slurm allocation lets this process use; `os.sched_getaffinity` does (Linux), so a job
pinned to 2 CPUs starts 2 workers, not 64.
"""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def resolve_workers(requested: int | None) -> int:
    """`--workers N` when given, else one per usable CPU."""
    return requested if requested else usable_cpus()
