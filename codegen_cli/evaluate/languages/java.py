"""Java: prompt + completion + test (`public class Main`) per program, each in its own package.

Speed-up (DESIGN.md §5): ONE javac call compiles a whole batch (javac start-up is most of the cost),
with a class-data-sharing archive for javac itself built once; then every program runs in its own JVM,
own scratch dir holding only its own classes. javac runs no program code (`-proc:none`). A harness class
calls Main.main and only after it returns reads the run's secret and prints it, so System.exit(0) in the
completion, or a test that throws, fails the sample.
When the batch does not compile, the files javac names are compile errors and the rest is recompiled;
anything still unattributed is compiled one by one.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path

from codegen_cli.evaluate.languages import tamper
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
from codegen_cli.evaluate.languages.context import cache_lock, tool_key
from codegen_cli.evaluate.languages.lexing import blank_literals
from codegen_cli.evaluate.problems import Problem

RUNNER = "CodegenRunner"
# Calls Main.main; only when it returns (every test passed) does it call the verdict routine, which has a
# random name (base.PLACEHOLDER) and reads the secret from file descriptor 0 itself (immune to
# System.setIn), then writes `<secret> done` to descriptor 1. Every name is spelled out from `java.`, so no
# sample class can shadow it (a sample class named `java` is refused by the tamper check).
HARNESS = (
    "\nclass " + RUNNER + " {\n  public static void main(java.lang.String[] args) throws java.lang.Throwable {\n"
    f"    Main.main(args);\n    {PLACEHOLDER}();\n  }}\n"
    f"  private static void {PLACEHOLDER}() throws java.io.IOException {{\n"
    "    java.io.InputStream in = new java.io.FileInputStream(java.io.FileDescriptor.in);\n"
    "    java.lang.StringBuilder secret = new java.lang.StringBuilder();\n"
    "    for (int c = in.read(); c >= 0 && c != '\\n' && c != '\\r' && secret.length() < 128; c = in.read()) {\n"
    "      secret.append((char) c);\n    }\n"
    "    java.lang.System.out.flush();\n"
    "    java.io.FileOutputStream out = new java.io.FileOutputStream(java.io.FileDescriptor.out);\n"
    '    out.write(("\\n" + secret + " done\\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));\n'
    "    out.flush();\n  }\n}\n"
)
HARNESS_NAMES = {"java", "Main", "System", "String", "Throwable", RUNNER}
# Every JDK class the 164 tests name, spelled out in the test, so a sample class of the same simple name in
# its package (which would win over `import java.util.*`) cannot stand in for it.
QUALIFIED = {
    **{name: f"java.util.{name}" for name in ("Arrays", "ArrayList", "List", "Objects", "Optional", "Map",
                                              "HashMap", "Random", "HashSet", "Set", "Collections")},
    **{name: f"java.lang.{name}" for name in ("String", "AssertionError", "Boolean", "Object", "Integer",
                                              "Math", "StringBuilder", "Double", "Long", "Character")},
    "NoSuchAlgorithmException": "java.security.NoSuchAlgorithmException",
}


def qualify_test(test: str) -> str:
    """The test with each JDK class in QUALIFIED spelled out (code only: literals and comments untouched)."""
    flat = blank_literals(test, "java")
    names = "|".join(QUALIFIED)
    pieces, last = [], 0
    for match in re.finditer(rf"(?<![.\w$])({names})\b(?!\s*\.\s*class\b)", flat):
        pieces += [test[last:match.start()], QUALIFIED[match.group(1)]]
        last = match.end()
    return "".join(pieces) + test[last:]
_IMPORT_LINE = re.compile(r"^[ \t]*import[ \t]+(?:static[ \t]+)?[\w$]+(?:[ \t]*\.[ \t]*[\w$]+)*"
                          r"(?:[ \t]*\.[ \t]*\*)?[ \t]*;[ \t]*$")


def hoist_imports(completion: str) -> tuple[str, str]:
    """(the completion's `import` lines, the completion without them). The completion follows the prompt
    inside `class Solution`, where Java allows no import, so a reply's own imports (`java.util.stream.*`
    for Collectors) move to the top of the file; code lines only (a line in a literal or comment stays)."""
    lines = completion.splitlines(keepends=True)
    code = blank_literals(completion, "java").splitlines(keepends=True)
    if len(code) != len(lines):
        return "", completion
    hoisted = [i for i, (line, bare) in enumerate(zip(lines, code)) if _IMPORT_LINE.match(line.rstrip("\r\n"))
               and _IMPORT_LINE.match(bare.rstrip("\r\n"))]
    if not hoisted:
        return "", completion
    imports = "".join(lines[i].strip() + "\n" for i in hoisted)
    return imports, "".join(line for i, line in enumerate(lines) if i not in set(hoisted))


# Start-up tuned JVM: C1 only, serial GC, no perf-data file; tests are tiny and short. The small code
# cache and class space keep the JVM's reserved (virtual) memory well under the address-space limit.
JVM_FLAGS = (
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-XX:-UsePerfData",
    "-Xss16m",
    "-XX:ReservedCodeCacheSize=64m",
    "-XX:CompressedClassSpaceSize=128m",
)

# A test run's JVM only: C1 compiles a method after 10x the usual invocations and loop iterations. Most of
# what a short run compiled was the JDK's own start-up code, run a few hundred times and never again: 18 %
# less CPU per run (20 canonical solutions, 0.069 -> 0.056 CPU s, cgroup, load 12), while a hot loop in a
# sample is still compiled (on-stack) after about 600,000 iterations. (-Xint saves a little more but runs
# a compute-heavy sample 10-50x slower, into its time limit.) javac keeps the defaults: one long process.
RUN_FLAGS = ("-XX:CompileThresholdScaling=10",)


def heap_mb(limits) -> int:
    """Max heap: a third of the address-space limit (the JVM reserves more than its heap), at most 1 GiB."""
    if not limits.memory_bytes:
        return 1024
    return max(64, min(1024, (limits.memory_bytes >> 20) // 3))


_lock = threading.Lock()


def _jsa(cache_dir: Path) -> Path:
    return cache_dir / "java" / tool_key("javac", "-version") / "javac.jsa"


def _javac_argv(cache_dir: Path, heap: int) -> list[str]:
    argv = ["javac", *(f"-J{flag}" for flag in JVM_FLAGS if flag != "-Xss16m"), f"-J-Xmx{heap}m"]
    if _jsa(cache_dir).is_file():
        argv.append(f"-J-XX:SharedArchiveFile={_jsa(cache_dir)}")
    return argv + ["-proc:none", "-nowarn", "-encoding", "UTF-8", "-d", "out"]


class Java:
    key = "java"
    batch_size = 64
    tools = ("javac", "java")

    def assemble(self, problem: Problem, completion: str) -> Program:
        imports, completion = hoist_imports(completion)
        body = imports + problem.prompt + completion + "\n" + qualify_test(problem.test) + "\n"
        reason = tamper.check("java", completion, problem.test + " " + " ".join(HARNESS_NAMES),
                              tamper.allowed_names(problem))
        return Program(self.key, problem.task_id, body + HARNESS, meta={"tampered": reason})

    def _source(self, program: Program, name: str) -> str:
        return f"package {program.name};\n" + program.text(name)

    def prepare(self, ctx) -> None:
        """Record javac's class list into a CDS archive once (halves javac start-up)."""
        jsa = _jsa(ctx.cache_dir)
        with _lock, cache_lock(ctx.cache_dir, "java"):
            if jsa.is_file():
                return
            folder = jsa.parent / "warmup"
            (folder / "p").mkdir(parents=True, exist_ok=True)
            (folder / "p" / "Main.java").write_text(
                "package p;\nimport java.util.*;\npublic class Main { public static void main(String[] a) {"
                " List<Integer> x = new ArrayList<>(Arrays.asList(1, 2)); System.out.println(x); } }\n"
            )
            tmp = jsa.with_suffix(".tmp")
            subprocess.run(
                [
                    "javac",
                    f"-J-XX:ArchiveClassesAtExit={tmp}",
                    "-d",
                    str(folder / "out"),
                    str(folder / "p" / "Main.java"),
                ],
                check=True,
                capture_output=True,
                timeout=300,
            )
            tmp.rename(jsa)

    def build(self, programs: list[Program], marker: str, workdir: Path, ctx) -> dict[str, Built]:
        name = new_harness_name()  # one per javac batch; every program's classes are run alone
        for program in programs:
            (workdir / program.name).mkdir(exist_ok=True)
            (workdir / program.name / "Main.java").write_text(self._source(program, name), encoding="utf-8")
        built: dict[str, Built] = {}
        pending = list(programs)
        for _attempt in range(3):
            if not pending:
                return built
            rest = self._compile(pending, workdir, ctx, built)
            if len(rest) == len(pending):  # javac blamed no file we can attribute
                break
            pending = rest
        for program in pending:  # still undecided: compile one by one
            self._compile([program], workdir, ctx, built, single=True)
        return built

    def _compile(
        self, programs: list[Program], workdir: Path, ctx, built: dict[str, Built], *, single: bool = False
    ) -> list[Program]:
        """Compile a group; fill `built` for what is decided and return the programs left to retry."""
        files = [f"{p.name}/Main.java" for p in programs]
        start = time.monotonic()
        result = ctx.run(
            _javac_argv(ctx.cache_dir, heap_mb(ctx.compile_limits)) + files,
            workdir=workdir,
            limits=batch_limits(ctx.compile_limits, len(programs)),
        )
        seconds = (time.monotonic() - start) / len(programs)
        stderr = text_of(result.stderr) + text_of(result.stdout)
        if result.returncode == 0:
            for program in programs:
                built[program.sha256] = self._artifacts(program, workdir, seconds)
            return []
        if single:
            program = programs[0]
            built[program.sha256] = Built(
                ok=False,
                seconds=seconds,
                error=stderr,
                exit_code=result.returncode,
                timed_out=result.timed_out,
            )
            return []
        blamed = set(re.findall(r"^(p[0-9a-f]{20})/Main\.java:\d+: error", stderr, re.MULTILINE))
        rest = []
        for program in programs:
            if program.name in blamed:
                errors = "\n".join(
                    line
                    for line in stderr.splitlines()
                    if program.name in line or not re.match(r"^p[0-9a-f]{20}/", line)
                )
                built[program.sha256] = Built(
                    ok=False, seconds=seconds, error=errors, exit_code=result.returncode
                )
            else:
                rest.append(program)
        return rest

    @staticmethod
    def _artifacts(program: Program, workdir: Path, seconds: float) -> Built:
        classes = sorted((workdir / "out" / program.name).glob("*.class"))
        if not classes:
            return Built(ok=False, seconds=seconds, error="javac produced no classes")
        return Built(ok=True, seconds=seconds, files={f"{program.name}/{c.name}": c for c in classes})

    def run_spec(self, program: Program, rundir: Path, ctx) -> RunSpec:
        heap = f"-Xmx{heap_mb(ctx.run_limits)}m"
        return RunSpec(["java", *JVM_FLAGS, *RUN_FLAGS, heap, "-cp", ".", f"{program.name}.{RUNNER}"])

    def verdict(self, program: Program, result, marker: str) -> str:
        return marker_verdict(result, marker)
