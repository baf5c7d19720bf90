"""DESIGN.md §6 threats, each a real hostile program (tests/evaluate/hostile/<lang>/<threat>.*), run in the
sandbox: each ends within its limit as a failed or harmless run, leaves no process behind, changes nothing
outside its scratch dir, cannot reach the host's network or secrets, and cannot hurt the evaluator.

The strongest tier here runs every program; weaker working tiers run the Python programs for the threats
that tier claims to stop (docs/sandbox.md lists what each tier does not stop).
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from codegen_cli.evaluate.sandbox import TIERS, Sandbox, _probe_cached, detect_tier, fork_guard, scratch_dir
from tests.conftest import require_toolchains

from .hostile.harness import (
    MARK_VAR,
    Listener,
    hostile_programs,
    prepare,
    processes_with_mark,
    run_limits,
    summary,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
BEST_TIER = detect_tier()[0]
WEAKER_TIERS = [t for t in TIERS[TIERS.index(BEST_TIER) + 1:] if _probe_cached(t) is None]
PID_NS_TIERS = ("bwrap", "unshare")  # where the program cannot see or signal host processes
FS_TIERS = ("bwrap", "unshare")  # a private root: only the system dirs, toolchains and the run's own paths
HEAVY_LANGS = ("java", "go", "rust")  # a compile per program: about a second each

# Which tiers stop each threat; a threat is only run where it is stopped (running `kill -9 -1` without a PID
# namespace would kill the test runner and everything else of this user).
STOPPED_BY = {
    "fork_bomb": TIERS, "setsid_escape": TIERS, "infinite_loop": TIERS, "sleep_forever": TIERS,
    "memory_bomb": TIERS, "huge_output": TIERS, "disk_fill": TIERS, "read_stdin": TIERS,
    "read_secrets": TIERS,
    "write_outside": FS_TIERS, "network": PID_NS_TIERS, "kill_parent": PID_NS_TIERS,
    # umount/remount attempts are only safe to try inside a private mount namespace
    "privilege_escape": PID_NS_TIERS,
}


TIER_SPECIFIC = ("fork_bomb", "setsid_escape", "network", "kill_parent", "read_secrets", "huge_output",
                 "privilege_escape")


@pytest.fixture(scope="module")
def host_sentinel():
    """A process of 'the host' that no sandboxed program may kill."""
    proc = subprocess.Popen(["sleep", "3600"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


def _cases():
    cases = []
    for lang, threat in hostile_programs():
        marks = [pytest.mark.slow] if lang in HEAVY_LANGS or threat == "fork_bomb" else []
        cases.append(pytest.param(BEST_TIER, lang, threat, id=f"{BEST_TIER}-{lang}-{threat}", marks=marks))
    for tier in WEAKER_TIERS:
        # unshare must stop what bwrap stops (issue 20): every program; rlimits only the threats where tiers
        # differ (test_sandbox.py covers limits in every tier)
        for lang, threat in hostile_programs():
            wanted = tier == "unshare" or (lang == "python" and threat in TIER_SPECIFIC)
            if wanted and tier in STOPPED_BY[threat]:
                cases.append(pytest.param(tier, lang, threat, id=f"{tier}-{lang}-{threat}",
                                          marks=[pytest.mark.slow]))
    return cases


@pytest.mark.parametrize(("tier", "lang", "threat"), _cases())
def test_hostile_program(tier, lang, threat, host_sentinel, monkeypatch):
    if tier not in STOPPED_BY[threat]:
        pytest.skip(f"tier {tier} does not stop {threat} (see docs/sandbox.md)")
    require_toolchains(lang)
    if threat == "fork_bomb" and fork_guard() is None:
        pytest.skip("no fork-bomb guard here: running as root without a writable pids cgroup")
    sandbox = Sandbox(tier)
    mark = uuid.uuid4().hex
    with scratch_dir() as work:
        argv = prepare(sandbox, lang, threat, work)
        check = CHECKS[threat]
        start = time.monotonic()
        res = check(sandbox, lang, argv, work, mark, monkeypatch)
        elapsed = time.monotonic() - start
        assert elapsed < 60, f"{threat} took {elapsed:.0f}s: {summary(res)}"
        assert processes_with_mark(mark) == [], f"processes survived {threat}: {summary(res)}"
    assert host_sentinel.poll() is None, "a host process was killed"
    assert os.getpid() > 0  # the evaluator (this test) is alive


def _run(sandbox, lang, argv, work, mark, *, env=None, **limits):
    return sandbox.run(argv, workdir=work, limits=run_limits(lang, **limits),
                       env={MARK_VAR: mark, **(env or {})})


def check_fork_bomb(sandbox, lang, argv, work, mark, _mp):
    res = _run(sandbox, lang, argv, work, mark, wall_seconds=2, max_processes=64)
    assert res.timed_out or res.returncode != 0, summary(res)
    return res


def check_setsid_escape(sandbox, lang, argv, work, mark, _mp):
    res = _run(sandbox, lang, argv, work, mark, wall_seconds=20)
    assert "parent exits" in res.stdout, summary(res)
    return res


def check_spin(sandbox, lang, argv, work, mark, _mp):
    res = _run(sandbox, lang, argv, work, mark, wall_seconds=1)
    assert res.timed_out or res.returncode != 0, summary(res)  # CPU limit or wall limit, whichever first
    return res


def check_memory_bomb(sandbox, lang, argv, work, mark, _mp):
    res = _run(sandbox, lang, argv, work, mark, wall_seconds=30, memory_bytes=1 << 30)
    assert res.returncode != 0 and not res.timed_out and res.memory_exceeded, summary(res)
    return res


def check_huge_output(sandbox, lang, argv, work, mark, _mp):
    res = _run(sandbox, lang, argv, work, mark, wall_seconds=1, output_bytes=64 << 10)
    assert res.output_truncated and (res.timed_out or res.returncode != 0), summary(res)
    assert len(res.stdout) <= (64 << 10) + 100 and len(res.stderr) <= (64 << 10) + 100  # + the drop note
    return res


def check_disk_fill(sandbox, lang, argv, work, mark, _mp):
    # private RAM-backed tmpfs mounts exist under bwrap and unshare; under rlimits /tmp is the host's disk
    dirs = [".", "/tmp", "/dev/shm"] if sandbox.tier in FS_TIERS else ["."]
    before = {d: set(os.listdir(d)) for d in ("/tmp", "/dev/shm")}
    res = _run(sandbox, lang, argv + [mark] + dirs, work, mark, wall_seconds=30, workdir_bytes=200 << 20,
               tmpfs_bytes=64 << 20)
    assert not res.timed_out and res.returncode != 0, summary(res)
    assert "[sandbox] killed: the workdir grew past" in res.stderr, summary(res)
    for d in ("/tmp", "/dev/shm"):
        assert not [n for n in set(os.listdir(d)) - before[d] if n.startswith(mark)]
    return res


def check_read_stdin(sandbox, lang, argv, work, mark, _mp):
    res = _run(sandbox, lang, argv, work, mark, wall_seconds=20)
    assert not res.timed_out and res.returncode != 0, summary(res)
    assert "ESCAPED" not in res.stdout
    return res


def check_write_outside(sandbox, lang, argv, work, mark, _mp):
    visible = REPO_ROOT / ".pytest_cache" / f"sandbox-canary-{mark}"  # gitignored, visible in the sandbox
    visible.mkdir(parents=True)
    victim = visible / "victim.txt"
    victim.write_text("keep me")
    targets = [REPO_ROOT / f"sandbox-pwned-{mark}", Path("/tmp") / f"sandbox-pwned-{mark}",
               Path.home() / f"sandbox-pwned-{mark}", visible / "new.txt"]
    try:
        res = _run(sandbox, lang, argv + [str(t) for t in targets] + ["--delete", str(victim)], work, mark,
                   wall_seconds=20)
        assert [t for t in targets if t.exists()] == [], summary(res)
        assert victim.read_text() == "keep me", summary(res)
    finally:
        for t in targets:
            t.unlink(missing_ok=True)
        victim.unlink(missing_ok=True)
        visible.rmdir()
    return res


def check_network(sandbox, lang, argv, work, mark, _mp):
    listener = Listener()
    try:
        res = _run(sandbox, lang, argv + ["127.0.0.1", str(listener.port)], work, mark, wall_seconds=20)
    finally:
        listener.close()
    assert listener.connections == [], summary(res)
    assert res.returncode != 0 and "ESCAPED" not in res.stdout, summary(res)
    return res


def check_read_secrets(sandbox, lang, argv, work, mark, monkeypatch):
    env_secret, file_secret = f"env-canary-{mark}", f"file-canary-{mark}"
    monkeypatch.setenv("CODEGEN_TEST_SECRET", env_secret)
    secret_file = Path.home() / f".sandbox-test-credentials-{mark}"  # like ~/.ssh/id_rsa or ~/.netrc
    secret_file.write_text(file_secret)
    try:
        res = _run(sandbox, lang, argv + ["CODEGEN_TEST_SECRET", str(secret_file)], work, mark,
                   wall_seconds=20)
    finally:
        secret_file.unlink()
    assert f"CODEGEN_TEST_SECRET={env_secret}" not in res.stdout, summary(res)
    if sandbox.tier in FS_TIERS:  # rlimits hides no files (nor other processes' environments)
        assert env_secret not in res.stdout and file_secret not in res.stdout, summary(res)
    return res


def check_kill_parent(sandbox, lang, argv, work, mark, _mp):
    res = _run(sandbox, lang, argv, work, mark, wall_seconds=20)
    assert not res.timed_out, summary(res)
    return res


def check_privilege_escape(sandbox, lang, argv, work, mark, _mp):
    target = REPO_ROOT / f"sandbox-pwned-{mark}"
    secret_file = Path.home() / f".sandbox-test-credentials-{mark}"
    secret_file.write_text(f"file-canary-{mark}")
    try:
        res = _run(sandbox, lang, argv + [str(target), str(secret_file)], work, mark, wall_seconds=20)
        for escape in ("raised", "unmounted", "remounted"):  # every tier drops all capabilities
            assert f"ESCAPED {escape}" not in res.stdout, summary(res)
        if sandbox.tier in FS_TIERS:
            assert not target.exists() and f"file-canary-{mark}" not in res.stdout, summary(res)
    finally:
        target.unlink(missing_ok=True)
        secret_file.unlink()
    return res


CHECKS = {
    "fork_bomb": check_fork_bomb, "setsid_escape": check_setsid_escape, "infinite_loop": check_spin,
    "sleep_forever": check_spin, "memory_bomb": check_memory_bomb, "huge_output": check_huge_output,
    "read_stdin": check_read_stdin, "write_outside": check_write_outside, "network": check_network,
    "read_secrets": check_read_secrets, "kill_parent": check_kill_parent,
    "privilege_escape": check_privilege_escape, "disk_fill": check_disk_fill,
}


def test_every_program_has_a_check():
    assert {threat for _, threat in hostile_programs()} == set(CHECKS) == set(STOPPED_BY)
