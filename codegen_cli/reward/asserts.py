"""`reward="asserts"`: the fraction of a Python test's assert statements that held, counted by the judge.

Python's tests run in the trusted judge (evaluate/runtime/pyjudge.py), so the count is as forge-proof as
the verdict: the test is rewritten here, before it reaches the judge, so that each `assert COND` becomes a
call of a counting function defined in the judge's trusted code (`COND` evaluated there, in a lambda, so a
failing or raising assert no longer stops the test), and the test ends with a check that raises an
AssertionError carrying `<nonce> passed/total` when any assert failed. The nonce is fresh per program and
is in no text the candidate process receives (it gets only prompt + completion), so a candidate cannot
print or raise a count of its own: the count is read only from the judge's own `assertion failed` reason
with this program's nonce.

Partial credit for failing tests follows CodeRL's and PPOCoder's use of unit-test outcomes as a graded
signal (Le et al. 2022, Shojaee et al. 2023); counting asserts, not test cases, is this project's choice
because HumanEval-style tests are one function of asserts. The verdict's status is unchanged in meaning
(passed only when every assert held and the test ran to its end); a failing program's status can differ
from codegen eval's in the failed kinds (a later call may time out after an earlier assert failed).
"""

from __future__ import annotations

import ast
import re
import secrets
from typing import Any


class _Counted(ast.NodeTransformer):
    def __init__(self, helper: str) -> None:
        self.helper, self.count = helper, 0

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        self.count += 1
        check = ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
                           body=node.test)
        call = ast.Call(func=ast.Name(self.helper, ast.Load()), args=[check], keywords=[])
        return ast.copy_location(ast.Expr(call), node)


def counting_job(job: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """The judge job with a counting test and the nonce its reason carries, or None when the test has no
    assert statement or cannot be rewritten (the program is then scored 1.0/0.0)."""
    nonce = "codegen-asserts-" + secrets.token_hex(12)
    helper, counts, done = f"_{nonce.replace('-', '_')}", f"_{nonce.replace('-', '_')}_n", f"_{nonce.replace('-', '_')}_end"
    test = job["test"] + (f"\ncheck({job['check']})\n" if job.get("check") else "")
    try:
        tree = ast.parse(test)
        rewrite = _Counted(helper)
        tree = ast.fix_missing_locations(rewrite.visit(tree))
        text = ast.unparse(tree)
        compile(text, "test.py", "exec")
    except (SyntaxError, ValueError, RecursionError):
        return None
    if rewrite.count == 0:
        return None
    trusted = job["trusted"] + (
        f"\n{counts} = [0, 0]\n"
        f"def {helper}(check):\n"
        f"    {counts}[1] += 1\n"
        "    try:\n"
        "        held = bool(check())\n"
        "    except Exception:\n"  # a raising candidate fails this assert; the judge's timeout alarm is a BaseException
        "        held = False\n"
        f"    {counts}[0] += held\n"
        f"def {done}():\n"
        f"    if {counts}[0] < {counts}[1]:\n"
        f"        raise AssertionError('{nonce} %d/%d' % tuple({counts}))\n"
    )
    return {**job, "trusted": trusted, "test": text + f"\n{done}()\n", "check": None}, nonce


def fraction(status: str, reason: str, nonce: str) -> tuple[float, str]:
    """(reward, reason) of a counted program: 1.0 when passed; passed/total read from the judge's own
    reason (which then says `k of n asserts held`); 0.0 and the reason unchanged otherwise."""
    if status == "passed":
        return 1.0, reason
    found = re.search(rf"{re.escape(nonce)} (\d+)/(\d+)", reason) if status == "failed" else None
    if found is None or not reason.startswith("assertion failed at "):
        return 0.0, reason
    passed, total = int(found.group(1)), int(found.group(2))
    return (passed / total if total else 0.0), f"{passed} of {total} asserts held"
