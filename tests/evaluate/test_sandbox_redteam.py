"""Red-team findings against the sandbox tiers (issue 20's review): each test is an attack that once worked.

Real programs in real sandboxes; the host's state is the judge where there is one."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from codegen_cli.evaluate.sandbox import TIERS, Limits, Sandbox, _probe_cached, scratch_dir

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
    if sandbox.uids is None:  # only the rlimits tier may lack them (its toolchain below a 0700 folder)
        assert tier == "rlimits"
        pytest.skip("the rlimits tier runs programs as root here (see the xfail test below)")
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
@pytest.mark.skipif("rlimits" not in WORKING_TIERS, reason="the rlimits tier does not work here")
@pytest.mark.xfail(strict=True, reason="design decision pending: the rlimits tier runs a program as ROOT (with a "
                                       "warning) when one of its paths is below a 0700 folder such as /root; uid 0 "
                                       "without capabilities still writes root-owned files and core_pattern")
def test_rlimits_tier_never_runs_a_program_as_root(work):
    """Issue 20 asks that a root evaluator run programs as an unprivileged uid in every tier. The rlimits tier
    falls back to root when a path the program needs (the warm runtime binds the running Python's prefix,
    here under /root; the default tool cache is ~/.cache/codegen/eval) is below a folder other users cannot
    enter; that program then can set /proc/sys/kernel/core_pattern, i.e. run code as host root."""
    needed = Path(sys.prefix).resolve()
    if all(os.stat(p).st_mode & 0o001 for p in needed.parents):
        pytest.skip(f"{needed} is reachable by other users here: the fallback does not happen")
    res = Sandbox("rlimits").run(PY + ["-c", SYSCTL_PROBE], workdir=work, limits=Limits(wall_seconds=30),
                                 readonly_paths=[needed])
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[0] != "0" and "WRITABLE" not in res.stdout, res.stdout
