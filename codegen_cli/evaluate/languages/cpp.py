"""C++: CodeGeeX's missing includes + prompt + completion + test, compiled by g++ per program.

Speed-up: the headers CodeGeeX adds to every program are precompiled ONCE into the tool cache and
force-included (`-include`), so programs see exactly what CodeGeeX's assembly gives them. Two more things
are done once there, from trusted inputs only (issue 16; CPU per program measured on 40 canonical
solutions, no sandbox: 0.162 s -> 0.116 s):
- C++17's special math functions (std::riemann_zeta, std::assoc_laguerre, ...) are left out of the
  header: each of their inline wrappers made every program instantiate the template behind it (0.022 s
  per program even when unused). CodeGeeX compiles with -std=c++11, which has none of them either.
- The std::vector and std::string instantiations the programs use most (EXTERN below) are declared
  `extern template` in the header and compiled once into `libhe.a`, linked into every program: a program
  no longer compiles and assembles its own copies (another 0.025 s). The archive holds only instantiations
  of the standard library's templates, never sample code.
A batch of programs is compiled in one sandbox call (batch.py), each by its own g++ process. The test's
`main` is renamed so a harness `main` can call the verdict routine after it returns: `exit(0)` in the
completion then fails the sample, and so does any path that does not come back from the test's main.
"""

from __future__ import annotations

import hashlib
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
from codegen_cli.evaluate.languages.batch import Step, build_binaries
from codegen_cli.evaluate.languages.context import cache_lock, tool_key
from codegen_cli.evaluate.languages.cpp_instances import EXTERN, TIERS
from codegen_cli.evaluate.languages.lexing import blank_literals
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
# The linker: about a third of a program's CPU is its link. Measured on 20 canonical solutions' objects (CPU
# s per link, cgroup): ld.gold 0.035 with GCC's LTO plugin loaded, 0.030 without it; mold on one thread
# without its background fork 0.024 (its default thread pool and fork only add CPU for links this small).
# ld.bfd takes about twice gold's time.
if shutil.which("ld.mold"):
    LINKER: tuple[str, ...] = ("-fuse-ld=mold", "-Wl,--threads=1", "-Wl,--no-fork", "-fno-use-linker-plugin")
elif shutil.which("ld.gold"):
    LINKER = ("-fuse-ld=gold", "-fno-use-linker-plugin")
else:
    LINKER = ("-fno-use-linker-plugin",)
# libstdc++'s switch for C++17's special math functions (bits/c++config.h), turned off before any header
NO_SPECIAL_MATH = "#include <bits/c++config.h>\n#undef _GLIBCXX_USE_STD_SPEC_FUNCS\n"


_SYSTEM_INCLUDE = re.compile(r"^[ \t]*#[ \t]*include[ \t]*<[ \t]*[\w+/.-]+[ \t]*>[ \t]*$")


def hoist_includes(completion: str) -> tuple[str, str]:
    """(the completion's `#include <header>` lines, the completion without them). The completion starts
    inside the target function, so a header a reply includes for it (`<numeric>` for std::accumulate,
    `<map>`, `<set>`) would come after the code that needs it; it moves before the prompt instead (after
    the verdict routine, which no header can reach). Code lines only; `<...>` headers only (the tamper
    check refuses any other include)."""
    lines = completion.splitlines(keepends=True)
    code = blank_literals(completion, "cpp").splitlines(keepends=True)
    if len(code) != len(lines):
        return "", completion
    hoisted = {i for i, (line, bare) in enumerate(zip(lines, code)) if _SYSTEM_INCLUDE.match(line.rstrip("\r\n"))
               and _SYSTEM_INCLUDE.match(bare.rstrip("\r\n"))}
    if not hoisted:
        return "", completion
    return ("".join(lines[i].strip() + "\n" for i in sorted(hoisted)),
            "".join(line for i, line in enumerate(lines) if i not in hoisted))


def header_text(extern: tuple[str, ...] = EXTERN) -> str:
    """The force-included header: CodeGeeX's helper headers + `extern template` for each of `extern`."""
    text = NO_SPECIAL_MATH + "".join(f"#include <{h}>\n" for h in HELPER_HEADERS)
    return text + "".join(f"extern template {e};\n" for e in extern)


def pch_dir(cache_dir: Path) -> Path:
    """Keyed by the g++ version and the header's text (a change of either builds a new entry)."""
    key = hashlib.sha256(header_text().encode()).hexdigest()[:8]
    return cache_dir / "cpp" / f"{tool_key('g++', '--version')}-{key}"


class Cpp:
    key = "cpp"
    batch_size = 8  # programs per sandbox call (batch.py)
    tools = ("g++",)

    def assemble(self, problem: Problem, completion: str) -> Program:
        includes = "".join(
            f"#include<{h}>\n" for h in HELPER_HEADERS if f"#include<{h}>" not in problem.prompt
        )
        own, body = hoist_includes(completion)
        source = (
            PRELUDE
            + includes
            + own
            + "\n"
            + problem.prompt
            + body
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
        """Build the precompiled header and libhe.a (trusted input, the programs' flags) once. When this g++
        and libstdc++ reject a list of extern declarations (internal names differ between versions), the
        next of cpp_instances.TIERS is tried, down to none."""
        folder = pch_dir(ctx.cache_dir)
        with _lock, cache_lock(ctx.cache_dir, "cpp"):
            if (folder / "he.h.gch").is_file():
                return
            folder.mkdir(parents=True, exist_ok=True)
            for extern in TIERS:  # the first list this g++ and libstdc++ accept (the last is empty)
                try:
                    self._build_entry(folder, extern=extern)
                    return
                except subprocess.CalledProcessError:
                    (folder / "libhe.a").unlink(missing_ok=True)
                    if not extern:
                        raise

    @staticmethod
    def _build_entry(folder: Path, *, extern: tuple[str, ...]) -> None:
        def gxx(*args: str) -> None:
            subprocess.run(["g++", *FLAGS, *args], check=True, capture_output=True, timeout=300, cwd=folder)

        (folder / "he.h").write_text(header_text(extern))
        gxx("-x", "c++-header", "he.h", "-o", "he.h.gch.tmp")
        if extern:
            (folder / "he.cpp").write_text("".join(f"template {e};\n" for e in extern))
            gxx("-include", "he.h", "-c", "he.cpp", "-o", "he.o")
            subprocess.run(["ar", "rcs", "libhe.a.tmp", "he.o"], check=True, capture_output=True, cwd=folder)
            (folder / "probe.cpp").write_text(
                "int main() { std::vector<int> v{1}; std::vector<std::string> s{\"a\"}; "
                "return (int)v.size() + (int)s.size() + std::stoi(\"-2\") + (int)std::stod(\"0.5\"); }\n")
            gxx("-include", "he.h", "probe.cpp", "libhe.a.tmp", "-o", "probe")
            subprocess.run(["./probe"], check=True, capture_output=True, timeout=60, cwd=folder)
            for name in ("he.o", "probe", "probe.cpp"):
                (folder / name).unlink()
            (folder / "libhe.a.tmp").rename(folder / "libhe.a")
        (folder / "he.h.gch.tmp").rename(folder / "he.h.gch")

    def build(self, programs: list[Program], marker: str, workdir: Path, ctx) -> dict[str, Built]:
        folder = pch_dir(ctx.cache_dir)
        archive = [str(folder / "libhe.a")] if (folder / "libhe.a").is_file() else []
        steps = []
        for program in programs:
            (workdir / f"{program.name}.cpp").write_text(program.text(new_harness_name()), encoding="utf-8")
            argv = ["g++", *LINKER, *FLAGS, "-Winvalid-pch", "-include", str(folder / "he.h"), f"{program.name}.cpp",
                    *archive, *LINK, "-o", program.name]
            if "openssl" in program.source:
                argv += ["-lcrypto"]
            steps.append(Step(program.name, argv))
        return build_binaries(programs, steps, workdir, ctx)

    def run_spec(self, program: Program, rundir: Path, ctx) -> RunSpec:
        return RunSpec(["./main"])

    def verdict(self, program: Program, result, marker: str) -> str:
        return marker_verdict(result, marker)
