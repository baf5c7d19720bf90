"""`codegen generate`: stream one completion from a model, the quickest look at what a run learned.

The options come from GenerateConfig; this module holds the help text and the streaming to stdout.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from codegen_cli.cli._common import examples
from codegen_cli.output import console, emit_json

DOC = """Print a completion of PROMPT, streamed as tokens arrive, with the same tag and stop rules as eval.

The completion goes to stdout (only the completion, so it can be piped); the model line and the
token count go to stderr. With --json, ONE object {"completion", "finish_reason", ...} instead.
""" + examples(
    'codegen generate --model run/hf --language python "def fib(n):"',
    "codegen generate -m run/hf -l cpp --temperature 0.8 \"int add(int a, int b) {\"",
    "cat prompt.go | codegen generate -m run/hf -l go - --json",
)


def render(summary: Any) -> None:  # the completion is streamed by `body`; nothing is left to render
    del summary


def body(cfg: Any, json_out: bool) -> None:
    """Stream the completion to stdout as it is generated (or print one JSON object at the end)."""
    import dataclasses

    from codegen_cli.generation.stream import stream_completion

    if cfg.prompt == "-":
        cfg = dataclasses.replace(cfg, prompt=sys.stdin.read())
    started = time.monotonic()
    stream = stream_completion(cfg)
    pieces = []
    for piece in stream:
        pieces.append(piece)
        if not json_out:
            sys.stdout.write(piece)
            sys.stdout.flush()
    seconds = time.monotonic() - started
    result = stream.result
    completion = "".join(pieces)
    reason = result.finish_reason if result else "stop"
    tokens = result.num_tokens if result else 0
    if json_out:
        emit_json({"model": str(cfg.model), "language": cfg.language, "completion": completion,
                   "finish_reason": reason, "num_tokens": tokens, "seconds": round(seconds, 3)})
        return
    if not completion.endswith("\n"):
        sys.stdout.write("\n")
    console().print(f"[dim]{tokens} tokens in {seconds:.1f}s, ended by {reason}[/dim]")
