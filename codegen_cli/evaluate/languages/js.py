"""JavaScript: the candidate (prompt + completion) runs sandboxed in node; the dataset's test runs in a
trusted node judge outside the sandbox and reaches the candidate's functions through proxies that carry
plain data only (runtime/jsjudge.js, runtime/jsrunner.js, docs/sandbox.md "Process model").

The proxies: the function under test (the prompt's last top-level declaration, left open for the
completion) and any other function the test calls that only the completion defines. The prompt's own
helpers (JavaScript/10 `isPalindrome`, /32 `poly`, /38 `encodeCyclic`, /50 `encodeShift`) run in the
judge, from the prompt's text. The judge's `console.assert` throws (HumanEval-X's tests use it, and node's
only prints). JavaScript/162 needs the npm package js-md5: installed once into the tool cache
(`<cache>/js/node_modules`), which candidates see read-only through NODE_PATH.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from codegen_cli.evaluate.languages.base import Built, Program
from codegen_cli.evaluate.problems import Problem
from codegen_cli.evaluate.runtime.language import WarmLanguage

TOP_LEVEL = re.compile(r"^(?:async\s+)?(?:function\s*\*?|const|let|var|class)\s*([A-Za-z_$][\w$]*)", re.MULTILINE)
IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
# Globals a test may use that a proxy must never replace, even if a completion declares one of the name.
GLOBALS = frozenset(("console", "JSON", "Math", "Object", "Array", "String", "Number", "Boolean", "Symbol",
                     "BigInt", "Date", "RegExp", "Error", "TypeError", "RangeError", "Map", "Set", "Promise",
                     "parseInt", "parseFloat", "isNaN", "isFinite", "undefined", "NaN", "Infinity",
                     "require", "module", "exports", "globalThis"))
SMOKE = ({"kind": "node", "trusted": "", "test": "console.assert(f(20) === 41);\n", "names": ["f"],
          "timeout": 30.0}, "function f(x) {\n  return 2 * x + 1;\n}\n")


def js_deps_dir(cache_dir: Path) -> Path:
    return cache_dir / "js"


def judge_plan(prompt: str, test: str, completion: str) -> dict[str, Any]:
    """The judge's trusted code (the prompt up to its last top-level declaration, which the completion
    finishes), the names it proxies, and the test."""
    declarations = list(TOP_LEVEL.finditer(prompt))
    if not declarations:
        return {"trusted": "", "test": test, "names": []}
    last = declarations[-1]
    entry = last.group(1)
    helpers = {m.group(1) for m in declarations[:-1]}
    test_defines = {m.group(1) for m in TOP_LEVEL.finditer(test)}
    used = set(IDENTIFIER.findall(test))
    own = {m.group(1) for m in TOP_LEVEL.finditer(completion)}
    extra = sorted((used & own) - helpers - test_defines - GLOBALS - {entry})
    return {"trusted": prompt[: last.start()], "test": test, "names": [entry, *extra]}


class JavaScript(WarmLanguage):
    key = "js"
    batch_size = 1
    tools = ("node",)

    def assemble(self, problem: Problem, completion: str) -> Program:
        candidate = problem.prompt + completion + "\n"
        job = {"kind": "node", **judge_plan(problem.prompt, problem.test, completion)}
        if job["names"] and problem.canonical_solution:  # the judge's reference for the non-finite rule
            job["reference"] = problem.prompt + problem.canonical_solution + "\n"
            job["entry"] = job["names"][0]
        # the whole program as CodeGeeX would run it: the result cache key, and a runnable file for tools
        return Program(self.key, problem.task_id, candidate + problem.test + "\n",
                       meta={"candidate": candidate, "job": job})

    def prepare(self, ctx) -> None:
        return None  # js-md5 is installed by the preflight/CI step (npm), not here

    def build(self, programs: list[Program], marker: str, workdir: Path, ctx) -> dict[str, Built]:
        return {program.sha256: Built(ok=True, seconds=0.0) for program in programs}

    def make_pool(self, ctx) -> Any:
        from codegen_cli.evaluate.runtime.client import RuntimePool, node_runner_source
        from codegen_cli.evaluate.sandbox import MINIMAL_ENV

        node = shutil.which("node", path=MINIMAL_ENV["PATH"]) or "node"
        return RuntimePool(ctx.sandbox, ctx.run_limits, kind="node",
                           env={"NODE_PATH": str(js_deps_dir(ctx.cache_dir) / "node_modules")},
                           readonly=(ctx.cache_dir,), node={"path": node, "args": [], "runner": node_runner_source()},
                           external=_single_command, smoke=SMOKE)


def _single_command(job: dict[str, Any], chan_fd: int) -> list[str]:
    """The per-program fallback: a fresh node serving one candidate on `chan_fd`."""
    from codegen_cli.evaluate.runtime.client import node_runner_source

    return ["node", "-e", node_runner_source(), str(chan_fd)]
