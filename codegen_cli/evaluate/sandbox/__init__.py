"""Run untrusted programs with limits and the strongest isolation the host offers (DESIGN.md §6).

Modules: `tiers` (the Sandbox: tier detection, the bwrap/unshare/rlimits wrappers, one run), `processes`
(exec prefixes that apply limits and drop privileges, leftover killing, the output pump), `cgroups` (per-run
pids and memory caps), `output` (head/tail keeping and evidence scanning), `scratch` (private dirs, swept
after a crash), `zygote` (a warm Python runtime that forks one process per program inside one sandbox).
docs/sandbox.md has the threat model and what each tier leaves open.
"""

from codegen_cli.evaluate.sandbox.scratch import make_scratch, remove_tree, scratch_dir, sweep
from codegen_cli.evaluate.sandbox.tiers import (
    MINIMAL_ENV,
    TIERS,
    Limits,
    Sandbox,
    SandboxResult,
    SandboxUnavailable,
    _probe_cached,
    detect_tier,
    fork_guard,
    memory_guard,
)

__all__ = ["MINIMAL_ENV", "TIERS", "Limits", "Sandbox", "SandboxResult", "SandboxUnavailable", "_probe_cached",
           "detect_tier", "fork_guard", "make_scratch", "memory_guard", "remove_tree", "scratch_dir",
           "sweep"]
