"""`codegen eval`: its help text and its reports (the options come from EvalConfig and its parts)."""

from __future__ import annotations

from typing import Any

from codegen_cli.cli._common import examples
from codegen_cli.output import console

DOC = """Score HumanEval-X samples, or generate them with a model first, sandboxed, with pass@k.

Three ways in: --samples FILE (samples made elsewhere), --model PATH (generate, then score) and
--check-references (the canonical solutions, which must pass). --task translate scores code
translation between languages (a source x target pass@k matrix). See docs/eval.md.
""" + examples(
    "codegen eval --samples samples.jsonl -l python,cpp -k 1,10 --allow-code-execution -o results/",
    "codegen eval --check-references -o refs/",
    "codegen eval --check-references --problems THUDM/humaneval-x -l rust -o refs-hub/",
    "codegen eval --model run/hf -l python,cpp -n 20 --temperature 0.8 -k 1,10 "
    "--allow-code-execution -o results/",
    "codegen eval --task translate --source-language python -l cpp,java,js,go,rust --model run/hf -n 20 "
    "-k 1,10 --allow-code-execution -o translate/",
)


def render(outcome: Any) -> None:
    """Render what an `evaluate` call did: the translation matrix, or the pass@k table."""
    if outcome.translation is not None:
        from codegen_cli.evaluate.translation import render_matrix

        render_matrix(outcome.translation)
    elif outcome.scoring is not None:
        render_scores(outcome.scoring)


def render_scores(summary: Any) -> None:
    """The Rich table on stderr: pass@k and status counts per language, then overall."""
    from rich.table import Table

    ks = [f"pass@{k}" for k in summary.ks]
    table = Table(title=f"codegen eval ({summary.mode}, sandbox: {summary.sandbox_tier})")
    for column in ("language", "problems", "samples", *ks, "statuses"):
        table.add_column(column, justify="left" if column in ("language", "statuses") else "right")

    def row(name: str, block: dict) -> None:
        values = [f"{100 * block['pass_at_k'][k]:.2f}" if k in block["pass_at_k"] else "-" for k in ks]
        statuses = " ".join(f"{s}={n}" for s, n in block["statuses"].items())
        table.add_row(name, str(block["problems"]), str(block["samples"]), *values, statuses)

    for language, block in summary.per_language.items():
        row(language, block)
    row(
        "overall",
        {
            "problems": summary.problems,
            "samples": summary.samples,
            "pass_at_k": summary.pass_at_k,
            "statuses": summary.statuses,
        },
    )
    out = console()
    out.print(table)
    refs = summary.references
    if refs:
        out.print(f"canonical solutions: {refs['passed']}/{refs['total']} passed")
        for bug in refs["known_bugs"]:
            out.print(
                f"  known data bug {bug['task_id']} ({bug['expect']}): {bug['status']} - {bug['reason']}"
            )
        for item in refs["unexpected_failures"]:
            out.print(f"  [red]UNEXPECTED[/red] {item['task_id']}: {item['status']}")
    out.print(
        f"programs run: {summary.programs_run}, reused from cache: {summary.programs_cached}; "
        f"{summary.seconds:.1f}s; results in {summary.output}"
    )
