"""Go: `package main` test file with one merged import block, testify in GOPATH mode (offline).

Assembly: the prompt's own import block is removed; the imports are rebuilt from the problem's
`import`/`test_setup` fields plus common standard packages, keeping a package only when the code uses it
(Go refuses unused imports) and always `testing` + testify's assert. This also fixes Go/65, whose
prompt lacks the import block its solution needs. A TestMain prints the marker after the tests pass.

Speed-up: ONE `go test -exec collect` call compiles a whole batch of packages in parallel and only
copies each test binary out (no program code runs during the build); each binary then runs alone in its
own sandbox with `-test.paniconexit0` (os.Exit(0) during a test is a failure). The build cache is warmed
once from trusted code and is read-only for sample builds, so samples cannot poison it.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path

from codegen_cli.evaluate.languages import tamper
from codegen_cli.evaluate.languages.base import (
    PASS_LINE,
    Built,
    Program,
    RunSpec,
    batch_limits,
    marker_verdict,
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
# Package-level variables are initialized before any init() and in declaration order, and this one is
# declared first: the secret is read from stdin before any sample code runs.
SECRET = (
    "var codegenSecret = codegenReadSecret()\n\n"
    "func codegenReadSecret() string {\n\tline, _ := codegenbufio.NewReader(codegenos.Stdin).ReadString('\\n')\n"
    "\treturn codegenstrings.TrimSpace(line)\n}\n\n"
)
TESTMAIN = (
    "\nfunc TestMain(m *testing.M) {\n\tcode := m.Run()\n\tif code == 0 {\n"
    '\t\tcodegenfmt.Println()\n\t\tcodegenfmt.Println(codegenSecret + " done")\n\t}\n\tcodegenos.Exit(code)\n}\n'
)
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
    batch_size = 96
    builds_in_parallel = True  # one `go test -p N` uses every core: fewer, larger batches are faster
    tools = ("go",)

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
        code = prompt + completion + "\n" + problem.test
        plain = _STRINGS.sub('""', re.sub(r"//[^\n]*|/\*.*?\*/", " ", code, flags=re.DOTALL))
        keep = [p for p in dict.fromkeys(candidates) if p not in ALWAYS and _uses(plain, p)]
        imports = "".join(f'\t"{p}"\n' for p in (*ALWAYS, *keep))
        imports += '\tcodegenfmt "fmt"\n\tcodegenos "os"\n\tcodegenbufio "bufio"\n\tcodegenstrings "strings"\n'
        source = (
            "package main\n\nimport (\n"
            + imports
            + ")\n\n"
            + SECRET
            + prompt.lstrip("\n")
            + completion
            + "\n"
            + problem.test
            + "\n"
            + TESTMAIN
        )
        tests = re.findall(r"^func\s+(Test\w+)\s*\(", problem.test, re.MULTILINE)
        meta = {"tests": tests, "tampered": tamper.check("go", completion, problem.test)}
        return Program(self.key, problem.task_id, source, meta=meta)

    def prepare(self, ctx) -> None:
        """Warm the Go build cache with testify and the helper packages (trusted code, no sandbox needed)."""
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
        collect = workdir / "collect.sh"
        collect.write_text('#!/bin/sh\ncp "$1" ./t.test\n')
        collect.chmod(0o755)
        for program in programs:
            (workdir / program.name).mkdir(exist_ok=True)
            (workdir / program.name / "main_test.go").write_text(program.text(), encoding="utf-8")
        argv = ["go", "test", "-count=1", "-vet=off", "-p", str(ctx.jobs), "-exec", str(collect)]
        argv += [f"./{p.name}" for p in programs]
        start = time.monotonic()
        result = ctx.run(
            argv,
            workdir=workdir,
            limits=batch_limits(ctx.compile_limits, len(programs)),
            env=go_env(ctx.cache_dir, workdir),
        )
        seconds = (time.monotonic() - start) / len(programs)
        output = text_of(result.stdout) + "\n" + text_of(result.stderr)
        built = {}
        for program in programs:
            binary = workdir / program.name / "t.test"
            if binary.is_file():
                built[program.sha256] = Built(ok=True, seconds=seconds, files={"t.test": binary})
            else:
                lines = [
                    line for line in output.splitlines() if program.name in line or line.startswith("\t")
                ]
                built[program.sha256] = Built(
                    ok=False,
                    seconds=seconds,
                    error="\n".join(lines) or output,
                    exit_code=result.returncode,
                    timed_out=result.timed_out,
                )
        return built

    def run_spec(self, program: Program, rundir: Path, ctx) -> RunSpec:
        timeout = max(1, int(ctx.run_limits.wall_seconds))
        return RunSpec(["./t.test", "-test.paniconexit0", f"-test.timeout={timeout}s", "-test.count=1", "-test.v"])

    def verdict(self, program: Program, result, marker: str) -> str:
        """Exit 0, the secret after m.Run, and `--- PASS: TestX` for every test the dataset defines (a
        sample cannot filter them away; at least one)."""
        tests = tuple(program.meta.get("tests") or ())
        if not tests:
            return "failed" if marker_verdict(result, marker) == "passed" else marker_verdict(result, marker)
        return marker_verdict(result, marker, need=tuple(f"{PASS_LINE}{name} " for name in tests))


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
