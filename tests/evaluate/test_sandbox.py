"""The sandbox's ordinary behaviour, in every tier that works on this host.

Hostile programs are in test_sandbox_hostile.py."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
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
        pytest.skip(f"bwrap unusable here: {_probe_cached('bwrap')}")
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
    assert detect_tier()[0] == "rlimits"


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
    with pytest.raises(SandboxUnavailable, match="weaker than the required minimum unshare"):
        Sandbox("rlimits", minimum="unshare")
    monkeypatch.setenv("CODEGEN_SANDBOX_MIN", "bwrap")
    with pytest.raises(SandboxUnavailable, match="required minimum bwrap"):
        Sandbox("rlimits")


def test_no_capabilities_and_limits_cannot_be_raised(sandbox, work):
    code = ("import resource\nprint([l.split()[1] for l in open('/proc/self/status') "
            "if l.startswith(('CapEff', 'CapPrm', 'NoNewPrivs'))])\ntry:\n"
            " resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY,) * 2)\n print('RAISED')\n"
            "except (ValueError, OSError):\n print('blocked')")
    res = sandbox.run(PY + ["-c", code], workdir=work, limits=Limits(wall_seconds=30))
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[:2] == [repr(["0000000000000000", "0000000000000000", "1"]), "blocked"]


def test_cpu_limit(sandbox, work):
    res = sandbox.run(PY + ["-c", "while True: pass"], workdir=work,
                      limits=Limits(wall_seconds=60, cpu_seconds=1))
    assert not res.timed_out and res.returncode != 0  # SIGXCPU/SIGKILL long before the wall limit


def test_memory_limit_reports_memory(sandbox, work):
    res = sandbox.run(PY + ["-c", "x = bytearray(3 << 30)"], workdir=work,
                      limits=Limits(wall_seconds=30, memory_bytes=1 << 30))
    assert res.returncode != 0 and res.memory_exceeded and "MemoryError" in res.stderr


def test_file_size_limit(sandbox, work):
    code = "open('big', 'wb').write(b'x' * (4 << 20))"
    res = sandbox.run(PY + ["-c", code], workdir=work,
                      limits=Limits(wall_seconds=30, file_size_bytes=1 << 20))
    assert res.returncode != 0 and "File too large" in res.stderr
    assert (work / "big").stat().st_size <= 1 << 20


def test_scratch_dir_removes_hostile_leftovers():
    with scratch_dir() as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
        sub = path / "a" / "b"
        sub.mkdir(parents=True)
        (sub / "f").write_text("x")
        os.chmod(sub / "f", 0)
        os.chmod(sub, 0)
        os.chmod(path / "a", stat.S_IRUSR)
        (path / "link").symlink_to("/etc/passwd")
    assert not path.exists()
    assert Path("/etc/passwd").exists()


def test_scratch_dir_under_root(tmp_path):
    with scratch_dir(tmp_path) as path:
        assert path.parent == tmp_path
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("codegen-owner-")] == []


REPO_ROOT = Path(__file__).resolve().parents[2]


def _marked(mark: str) -> list[int]:
    from .hostile.harness import processes_with_mark
    return processes_with_mark(mark)


def _wait_for(condition, seconds: float = 300.0) -> bool:
    """Poll `condition` until true; `seconds` is a deadline for a loaded machine, not a duration relied on."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_sandbox_dies_with_the_evaluator(sandbox, work):
    mark = uuid.uuid4().hex
    program = "import time; open('started', 'w').close(); time.sleep(3600)"
    script = (f"import sys, pathlib\nfrom codegen_cli.evaluate.sandbox import Sandbox, Limits\n"
              f"Sandbox({sandbox.tier!r}).run([sys.executable, '-c', {program!r}], "
              f"workdir=pathlib.Path({str(work)!r}), limits=Limits(wall_seconds=3600), "
              f"env={{'HOSTILE_MARK': {mark!r}}})\n")
    evaluator = subprocess.Popen([sys.executable, "-c", script],
                                 env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # wait for the program itself: killing the evaluator while the exec chain (sh, prlimit, setpriv)
        # is still starting would race with setpriv setting the parent-death signal
        assert _wait_for(lambda: (work / "started").exists()), "the sandboxed program never started"
    finally:
        evaluator.kill()
        evaluator.wait()
    # 120 s: slack for a loaded machine, far below the program's own 3600 s, so only the kill can end it
    assert _wait_for(lambda: _marked(mark) == [], 120), "sandboxed program outlived the evaluator"


def test_concurrent_runs_from_threads(sandbox, work):
    def job(i: int):
        with scratch_dir() as w:
            if i % 3 == 0:
                return i, sandbox.run(["sleep", "30"], workdir=w, limits=Limits(wall_seconds=1))
            code = f"import sys; sys.stdout.write('{i}' * 200000); open('f', 'w').write('{i}')"
            res = sandbox.run(PY + ["-c", code], workdir=w, limits=Limits(wall_seconds=60, output_bytes=100))
            assert (w / "f").read_text() == str(i)
            return i, res
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(job, range(12)))
    for i, res in results:
        if i % 3 == 0:
            assert res.timed_out
        else:
            assert res.returncode == 0 and res.stdout.startswith((str(i) * 100)[:50] + "\n[...") and res.output_truncated


def test_limits_without_prlimit(monkeypatch, work):
    import codegen_cli.evaluate.sandbox.tiers as sandbox_module
    monkeypatch.setattr(sandbox_module, "rlimit_prefix", lambda **_: [])
    res = Sandbox(WORKING_TIERS[0]).run(PY + ["-c", "x = bytearray(3 << 30)"], workdir=work,
                                        limits=Limits(wall_seconds=30, memory_bytes=1 << 30))
    assert res.memory_exceeded and "MemoryError" in res.stderr


def test_nested_sandbox_falls_back_cleanly(work):
    """The evaluator itself running inside a sandbox (or a container that masks /proc) still gets a tier
    that works, and runs programs in it."""
    script = ("import sys, pathlib\nfrom codegen_cli.evaluate.sandbox import Sandbox, Limits, detect_tier\n"
              "s = Sandbox()\nprint('TIER', s.tier)\n"
              "r = s.run([sys.executable, '-c', 'import os; print(os.getppid())'], "
              "workdir=pathlib.Path('.'), "
              "limits=Limits(wall_seconds=30))\nprint('RC', r.returncode, r.stdout.strip())\n")
    res = Sandbox().run([sys.executable, "-c", script], workdir=work, limits=Limits(wall_seconds=120),
                        env={"PYTHONPATH": str(REPO_ROOT)}, readonly_paths=[REPO_ROOT])
    assert res.returncode == 0, res.stderr
    lines = dict(line.split(" ", 1) for line in res.stdout.splitlines())
    assert lines["TIER"] in TIERS
    assert lines["RC"].startswith("0 ")


def test_tree_usage_budget(tmp_path):
    from codegen_cli.evaluate.sandbox.processes import tree_usage
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"x" * 100_000)
    (tmp_path / "sparse").open("wb").truncate(10 << 30)  # sparse: no disk used, not counted
    assert tree_usage(tmp_path, 1 << 20) is None
    assert "grew past" in tree_usage(tmp_path, 50_000)
    assert "more than 1 files" in tree_usage(tmp_path, 1 << 30, max_entries=1)


def test_evaluator_environment_is_unreadable(sandbox, work):
    """A secret in the evaluator's real environment cannot be read through /proc/<pid>/environ, in any tier
    (other processes are invisible under the PID namespaces; the evaluator is non-dumpable for rlimits)."""
    secret = f"evaluator-secret-{uuid.uuid4().hex}"
    reader = ("import os\nfor pid in os.listdir('/proc'):\n if pid.isdigit():\n  try:\n"
              "   data = open(f'/proc/{pid}/environ', 'rb').read()\n  except OSError:\n   continue\n"
              "  if b'EVALUATOR_SECRET' in data:\n   print('LEAK', pid, flush=True)\n")
    script = (f"import sys, pathlib\nfrom codegen_cli.evaluate.sandbox import Sandbox, Limits\n"
              f"r = Sandbox({sandbox.tier!r}).run([sys.executable, '-c', {reader!r}], "
              f"workdir=pathlib.Path({str(work)!r}), limits=Limits(wall_seconds=60))\n"
              f"print(r.returncode, r.stdout, r.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "EVALUATOR_SECRET": secret})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("0 ") and "LEAK" not in done.stdout, done.stdout


def test_limits_defaults_match_the_contract():
    limits = Limits()
    assert (limits.wall_seconds, limits.cpu_seconds, limits.memory_bytes, limits.file_size_bytes,
            limits.open_files, limits.max_processes, limits.output_bytes) == (
        10.0, None, 4 << 30, 64 << 20, 512, 256, 64 << 10)


def test_binary_output_is_decoded_with_replacement(sandbox, work):
    code = "import sys; sys.stdout.buffer.write(b'ok \\xff\\xfe end')"
    res = sandbox.run(PY + ["-c", code], workdir=work, limits=Limits(wall_seconds=30))
    assert res.returncode == 0 and res.stdout == "ok \ufffd\ufffd end"


def test_stale_run_cgroups_are_swept():
    from codegen_cli.evaluate.sandbox import cgroups
    cgroup = cgroups.RunCgroup.create(uuid.uuid4().hex, 8, None)
    if cgroup is None:
        pytest.skip("no writable pids cgroup here")
    path = cgroup.dirs[0]
    try:
        old = time.time() - 3600
        os.utime(path, (old, old))  # as if left by an evaluator killed an hour ago
        cgroups._swept.discard(path.parent)
        cgroups._remove_stale(path.parent)
        assert not path.exists()
    finally:
        cgroup.remove()
