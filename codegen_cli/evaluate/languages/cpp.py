"""C++: CodeGeeX's missing includes + prompt + completion + test, compiled by g++ per program.

Speed-up: the headers CodeGeeX adds to every program are precompiled ONCE into the tool cache and
force-included (`-include`), so programs see exactly what CodeGeeX's assembly gives them. The test's
`main` is renamed so a harness `main` can call the verdict routine after it returns: `exit(0)` in the
completion then fails the sample, and so does any path that does not come back from the test's main.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from pathlib import Path

from codegen_cli.evaluate.languages import tamper
from codegen_cli.evaluate.languages.base import (
    PLACEHOLDER,
    Built,
    Program,
    RunSpec,
    marker_verdict,
    new_harness_name,
    undef_test_names,
)
from codegen_cli.evaluate.languages.context import cache_lock, tool_key
from codegen_cli.evaluate.problems import Problem

# CodeGeeX adds each of these unless the prompt already includes it.
HELPER_HEADERS = (
    "stdlib.h",
    "algorithm",
    "math.h",
    "stdio.h",
    "vector",
    "string",
    "climits",
    "cstring",
    "iostream",
)
FLAGS = ("-std=c++17", "-O0", "-pipe", "-w")  # -O0: tests are tiny; compile time dominates
LINK = ("-s",)  # no symbol table: the harness's routines have no name in the binary either
# The verdict routine comes FIRST, so no macro a sample defines can reach its text, and it is static with a
# random name (base.PLACEHOLDER), so no sample code can name it. It reads the secret from fd 0 only when
# called, which main does after the test's own main returned: a failed assert aborts before.
PRELUDE = (
    "#include <unistd.h>\n#include <cstdio>\n#include <cstring>\n#include <iostream>\n"
    f"static void {PLACEHOLDER}() {{\n"
    "  char secret[128]; size_t got = 0;\n"
    "  while (got < sizeof secret - 1) {\n"
    "    ssize_t n = ::read(0, secret + got, sizeof secret - 1 - got);\n"
    "    if (n <= 0) break;\n    got += (size_t)n;\n"
    "    if (std::memchr(secret, '\\n', got)) break;\n  }\n"
    "  size_t len = 0;\n  while (len < got && secret[len] != '\\n' && secret[len] != '\\r') ++len;\n"
    "  std::fflush(stdout); std::cout.flush();\n"
    "  char line[160];\n"
    '  int size = std::snprintf(line, sizeof line, "\\n%.*s done\\n", (int)len, secret);\n'
    "  if (size > 0 && ::write(1, line, (size_t)size) < 0) {}\n}\n"
    # The test's assert: a failed one writes what failed and traps (an instruction, not a libc call a
    # sample could interpose with its own extern "C" __assert_fail or abort).
    f"static void {PLACEHOLDER}_fail(const char* what) {{\n"
    '  static const char head[] = "Assertion failed: ";\n'
    "  if (::write(2, head, sizeof head - 1) < 0 || ::write(2, what, std::strlen(what)) < 0"
    ' || ::write(2, "\\n", 1) < 0) {}\n'
    "  __builtin_trap();\n}\n"
)
ASSERT = f"#define assert(e) (static_cast<bool>(e) ? (void)0 : {PLACEHOLDER}_fail(#e))\n"
_ASSERT_INCLUDE = re.compile(r"^[ \t]*#[ \t]*include[ \t]*<[ \t]*(?:assert\.h|cassert)[ \t]*>[ \t]*$", re.MULTILINE)
HARNESS = f"\n#undef main\nint main() {{\n  {PLACEHOLDER}_tests();\n  {PLACEHOLDER}();\n  return 0;\n}}\n"
_lock = threading.Lock()
_GOLD = shutil.which("ld.gold") is not None


def pch_dir(cache_dir: Path) -> Path:
    return cache_dir / "cpp" / tool_key("g++", "--version")


class Cpp:
    key = "cpp"
    batch_size = 1
    tools = ("g++",)

    def assemble(self, problem: Problem, completion: str) -> Program:
        includes = "".join(
            f"#include<{h}>\n" for h in HELPER_HEADERS if f"#include<{h}>" not in problem.prompt
        )
        source = (
            PRELUDE
            + includes
            + "\n"
            + problem.prompt
            + completion
            + "\n"
            + undef_test_names(problem.test, completion)
            + ASSERT
            + f"#define main {PLACEHOLDER}_tests\n"
            + _ASSERT_INCLUDE.sub("", problem.test)
            + HARNESS
        )
        meta = {"tampered": tamper.check("cpp", completion, problem.test, tamper.allowed_names(problem))}
        return Program(self.key, problem.task_id, source, meta=meta)

    def prepare(self, ctx) -> None:
        """Build the precompiled header (trusted input, same flags as the programs) once."""
        folder = pch_dir(ctx.cache_dir)
        with _lock, cache_lock(ctx.cache_dir, "cpp"):
            if (folder / "he.h.gch").is_file():
                return
            folder.mkdir(parents=True, exist_ok=True)
            header = folder / "he.h"
            header.write_text("".join(f"#include <{h}>\n" for h in HELPER_HEADERS))
            tmp = folder / "he.h.gch.tmp"
            subprocess.run(
                ["g++", *FLAGS, "-x", "c++-header", str(header), "-o", str(tmp)],
                check=True,
                capture_output=True,
                timeout=300,
            )
            tmp.rename(folder / "he.h.gch")

    def build(self, programs: list[Program], marker: str, workdir: Path, ctx) -> dict[str, Built]:
        built = {}
        header = pch_dir(ctx.cache_dir) / "he.h"
        for program in programs:
            source = workdir / f"{program.name}.cpp"
            source.write_text(program.text(new_harness_name()), encoding="utf-8")
            binary = workdir / program.name
            argv = ["g++", *FLAGS, "-Winvalid-pch", "-include", str(header), source.name, *LINK, "-o", binary.name]
            if "openssl" in program.source:
                argv += ["-lcrypto"]
            if _GOLD:
                argv.insert(1, "-fuse-ld=gold")  # links in about half the time of ld.bfd
            result = ctx.run(argv, workdir=workdir, limits=ctx.compile_limits)
            built[program.sha256] = Built.from_compile(result, binary)
        return built

    def run_spec(self, program: Program, rundir: Path, ctx) -> RunSpec:
        return RunSpec(["./main"])

    def verdict(self, program: Program, result, marker: str) -> str:
        return marker_verdict(result, marker)
