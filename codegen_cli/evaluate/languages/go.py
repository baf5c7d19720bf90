"""Go: `package main` test file with one merged import block, testify in GOPATH mode (offline).

Assembly: the prompt's own import block is removed; the imports are rebuilt from the problem's
`import`/`test_setup` fields plus common standard packages, keeping a package only when the code uses it
(Go refuses unused imports) and always `testing` + testify's assert. This also fixes Go/65, whose
prompt lacks the import block its solution needs. A TestMain reads and prints the run's secret after every
test passed.

Speed-up (go_toolchain.py): a batch of programs is built in ONE sandbox call that runs the Go compiler
and linker directly for each program in its own folder (no `go` command per program, testify without its
HTTP assertions, both prepared once in the tool cache from trusted inputs). No program code runs during
the build; each test binary then runs alone in its own sandbox with `-test.paniconexit0` (os.Exit(0) during
a test is a failure). The warm GOCACHE is still prepared for tools that run `go test` (the benchmark and
the reference evaluators of the tests).
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path

from codegen_cli.evaluate.languages import go_toolchain, tamper
from codegen_cli.evaluate.languages.base import (
    PLACEHOLDER,
    Built,
    Program,
    RunSpec,
    batch_limits,
    marker_verdict,
    new_harness_name,
    text_of,
)
from codegen_cli.evaluate.languages.context import cache_lock
from codegen_cli.evaluate.problems import Problem

HELPER_PACKAGES = (
    "math",
    "strings",
    "fmt",
    "strconv",
    "time",
    "bytes",
    "regexp",
    "sort",
    "math/rand",
    "os",
    "crypto/md5",
    "unicode",
    "errors",
    "reflect",
    "encoding/hex",
    "container/heap",
)
ALWAYS = ("testing", "github.com/stretchr/testify/assert")
# Every dataset test starts with `defer <P>record(t, "TestX")`, which notes the test as passed when it
# returns without failing or skipping. TestMain calls the verdict routine only when m.Run() returned 0 AND
# every dataset test was noted, so a run filter (an edited os.Args or -test.run) or a skipped test cannot
# pass, and go test's own `--- PASS` lines (which a sample can print, and which lose their line start after
# output without a newline) prove nothing. Every harness name derives from base.PLACEHOLDER (random per
# build). The routine reads the secret from file descriptor 0 only when called (a fresh os.File, whatever a
# sample did to os.Stdin) and writes `<secret> ok TestX` per test and `<secret> done` to fd 1.
TESTMAIN = (
    f"\nvar {PLACEHOLDER}passed = map[string]bool{{}}\n\n"
    f"func {PLACEHOLDER}record(t *testing.T, name string) {{\n"
    f"\tif !t.Failed() && !t.Skipped() {{\n\t\t{PLACEHOLDER}passed[name] = true\n\t}}\n}}\n\n"
    "func TestMain(m *testing.M) {\n\tcode := m.Run()\n"
    f"\tif code == 0 && len({PLACEHOLDER}passed) == len({PLACEHOLDER}tests) {{\n\t\t{PLACEHOLDER}()\n\t}}\n"
    f"\t{PLACEHOLDER}os.Exit(code)\n}}\n\n"
    f"func {PLACEHOLDER}() {{\n"
    f"\tin := {PLACEHOLDER}os.NewFile(0, \"stdin\")\n"
    "\tsecret := make([]byte, 0, 128)\n\tone := make([]byte, 1)\n"
    "\tfor len(secret) < 128 {\n\t\tn, err := in.Read(one)\n"
    "\t\tif n == 0 || err != nil || one[0] == '\\n' || one[0] == '\\r' {\n\t\t\tbreak\n\t\t}\n"
    "\t\tsecret = append(secret, one[0])\n\t}\n"
    "\tout := \"\"\n"
    f"\tfor _, name := range {PLACEHOLDER}tests {{\n"
    f"\t\tif {PLACEHOLDER}passed[name] {{\n\t\t\tout += \"\\n\" + string(secret) + \" ok \" + name + \"\\n\"\n\t\t}}\n\t}}\n"
    f"\t{PLACEHOLDER}os.Stdout.Write([]byte(out + \"\\n\" + string(secret) + \" done\\n\"))\n}}\n"
)
_TEST_FUNC = re.compile(r"^(func\s+(Test\w+)\s*\(\s*t\s+\*testing\.T\s*\)\s*\{)", re.MULTILINE)


def recorded_test(test: str) -> tuple[str, list[str]]:
    """The dataset's test with each `func TestX(t *testing.T) {` recording its own pass; and the names."""
    names = [m.group(2) for m in _TEST_FUNC.finditer(test)]
    text = _TEST_FUNC.sub(lambda m: f'{m.group(1)}\n\tdefer {PLACEHOLDER}record(t, "{m.group(2)}")', test)
    return text, names


GOPATH = "/usr/share/gocode"
_IMPORT_BLOCK = re.compile(r"^\s*import\s*\((.*?)\)\s*", re.DOTALL | re.MULTILINE)
_IMPORT_LINE = re.compile(r'^\s*import\s+"([^"]+)"\s*$', re.MULTILINE)
_STRINGS = re.compile(r'"(?:\\.|[^"\\\n])*"|`[^`]*`|\'(?:\\.|[^\'\\\n])*\'')
_lock = threading.Lock()


def go_env(cache_dir: Path, workdir: Path) -> dict[str, str]:
    return {
        "GOPATH": GOPATH,
        "GO111MODULE": "off",
        "GOCACHE": str(cache_dir / "go" / "cache"),
        "CGO_ENABLED": "0",
        "GOFLAGS": "",
        "GOTMPDIR": str(workdir),
        "GOTOOLCHAIN": "local",
    }


def _paths(block: str) -> list[str]:
    found = re.findall(r'"([^"]+)"', block)
    return found


def _uses(code: str, path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return re.search(rf"(?<![\w.]){re.escape(name)}\.", code) is not None


class Go:
    key = "go"
    batch_size = 8  # programs per sandbox call (one call costs ~0.013 CPU s; a batch of 8 ~1.3 s)
    tools = ("go",)

    def __init__(self) -> None:
        self._direct: tuple[Path, Path, dict[str, str]] | None = None  # (tool dir, importcfg, env)

    def assemble(self, problem: Problem, completion: str) -> Program:
        prompt = problem.prompt
        candidates: list[str] = []
        for match in _IMPORT_BLOCK.finditer(prompt):
            candidates += _paths(match.group(1))
        prompt = _IMPORT_BLOCK.sub("", prompt, count=1)
        candidates += _IMPORT_LINE.findall(prompt)
        prompt = _IMPORT_LINE.sub("", prompt)
        for field in ("import", "test_setup"):
            candidates += _paths(problem.extra.get(field, ""))
        candidates += HELPER_PACKAGES
        test, tests = recorded_test(problem.test)
        code = prompt + completion + "\n" + problem.test
        plain = _STRINGS.sub('""', re.sub(r"//[^\n]*|/\*.*?\*/", " ", code, flags=re.DOTALL))
        keep = [p for p in dict.fromkeys(candidates) if p not in ALWAYS and _uses(plain, p)]
        imports = "".join(f'\t"{p}"\n' for p in (*ALWAYS, *keep))
        imports += f'\t{PLACEHOLDER}os "os"\n'
        source = (
            "package main\n\nimport (\n"
            + imports
            + ")\n\n"
            + prompt.lstrip("\n")
            + completion
            + "\n"
            + test
            + "\n"
            + f"var {PLACEHOLDER}tests = []string{{{', '.join(f'{chr(34)}{n}{chr(34)}' for n in tests)}}}\n"
            + TESTMAIN
        )
        reason = tamper.check("go", completion, problem.test, tamper.allowed_names(problem))
        meta = {"tests": tests, "tampered": reason}
        return Program(self.key, problem.task_id, source, meta=meta)

    def prepare(self, ctx) -> None:
        """Warm the Go build cache with testify and the helper packages (trusted code, no sandbox needed)."""
        self._warm(ctx)
        self._direct = None
        self._toolchain(ctx)

    def _warm(self, ctx) -> None:
        cache = ctx.cache_dir / "go"
        with _lock, cache_lock(ctx.cache_dir, "go"):
            if (cache / "warm").is_file():
                return
            pkg = cache / "warmup" / "w"
            pkg.mkdir(parents=True, exist_ok=True)
            names = [p for p in HELPER_PACKAGES]
            uses = "".join(f'\t"{p}"\n' for p in names)
            refs = "".join(f"var _ = {p.rsplit('/', 1)[-1]}.{_SYMBOL[p]}\n" for p in names)
            (pkg / "w_test.go").write_text(
                'package main\n\nimport (\n\t"testing"\n\t"github.com/stretchr/testify/assert"\n'
                + uses
                + ")\n\n"
                + refs
                + "func TestW(t *testing.T) { assert.Equal(t, 1, 1) }\n"
            )
            env = {
                **go_env(ctx.cache_dir, cache / "warmup"),
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "HOME": str(cache / "warmup"),
            }
            subprocess.run(
                ["go", "test", "-count=1", "-vet=off", "./w"],
                cwd=cache / "warmup",
                env=env,
                check=True,
                capture_output=True,
                timeout=600,
            )
            (cache / "warm").write_text("ok\n")

    def _toolchain(self, ctx) -> tuple[Path, Path, dict[str, str]]:
        """(tool dir, importcfg, sandbox env) of the direct build, prepared once (go_toolchain.py)."""
        if self._direct is None:
            env = {**go_env(ctx.cache_dir, ctx.cache_dir / "go"), "PATH": "/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin",
                   "HOME": str(ctx.cache_dir / "go")}
            with _lock, cache_lock(ctx.cache_dir, "go"):
                folder = go_toolchain.prepare(ctx.cache_dir, env)
            self._direct = (go_toolchain.tool(env, "compile").parent, folder / "importcfg",
                            go_toolchain.toolchain_env(env))
        return self._direct

    def build(self, programs: list[Program], marker: str, workdir: Path, ctx) -> dict[str, Built]:
        built = self._build_batch(programs, marker, workdir, ctx)
        if len(programs) > 1 and any(item.timed_out for item in built.values()):
            # One package hung the compiler: build each alone so the others are not blamed for it.
            for program in programs:
                single = workdir / f"alone-{program.name}"
                single.mkdir()
                built.update(self._build_batch([program], marker, single, ctx))
        return built

    def _build_batch(self, programs: list[Program], marker: str, workdir: Path, ctx) -> dict[str, Built]:
        tools, importcfg, env = self._toolchain(ctx)
        name = new_harness_name()  # one per batch; every binary then runs alone
        for program in programs:
            folder = workdir / program.name
            folder.mkdir(exist_ok=True)
            text = program.text(name)
            (folder / "main_test.go").write_text(text, encoding="utf-8")
            (folder / "testmain.go").write_text(go_toolchain.testmain(go_toolchain.test_names(text)))
        (workdir / "build.sh").write_text(go_toolchain.BUILD_SCRIPT)
        argv = ["/bin/sh", "build.sh", str(tools), str(importcfg), *(p.name for p in programs)]
        start = time.monotonic()
        result = ctx.run(argv, workdir=workdir, limits=batch_limits(ctx.compile_limits, len(programs)), env=env,
                         readonly=(Path(env["GOROOT"]),))
        seconds = (time.monotonic() - start) / len(programs)
        built = {}
        for program in programs:
            folder = workdir / program.name
            binary = folder / "t.test"
            if binary.is_file():
                built[program.sha256] = Built(ok=True, seconds=seconds, files={"t.test": binary})
                continue
            errors = folder / "errors"
            text = errors.read_text(errors="replace") if errors.is_file() else ""
            built[program.sha256] = Built(
                ok=False, seconds=seconds, error=text or text_of(result.stderr) or "not built",
                exit_code=result.returncode, timed_out=result.timed_out)
        return built

    def run_spec(self, program: Program, rundir: Path, ctx) -> RunSpec:
        timeout = max(1, int(ctx.run_limits.wall_seconds))
        return RunSpec(["./t.test", "-test.paniconexit0", f"-test.timeout={timeout}s", "-test.count=1", "-test.v"])

    def evidence_needed(self, program: Program, marker: str) -> tuple[str, ...]:
        return tuple(f"{marker} ok {name}" for name in program.meta.get("tests") or ())

    def verdict(self, program: Program, result, marker: str) -> str:
        """Exit 0 and, from the harness, `<secret> ok TestX` for every test the dataset defines (at least
        one) and `<secret> done`."""
        status = marker_verdict(result, marker, need=self.evidence_needed(program, marker))
        return "failed" if status == "passed" and not program.meta.get("tests") else status


# One exported symbol per warm-up package, so the warm-up file compiles (Go rejects unused imports).
_SYMBOL = {
    "math": "Pi",
    "strings": "Split",
    "fmt": "Sprint",
    "strconv": "Itoa",
    "time": "Now",
    "bytes": "Equal",
    "regexp": "MustCompile",
    "sort": "Ints",
    "math/rand": "Intn",
    "crypto/md5": "Sum",
    "unicode": "IsUpper",
    "errors": "New",
    "reflect": "TypeOf",
    "os": "Exit",
    "encoding/hex": "EncodeToString",
    "container/heap": "Init",
}
