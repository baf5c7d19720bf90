"""STYLE habit 8 / issue 14: no function takes more than 4 positional parameters without a reason.

Past four, callers pass values by position that silently bind to the wrong names when the signature
changes; make the rest keyword-only (`def f(a, b, *, c, d, e)`), or write the reason in a comment
containing `positional:` on the `def` line.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "codegen_cli"
PENDING: set[str] = set()  # nothing may be added: convert the function instead


def _offenders() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            positional = [a for a in node.args.posonlyargs + node.args.args if a.arg not in ("self", "cls")]
            signature = "\n".join(lines[node.lineno - 1: node.body[0].lineno - 1])
            if len(positional) > 4 and "positional:" not in signature:
                found.append(f"{path.relative_to(PACKAGE)}:{node.name}")
    return found


def test_no_function_takes_more_than_four_positional_parameters():
    offenders = _offenders()
    assert sorted(set(offenders) - PENDING) == []
    assert not PENDING - set(offenders), "converted: remove it from PENDING"
