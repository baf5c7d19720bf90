"""Red-team findings against the sandbox tiers (issue 20's review): each test is an attack that once worked.

Real programs in real sandboxes; the host's state is the judge where there is one."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from codegen_cli.evaluate.sandbox import (
    TIERS,
    Limits,
    Sandbox,
    SandboxUnavailable,
    _probe_cached,
    scratch_dir,
)
from codegen_cli.evaluate.sandbox.tiers import _searchable_by_others

PY = [sys.executable, "-I", "-S"]
WORKING_TIERS = [t for t in TIERS if _probe_cached(t) is None]
NS_TIERS = [t for t in ("bwrap", "unshare") if t in WORKING_TIERS]
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the uid switch is for a root evaluator")

# Opens (never writes) the sysctls a real-uid-0 program could use to run code as host root on the next crash
# (core_pattern "|/path") or to disturb the host; prints the ones it could open for writing.
SYSCTL_PROBE = """
import os
print(os.getuid())
for path in ("/proc/sys/kernel/core_pattern", "/proc/sys/vm/drop_caches", "/proc/sys/kernel/sysrq"):
    try:
        os.close(os.open(path, os.O_WRONLY))
        print("WRITABLE", path)
    except OSError:
        pass
"""


@pytest.fixture
def work():
    with scratch_dir() as path:
        yield path


@root_only
@pytest.mark.parametrize("tier", WORKING_TIERS)
def test_busy_uid_pool_never_runs_a_program_as_root(tier, work):
    """More concurrent programs than the pool's 64 uids (a 128-CPU RL box: --workers defaults to the CPU
    count, and each warm runtime holds a uid for its life): the 65th ran as real uid 0, whose capability-free
    writes still reach root-owned sysctls such as core_pattern (a host root escape)."""
    sandbox = Sandbox(tier)
    assert sandbox.uids is not None  # as root every working tier has them (no tier runs programs as root)
    held = []
    for _ in range(64):  # what 64 runs in flight hold
        held.append(sandbox.uids.acquire())
    try:
        res = sandbox.run(PY + ["-c", SYSCTL_PROBE], workdir=work, limits=Limits(wall_seconds=30))
    finally:
        for uid in held:
            sandbox.uids.release(uid)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.split()
    assert int(lines[0]) > 0 and "WRITABLE" not in res.stdout, res.stdout
    assert len(set(held)) == 64 and 0 not in held


@root_only
@pytest.mark.skipif("unshare" not in WORKING_TIERS, reason="the unshare tier does not work here")
def test_unshare_proc_sys_is_read_only_even_for_uid_0(work):
    """Defence in depth, as bwrap does: the unshare tier's fresh /proc keeps /proc/sys and sysrq-trigger
    read-only, so a program left at uid 0 (the uid probe failed: 'programs run as ROOT') still cannot set
    core_pattern to a program of its own that the kernel would start as host root."""
    sandbox = Sandbox("unshare")
    sandbox.uids = None  # the state a failed uid probe leaves (warned: programs run as ROOT)
    res = sandbox.run(PY + ["-c", SYSCTL_PROBE], workdir=work, limits=Limits(wall_seconds=30))
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[0] == "0" and "WRITABLE" not in res.stdout, res.stdout


@root_only
def test_rlimits_tier_never_runs_a_program_as_root(work):
    """Issue 20 asks that a root evaluator run programs as an unprivileged uid in every tier. The rlimits tier
    used to fall back to root when a path the program needs (the warm runtime binds the running Python's
    prefix, here under /root; the default tool cache is ~/.cache/codegen/eval) is below a folder other users
    cannot enter; that program then could set /proc/sys/kernel/core_pattern, i.e. run code as host root.
    Now the tier does not work as root there (its probe says why), and a run whose paths are unreachable is
    refused."""
    needed = Path(sys.prefix).resolve()
    if "rlimits" not in WORKING_TIERS:
        assert "could only run as root" in (_probe_cached("rlimits") or ""), _probe_cached("rlimits")
        with pytest.raises(SandboxUnavailable, match="rlimits"):
            Sandbox("rlimits")
        return
    res = Sandbox("rlimits").run(PY + ["-c", SYSCTL_PROBE], workdir=work, limits=Limits(wall_seconds=30),
                                 readonly_paths=[needed])
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[0] != "0" and "WRITABLE" not in res.stdout, res.stdout
    blocked = Path("/root/codegen-test-unreachable")
    if not _searchable_by_others(blocked):
        with pytest.raises(SandboxUnavailable, match="cannot reach"):
            Sandbox("rlimits").run(PY + ["-c", "pass"], workdir=work, limits=Limits(wall_seconds=30),
                                   readonly_paths=[Path("/root")])
