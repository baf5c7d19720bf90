"""C++: CodeGeeX's missing includes + prompt + completion + test, compiled by g++ per program.

Speed-up: the headers CodeGeeX adds to every program are precompiled ONCE into the tool cache and
force-included (`-include`), so programs see exactly what CodeGeeX's assembly gives them. The test's
`main` is renamed so a harness `main` can print the marker after it returns: `exit(0)` in the completion
then fails the sample.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

from codegen_cli.evaluate.languages import tamper
from codegen_cli.evaluate.languages.base import (
    Built,
    Program,
    RunSpec,
    marker_verdict,
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
# Read the secret before any sample code: the first dynamic initializer of the translation unit.
PRELUDE = (
    "#include <cstdio>\n#include <cstring>\nstatic char codegen_secret[96];\n"
    "static const bool codegen_secret_read = std::fgets(codegen_secret, sizeof codegen_secret, stdin) != 0;\n"
)
HARNESS = (
    "\n#undef main\n"
    "int main() {\n  codegen_test_main();\n"
    "  codegen_secret[std::strcspn(codegen_secret, \"\\r\\n\")] = 0;\n"
    '  std::fflush(stdout);\n  std::printf("\\n%s done\\n", codegen_secret);\n  std::fflush(stdout);\n'
    "  return 0;\n}\n"
)
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
            + "#undef NDEBUG\n#include <assert.h>\n#define main codegen_test_main\n"
            + problem.test
            + HARNESS
        )
        meta = {"tampered": tamper.check("cpp", completion, problem.test)}
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
            source.write_text(program.text(), encoding="utf-8")
            binary = workdir / program.name
            argv = ["g++", *FLAGS, "-Winvalid-pch", "-include", str(header), source.name, "-o", binary.name]
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
