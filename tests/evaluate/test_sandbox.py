"""The sandbox's ordinary behaviour, in every tier that works on this host.

Hostile programs are in test_sandbox_hostile.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from codegen_cli.evaluate.sandbox import (
    MINIMAL_ENV,
    TIERS,
    Limits,
    Sandbox,
    SandboxUnavailable,
    _probe_cached,
    detect_tier,
    scratch_dir,
)
from tests.conftest import toolchain_missing

PY = [sys.executable, "-I", "-S"]
WORKING_TIERS = [t for t in TIERS if _probe_cached(t) is None]


@pytest.fixture(params=WORKING_TIERS)
def sandbox(request) -> Sandbox:
    return Sandbox(request.param)


@pytest.fixture
def work():
    with scratch_dir() as path:
        yield path


def test_detect_tier_names_a_working_tier():
    tier, reason = detect_tier()
    assert tier in TIERS and reason
    assert tier == WORKING_TIERS[0]


def test_bwrap_works_here_as_documented():
    # CI and the dev box have bubblewrap; if this fails, the fallback tiers are what is being tested.
    if _probe_cached("bwrap") is not None:
        toolchain_missing(f"bwrap unusable here: {_probe_cached('bwrap')}; fix: apt-get install -y "
                          "--no-install-recommends bubblewrap (and allow user namespaces)")
    assert Sandbox().tier == "bwrap"


def test_unknown_tier_is_rejected():
    with pytest.raises(ValueError, match="unknown sandbox tier"):
        Sandbox("docker")


def test_unavailable_tier_raises(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    _probe_cached.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable, match="bwrap"):
            Sandbox("bwrap")
    finally:
        _probe_cached.cache_clear()


def test_env_var_caps_the_tier(monkeypatch):
    monkeypatch.setenv("CODEGEN_SANDBOX_TIER", "rlimits")
    if "rlimits" in WORKING_TIERS:
        assert detect_tier()[0] == "rlimits"
    else:  # as root with the toolchains below /root: no tier left that runs programs as another uid
        with pytest.raises(SandboxUnavailable, match="no sandbox tier works here: rlimits as root"):
            detect_tier()


def test_runs_and_captures(sandbox, work):
    code = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    res = sandbox.run(PY + ["-c", code], workdir=work, limits=Limits(wall_seconds=30))
    assert (res.returncode, res.stdout, res.stderr) == (3, "out\n", "err\n")
    assert not res.timed_out and not res.output_truncated and not res.memory_exceeded
    assert res.tier == sandbox.tier and res.seconds > 0


def test_environment_is_minimal(sandbox, work, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_canary")
    code = "import os, json; print(json.dumps(dict(os.environ)))"
    res = sandbox.run(PY + ["-c", code], workdir=work, limits=Limits(wall_seconds=30), env={"EXTRA": "1"})
    import json
    env = json.loads(res.stdout)
    assert "HF_TOKEN" not in env and "hf_secret_canary" not in res.stdout
    assert env["HOME"] == str(work.resolve()) and env["TMPDIR"] == str(work.resolve()) and env["EXTRA"] == "1"
    assert env["PATH"] == MINIMAL_ENV["PATH"]
    assert set(env) <= set(MINIMAL_ENV) | {"HOME", "TMPDIR", "EXTRA", "CODEGEN_SANDBOX_TOKEN", "PWD", "_",
                                           "SHLVL", "LC_CTYPE"}


def test_workdir_is_cwd_and_writable(sandbox, work):
    code = "import os; open('made.txt', 'w').write('x'); print(os.getcwd())"
    res = sandbox.run(PY + ["-c", code], workdir=work, limits=Limits(wall_seconds=30))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(work.resolve())
    assert (work / "made.txt").read_text() == "x"


def test_stdin_data_and_default_devnull(sandbox, work):
    code = "import sys; print(repr(sys.stdin.read()))"
    res = sandbox.run(PY + ["-c", code], workdir=work, limits=Limits(wall_seconds=30), stdin_data=b"abc\n")
    assert res.stdout.strip() == repr("abc\n")
    res = sandbox.run(PY + ["-c", code], workdir=work, limits=Limits(wall_seconds=30))
    assert res.stdout.strip() == repr("")


def test_output_is_capped_per_stream(sandbox, work):
    code = "import sys; sys.stdout.write('a' * 300000); sys.stderr.write('b' * 10)"
    res = sandbox.run(PY + ["-c", code], workdir=work, limits=Limits(wall_seconds=30, output_bytes=1000))
    assert res.returncode == 0 and res.output_truncated
    head, _, tail = res.stdout.partition("\n[... 299000 bytes dropped ...]\n")
    assert head == "a" * 500 and tail == "a" * 500 and res.stderr == "b" * 10


def test_timeout_kills(sandbox, work):
    res = sandbox.run(["sleep", "60"], workdir=work, limits=Limits(wall_seconds=1))
    assert res.timed_out and res.returncode is None
    assert res.seconds < 30


def test_missing_program_is_a_failed_run(sandbox, work):
    res = sandbox.run(["/nonexistent/prog"], workdir=work, limits=Limits(wall_seconds=30))
    assert res.returncode not in (0, None)


def test_missing_paths_raise(sandbox, work):
    with pytest.raises(FileNotFoundError):
        sandbox.run(["true"], workdir=work / "nope", limits=Limits())


def test_writable_and_readonly_paths(sandbox, work, tmp_path):
    shared, ro = tmp_path / "cache", tmp_path / "deps"
    shared.mkdir(), ro.mkdir()
    (ro / "lib.txt").write_text("lib")
    code = ("import sys; open(sys.argv[1] + '/c', 'w').write('c');"
            "print(open(sys.argv[2] + '/lib.txt').read());"
            "\ntry:\n open(sys.argv[2] + '/w', 'w')\nexcept OSError: print('ro')")
    res = sandbox.run(PY + ["-c", code, str(shared), str(ro)], workdir=work, limits=Limits(wall_seconds=30),
                      writable_paths=[shared], readonly_paths=[ro])
    assert res.returncode == 0, res.stderr
    assert (shared / "c").read_text() == "c"
    assert res.stdout.startswith("lib")
    if sandbox.tier in ("bwrap", "unshare"):
        assert "ro" in res.stdout and not (ro / "w").exists()


FS_TIERS = [t for t in ("bwrap", "unshare") if t in WORKING_TIERS]


@pytest.mark.parametrize("tier", FS_TIERS)
def test_filesystem_tiers_show_only_the_runs_paths(tier, work, tmp_path):
    """bwrap and unshare give the same view (issue 20: bwrap's absence costs speed, never isolation): the
    host's /tmp, homes and work tree are not there, system dirs and bound paths are read-only, writes land
    in the scratch dir or a private tmpfs, and nothing reaches the host."""
    outside = tmp_path / "host-file.txt"
    outside.write_text("host data")
    ro = tmp_path / "ro"
    ro.mkdir()
    code = f"""
import os
seen = {{}}
for path in [{str(outside)!r}, {str(Path.cwd())!r}, "/home", "/etc/passwd"]:
    seen[path] = os.path.exists(path)
print(sorted(k for k, v in seen.items() if v))
for target in ["/usr/pwned", "/etc/pwned", {str(ro / "pwned")!r}, "/pwned", "/tmp/private-ok"]:
    try:
        open(target, "w").write("x")
        print("wrote", target)
    except OSError as exc:
        print("refused", target)
print([l.split()[1] for l in open("/proc/self/status") if l.startswith("CapBnd")])
"""
    res = Sandbox(tier).run(PY + ["-c", code], workdir=work, limits=Limits(wall_seconds=30), readonly_paths=[ro])
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "['/etc/passwd']", res.stdout  # not the host file, the checkout or /home
    assert lines[1:5] == [f"refused {t}" for t in ["/usr/pwned", "/etc/pwned", str(ro / "pwned"), "/pwned"]]
    assert lines[5] == "wrote /tmp/private-ok" and not Path("/tmp/private-ok").exists()
    assert lines[6] == "['0000000000000000']", "the capability bounding set must be empty"
    assert not (ro / "pwned").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid switch is for a root evaluator")
@pytest.mark.parametrize("tier", WORKING_TIERS)
def test_root_evaluator_runs_programs_as_an_unprivileged_uid(tier, work):
    """As root, every tier runs programs as a non-zero uid: a root-only file stays unreadable even where the
    tier shows it (a read-only bound dir here; rlimits shows everything). The folder is world-searchable, as
    the rlimits tier needs (a run whose paths another uid cannot reach goes as root, with a warning)."""
    import shutil
    import tempfile

    secrets = Path(tempfile.mkdtemp(prefix="codegen-test-secrets-", dir="/tmp"))
    secrets.chmod(0o755)
    request_cleanup = secrets
    secret = secrets / "root-only.txt"
    secret.write_text("root-only canary")
    secret.chmod(0o600)
    code = (f"import os\nprint(os.getuid(), os.geteuid())\ntry:\n print(open({str(secret)!r}).read())\n"
            "except OSError:\n print('refused')")
    sandbox = Sandbox(tier)
    try:
        res = sandbox.run(PY + ["-c", code], workdir=work, limits=Limits(wall_seconds=30),
                          readonly_paths=[secrets])
    finally:
        shutil.rmtree(request_cleanup)
    assert res.returncode == 0, res.stderr
    uid, euid = map(int, res.stdout.split()[:2])
    assert uid > 0 and euid > 0, res.stdout
    assert "root-only canary" not in res.stdout and res.stdout.splitlines()[1] == "refused"
    assert sandbox.uids is not None and "unprivileged uid" in sandbox.uid_note


def test_sandbox_min_refuses_a_weaker_tier(monkeypatch):
    from codegen_cli.evaluate.sandbox.tiers import strongest

    assert strongest("rlimits", "unshare") == "unshare" and strongest("bwrap", "unshare") == "bwrap"
    weakest = WORKING_TIERS[-1]
    if weakest == "bwrap":
        pytest.skip("only bwrap works here: no weaker tier to refuse")
    with pytest.raises(SandboxUnavailable, match="weaker than the required minimum bwrap"):
        Sandbox(weakest, minimum="bwrap")
    monkeypatch.setenv("CODEGEN_SANDBOX_MIN", "bwrap")
    with pytest.raises(SandboxUnavailable, match="required minimum bwrap"):
        Sandbox(weakest)
