"""Python and JavaScript through the warm runtime: hostile programs against the zygote's isolation and the
trusted judges.

Real zygote (bwrap), real judge server, real cgroups. Programs answer HumanEval-X Python/2 (truncate_number,
JavaScript/2 truncateNumber);
an isolation check is a CORRECT answer only when the program sees nothing it should not (so a leak fails
the sample and the test shows what the program printed). Bombs run in ONE worker, each followed by a
canonical program that must pass: the zygote survived and serves the next program. The host is checked
afterwards (no leftover process). The per-program fallback gets the same verdict checks.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from codegen_cli.evaluate.config import ScoringConfig
from codegen_cli.evaluate.executor import execute
from codegen_cli.evaluate.languages import get_language
from codegen_cli.evaluate.languages.context import default_cache_dir
from codegen_cli.evaluate.problems import PACKAGED_DIR, load_problems
from codegen_cli.evaluate.sandbox import Sandbox, detect_tier
from codegen_cli.evaluate.scoring import _contexts, score
from tests.conftest import toolchain_missing

from .conftest import require_toolchains

CANONICAL = "    return number % 1.0\n"
LEFTOVER = "987654.25"  # the sleep duration a daemon runs with: how the host check finds it
BWRAP_FIX = "apt-get install -y --no-install-recommends bubblewrap (and allow user namespaces)"
NEEDS_BWRAP = pytest.mark.skipif(detect_tier()[0] != "bwrap", reason=f"the zygote needs the bwrap tier; fix: {BWRAP_FIX}")


def _problem(language: str = "python"):
    (problem,) = load_problems(PACKAGED_DIR, languages=[language], tasks=["2"])
    return problem


def run(completions: list[str], *, workers: int = 2, timeout: float = 10.0, memory_mb: int = 4096,
        key: str = "python"):
    """Score completions of Python/2 (or JavaScript/2) through the executor; (outcomes, runtime note)."""
    if key == "js":
        require_toolchains("js")
    cfg = ScoringConfig(check_references=True, timeout=timeout, memory_mb=memory_mb)
    ctx = _contexts(cfg, Sandbox(), default_cache_dir(), [key])[key]
    language = get_language(key)
    programs = [language.assemble(_problem(key), c) for c in completions]
    unique = list({p.sha256: p for p in programs}.values())
    outcomes = {}
    notes = []
    original = language.close

    def close() -> None:
        notes.append(language.runtime_note)
        original()

    language.close = close
    execute([(language, unique, ctx)], workers=workers, on_outcome=lambda p, o: outcomes.__setitem__(p.sha256, o))
    return [outcomes[p.sha256] for p in programs], notes[0]


def _leftovers() -> list[str]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if LEFTOVER in cmdline:
                found.append(f"{entry.name}: {cmdline}")
    return found


def _isolation_probe() -> str:
    """A correct answer only if the program sees none of the host's secrets and nobody else's files (parent
    dirs of bound paths, such as the tool cache's, exist as empty skeletons: not checked)."""
    checkout = Path(__file__).resolve().parents[2]  # this package and the tests
    visible = [str(PACKAGED_DIR / "humaneval_python.jsonl.gz"), str(checkout), "/root/.ssh", "/home"]
    return f'''    import os
    seen = []
    for path in {visible!r}:
        if os.path.exists(path):
            seen.append(path)
    try:
        open("/etc/shadow").read()
        seen.append("/etc/shadow-readable")
    except OSError:
        pass
    pids = sorted(p for p in os.listdir("/proc") if p.isdigit())
    if pids != sorted(["1", str(os.getpid())]):  # the namespace's init and this program only
        seen.append("processes " + " ".join(pids))
    if {os.geteuid() == 0} and os.getuid() == 0:  # a root evaluator's programs run as another uid
        seen.append("uid 0")
    if os.getcwd() != "/tmp" or os.listdir("/tmp") or any(k.startswith("CODEGEN") for k in os.environ):
        seen.append("cwd " + os.getcwd() + " " + str(os.listdir(".")) + " " + str(sorted(os.environ)))
    if seen:
        print("SAW", seen)
        return -1.0
    return number % 1.0
'''


WRITER = f'''    import ctypes, os, subprocess
    for path in ("/tmp/flag", "/var/tmp/flag", "/dev/shm/flag", "flag-in-cwd"):
        with open(path, "w") as handle:
            handle.write("left by an earlier program")
    libc = ctypes.CDLL(None)
    libc.shmget(0xC0DE, 4096, 0o1666)  # a SysV shared memory segment (IPC_CREAT)
    if os.fork() == 0:
        os.setsid()
        os.execv("/bin/sleep", ["sleep", "{LEFTOVER}"])
    return number % 1.0
'''

READER = '''    import ctypes, os
    seen = [p for p in ("/tmp/flag", "/var/tmp/flag", "/dev/shm/flag", "flag-in-cwd") if os.path.exists(p)]
    if ctypes.CDLL(None).shmget(0xC0DE, 0, 0) != -1:
        seen.append("the earlier program's shared memory")
    if sorted(p for p in os.listdir("/proc") if p.isdigit()) != sorted(["1", str(os.getpid())]):
        seen.append("other processes")
    if seen:
        print("SAW", seen)
        return -1.0
    return number % 1.0
'''

FORK_BOMB = '''    import os
    while True:
        try:
            os.fork()
        except OSError:
            pass
'''

MEMORY_BOMB = '''    import os
    children = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            block = bytearray(300 << 20)
            for i in range(0, len(block), 4096):
                block[i] = 1
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    return 0.5
'''

STUBBORN_LOOP = '''    import signal
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGXCPU, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        pass
'''

KILL_EVERYONE = '''    import os, signal
    for target in (-1, 1):  # everyone it may signal; init
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass
    return number % 1.0
'''


@NEEDS_BWRAP
def test_a_program_sees_nothing_of_the_host_or_the_run():
    (outcome,), note = run([_isolation_probe()])
    assert outcome.status == "passed", outcome
    assert note.startswith("zygote"), note


@NEEDS_BWRAP
@pytest.mark.slow
def test_nothing_a_program_does_reaches_the_next_and_the_zygote_survives_every_bomb():
    completions = [WRITER, READER, FORK_BOMB, CANONICAL + "\n#1\n", STUBBORN_LOOP, CANONICAL + "\n#2\n",
                   KILL_EVERYONE, CANONICAL + "\n#3\n"]
    outcomes, note = run(completions, workers=1, timeout=3.0)
    statuses = [o.status for o in outcomes]
    assert statuses[:2] == ["passed", "passed"], outcomes[1]  # the reader saw nothing the writer left
    assert statuses[2] == "timeout" and statuses[4] == "timeout", outcomes
    assert statuses[3] == statuses[5] == statuses[6] == statuses[7] == "passed", outcomes
    assert all(o.reason for o in outcomes if o.status != "passed")
    assert note.startswith("zygote"), note  # never fell back: the zygote served every program
    assert _leftovers() == []  # the writer's daemon died with its program


@NEEDS_BWRAP
@pytest.mark.slow
def test_a_memory_bomb_across_processes_hits_the_programs_memory_limit():
    outcomes, _note = run([MEMORY_BOMB, CANONICAL], workers=1, timeout=10.0, memory_mb=512)
    assert outcomes[0].status == "memory", outcomes[0]
    assert outcomes[1].status == "passed", outcomes[1]


@NEEDS_BWRAP
def test_numpy_programs_pass_and_the_zygote_imports_numpy_once():
    pytest.importorskip("numpy")
    uses_numpy = "    return float(np.float64(number) % 1.0)\n"
    outcomes, _note = run([uses_numpy, uses_numpy + "#2\n", uses_numpy + "#3\n"], workers=1)
    assert [o.status for o in outcomes] == ["passed"] * 3, outcomes


@NEEDS_BWRAP
def test_what_a_program_may_allocate_does_not_depend_on_an_earlier_numpy_program():
    """The zygote imports numpy for the first program that uses it; the spares forked after that inherit
    ~80 MB more address space. That must not come out of a later program's memory limit (a plain program
    that passed before a numpy program failed with MemoryError after it), and the first numpy program must
    not pay the import from its own limit either (the idle spare is replaced after the import)."""
    pytest.importorskip("numpy")
    allocates = "    block = bytearray(200 << 20)\n    return number % 1.0\n"
    numpy_allocates = "    block = bytearray(200 << 20)\n    return float(np.float64(number) % 1.0)\n"
    completions = [allocates, numpy_allocates, allocates + "#2\n", numpy_allocates + "#2\n"]
    outcomes, note = run(completions, workers=1, memory_mb=256)
    assert note.startswith("zygote"), note
    assert [o.status for o in outcomes] == ["passed"] * 4, outcomes


def test_exit_125_with_our_message_is_a_sandbox_error_only_before_the_sandbox_was_built():
    """A program that prints the runtime's setup-failure line and exits 125 got `sandbox_error` (not its own
    failure; hostile/verdicts forged_setup_failure*). The spare now says "built" on a pipe it closes before
    any program code runs; only a candidate that never said so failed its setup."""
    from codegen_cli.evaluate.runtime.server import _settle, _setup_done
    from codegen_cli.evaluate.runtime.zygote import SETUP_DONE, SETUP_FAILED

    verdict = {"status": "failed", "reason": "the candidate's process ended", "ended": True}
    stderr = "\n[runtime] the candidate's sandbox could not be built: OSError: nope\n"
    for written, status in ((b"", "sandbox_error"), (SETUP_DONE, "failed")):
        read_end, write_end = os.pipe()
        os.write(write_end, written)
        os.close(write_end)
        reply = _settle(verdict, SETUP_FAILED, "", stderr, truncated=False, built=_setup_done(read_end))
        assert reply["status"] == status, (written, reply)


HOSTILE_VERDICTS = {
    "raises": ("    raise ValueError('nope')\n", "raised ValueError: nope"),
    "returns_magic": ("    class A(float):\n        def __eq__(self, o): return True\n    return A(0.5)\n",
                      "not plain data"),
    "returns_generator": ("    yield number % 1.0\n", "not plain data"),
    "exit_at_import": ("    return number % 1.0\nimport sys\nsys.exit(0)\n", "failed before the tests"),
    "no_such_function": ("    return number % 1.0\ndel truncate_number\n", "does not define truncate_number"),
    "syntax_error": ("    return number %% 1.0\n", "SyntaxError"),
}


@pytest.mark.parametrize("runtime", ["zygote", "per-program"])
def test_verdicts_come_from_the_judge_in_both_process_models(monkeypatch, runtime):
    if runtime == "zygote" and detect_tier()[0] != "bwrap":
        toolchain_missing(f"the zygote needs the bwrap tier; fix: {BWRAP_FIX}")
    if runtime == "per-program":
        monkeypatch.setenv("CODEGEN_EVAL_RUNTIME", "per-program")
    cases = list(HOSTILE_VERDICTS.items())
    outcomes, note = run([CANONICAL] + [completion for _, (completion, _) in cases])
    assert outcomes[0].status == "passed", outcomes[0]
    for (name, (_, reason)), outcome in zip(cases, outcomes[1:]):
        assert outcome.status == "failed" and reason in outcome.reason, (name, outcome)
    assert note.startswith(runtime), note


@pytest.mark.parametrize("runtime", ["zygote", "per-program"])
def test_a_multiprocessing_program_passes_in_both_process_models(monkeypatch, runtime):
    """Python's multiprocessing needs a writable /dev/shm (its semaphores): the per-program sandbox's was
    root's, so an honest Pool program failed with PermissionError when it ran as another uid."""
    if runtime == "zygote" and detect_tier()[0] != "bwrap":
        toolchain_missing(f"the zygote needs the bwrap tier; fix: {BWRAP_FIX}")
    if runtime == "per-program":
        monkeypatch.setenv("CODEGEN_EVAL_RUNTIME", "per-program")
    pool = "    from multiprocessing import Pool\n    with Pool(2) as pool:\n        return pool.map(abs, [number])[0] % 1.0\n"
    (outcome,), note = run([pool])
    assert outcome.status == "passed", outcome
    assert note.startswith(runtime), note


def test_summary_records_how_programs_ran_and_human_eval_problems_pass(tmp_path):
    summary = score(ScoringConfig(check_references=True, benchmark="humaneval", languages=["python"],
                                  tasks=["32", "38", "50", "115"], output=tmp_path, k=[1], workers=2))
    assert summary.statuses == {"passed": 4}
    runtime = json.loads((tmp_path / "summary.json").read_text())["sandbox"]["runtime"]["python"]
    assert runtime.startswith("zygote" if detect_tier()[0] == "bwrap" else "per-program"), runtime


JS_CANONICAL = "  return number % 1.0;\n}\n"

JS_PROBE = f"""  const fs = require('fs');
  const seen = [{", ".join(repr(p) for p in (str(PACKAGED_DIR / "humaneval_js.jsonl.gz"),
                                                  str(Path(__file__).resolve().parents[2])))}]
    .filter((path) => fs.existsSync(path)).concat(leftAtLoad);
  const pids = fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p));
  if (pids.length !== 2 || !pids.includes('1') || !pids.includes(String(process.pid))) seen.push('processes ' + pids);
  if ({str(os.geteuid() == 0).lower()} && process.getuid() === 0) seen.push('uid 0');
  if (process.cwd() !== '/tmp' || Object.keys(process.env).some((k) => k.startsWith('CODEGEN'))) seen.push('env');
  if (seen.length) {{ console.log('SAW', seen); return -1; }}
  return number % 1.0;
}}
const leftAtLoad = ['/tmp/js-flag', '/var/tmp/js-flag', '/dev/shm/js-flag'].filter((p) => require('fs').existsSync(p));
for (const path of ['/tmp/js-flag', '/var/tmp/js-flag', '/dev/shm/js-flag']) {{
  require('fs').writeFileSync(path, 'left by an earlier program');
}}
"""

JS_VERDICTS = {
    "throws": ("  throw new RangeError('nope');\n}\n", "truncateNumber threw RangeError: nope"),
    "returns_instance": ("  return new (class Magic { valueOf() { return 0.5; } })();\n}\n", "a Magic is not plain data"),
    "returns_accessor": ("  return { get x() { return 1; } };\n}\n", "accessor"),
    "returns_function": ("  return () => 0.5;\n}\n", "a Function is not plain data"),
    "exit_at_load": ("  return number % 1.0;\n}\nprocess.exit(0);\n", "waited for the program to start"),
    "syntax_error": ("  return number %;\n}\n", "failed before the tests: main.js"),
    "returns_itself": ("  const a = []; a.push(a); return a;\n}\n", "nested more than 100 levels"),
    "global_math_patched": ("  return 0.5;\n}\nMath.abs = () => 0;\n", "assertion failed"),
}


@pytest.mark.parametrize("runtime", ["zygote", "per-program"])
def test_javascript_verdicts_come_from_the_judge_in_both_process_models(monkeypatch, runtime):
    if runtime == "zygote" and detect_tier()[0] != "bwrap":
        toolchain_missing(f"the zygote needs the bwrap tier; fix: {BWRAP_FIX}")
    if runtime == "per-program":
        monkeypatch.setenv("CODEGEN_EVAL_RUNTIME", "per-program")
    cases = list(JS_VERDICTS.items())
    outcomes, note = run([JS_CANONICAL] + [completion for _, (completion, _) in cases], key="js")
    assert outcomes[0].status == "passed", outcomes[0]
    for (name, (_, reason)), outcome in zip(cases, outcomes[1:]):
        assert outcome.status == "failed" and reason in outcome.reason, (name, outcome)
    assert note.startswith(runtime), note


@NEEDS_BWRAP
def test_a_javascript_program_sees_nothing_and_leaves_nothing():
    outcomes, note = run([JS_PROBE, JS_PROBE + "// the second one\n"], workers=1, key="js")
    assert [o.status for o in outcomes] == ["passed", "passed"], outcomes  # the second found no flag
    assert note.startswith("zygote"), note
