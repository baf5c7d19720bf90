"""`codegen judge serve`: its help text and its closing report (the options come from JudgeConfig)."""

from __future__ import annotations

from typing import Any

from codegen_cli.cli._common import examples
from codegen_cli.output import log

DOC = """Serve execution rewards: HumanEval-X-style verdicts over a small JSON API on 127.0.0.1 or a unix socket.

For RL trainers in another process: POST /score with completions and task ids gets one reward per
completion (1.0 passed, else 0.0; --reward asserts: the fraction of asserts that held), scored in the
same sandbox and engine as `codegen eval`; GET /health says what is served. A bounded queue (503 when
full), a time limit per request (504), SIGTERM stops it cleanly. In Python, `ExecutionReward` does the same
in-process. Train on your own problems, never on HumanEval-X (contamination). See docs/reward.md.
""" + examples(
    "codegen judge serve --problems my_problems.jsonl --port 8765 --allow-code-execution",
    "codegen judge serve -l python,cpp --socket /tmp/judge.sock --workers 8 --allow-code-execution",
    "curl -s 127.0.0.1:8765/health",
)


def render(summary: Any) -> None:
    refused = ", ".join(f"HTTP {code}: {n}" for code, n in sorted(summary.refused.items())) or "none"
    log(f"judge: served {summary.requests} batches ({summary.completions} completions, {summary.programs_run} "
        f"programs run, {summary.scoring_seconds:.1f} s scoring) in {summary.uptime_seconds:.0f} s; refused: "
        f"{refused}")
