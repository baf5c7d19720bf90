"""Python: prompt + completion + test, run by the evaluator's own interpreter in a fresh process.

Like CodeGeeX, common standard-library imports are put first (numpy only when the program mentions it:
importing it costs ~0.1 s per program). human-eval problems (`entry_point`, no `check(...)` call) get the
call appended. The marker is printed after the tests return.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from codegen_cli.evaluate.languages import tamper
from codegen_cli.evaluate.languages.base import Built, Program, RunSpec, marker_verdict
from codegen_cli.evaluate.problems import Problem

IMPORTS = (
    "import math\nimport re\nimport sys\nimport copy\nimport datetime\nimport itertools\nimport collections\n"
    "import heapq\nimport statistics\nimport functools\nimport hashlib\nimport string\n"
    "from typing import *\nfrom collections import *\n"
)


class Python:
    key = "python"
    batch_size = 1
    tools = ("python3",)

    def assemble(self, problem: Problem, completion: str) -> Program:
        body = problem.prompt + completion + "\n" + problem.test + "\n"
        entry = problem.extra.get("entry_point")
        if entry and not re.search(r"^check\(", problem.test, re.MULTILINE):
            body += f"check({entry})\n"
        head = IMPORTS + (
            "import numpy\nimport numpy as np\n" if re.search(r"\bnumpy\b|\bnp\.", body) else ""
        )
        # the secret is read from stdin before any sample code and kept in a closure; written with os.write
        # (a sample that replaced print or sys.stdout does not reach it)
        prelude = ("_codegen_done = (lambda secret, write: lambda: write(1, b'\\n' + secret + b' done\\n'))("
                   "__import__('sys').stdin.buffer.readline().strip(), __import__('os').write)\n")
        reason = tamper.check("python", completion, problem.test)
        return Program(self.key, problem.task_id, prelude + head + body + "\n_codegen_done()\n",
                       meta={"tampered": reason})

    def prepare(self, ctx) -> None:
        return None

    def build(self, programs: list[Program], marker: str, workdir: Path, ctx) -> dict[str, Built]:
        built = {}
        for program in programs:
            path = workdir / f"{program.name}.py"
            path.write_text(program.text(), encoding="utf-8")
            built[program.sha256] = Built(ok=True, seconds=0.0, files={"main.py": path})
        return built

    def run_spec(self, program: Program, rundir: Path, ctx) -> RunSpec:
        prefixes = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
        return RunSpec([sys.executable, "-I", "main.py"], {"PYTHONDONTWRITEBYTECODE": "1"}, tuple(prefixes))

    def verdict(self, program: Program, result, marker: str) -> str:
        return marker_verdict(result, marker)
