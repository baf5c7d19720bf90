"""`codegen generate`: stream one completion from a model, the quickest look at what a run learned."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from codegen_cli.cli._common import JsonOpt, engine_errors, examples
from codegen_cli.output import console, emit_json

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Model folder (RUN/hf) or hub id (local path offline).")]
PromptArg = Annotated[str, typer.Argument(help="Code to continue; `-` reads it from stdin.")]
LanguageOpt = Annotated[
    str | None,
    typer.Option("--language", "-l", help="Language of the prompt (python, cpp, java, js, go, rust, ...): adds the "
                                           "tag and the stop rule. Without it: no tag, stop at end-of-text."),
]
TagStyleOpt = Annotated[
    str | None,
    typer.Option("--tag-style", help="comment | token | none (default: what the model folder records, else none)."),
]


def generate_command(
    prompt: PromptArg,
    model: ModelOpt,
    language: LanguageOpt = None,
    tag_style: TagStyleOpt = None,
    temperature: Annotated[float, typer.Option("--temperature", help="0 = greedy.")] = 0.0,
    top_p: Annotated[float, typer.Option("--top-p", help="Nucleus sampling threshold.")] = 0.95,
    top_k: Annotated[int, typer.Option("--top-k", help="Top-k filter; 0 disables it.")] = 0,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", help="Most tokens to generate.")] = 256,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (sampling only).")] = 1234,
    device: Annotated[str | None, typer.Option("--device", help="Torch device (default: GPU if any).")] = None,
    dtype: Annotated[str, typer.Option("--dtype", help="auto | float32 | bfloat16 | float16.")] = "auto",
    json_out: JsonOpt = False,
) -> None:
    """Print a completion of PROMPT, streamed as tokens arrive, with the same tag and stop rules as eval.

    The completion goes to stdout (only the completion, so it can be piped); the model line and the
    token count go to stderr. With --json, ONE object {"completion", "finish_reason", ...} instead.
    """
    with engine_errors():
        from codegen_cli.errors import UsageError
        from codegen_cli.generation import complete
        from codegen_cli.languages import resolve

        text = sys.stdin.read() if prompt == "-" else prompt
        if language is not None:
            try:
                resolve(language)
            except KeyError as exc:
                raise UsageError(f"--language {language!r}: {exc.args[0]}") from exc
        if temperature < 0 or max_new_tokens < 1 or not 0 < top_p <= 1:
            raise UsageError("--temperature must be >= 0, --top-p in (0, 1] and --max-new-tokens >= 1")
        started = time.monotonic()
        stream = complete(model, text, language, tag_style=tag_style, temperature=temperature, top_p=top_p,
                          top_k=top_k, max_new_tokens=max_new_tokens, seed=seed, device=device, dtype=dtype)
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
            emit_json({"model": str(model), "language": language, "completion": completion,
                       "finish_reason": reason, "num_tokens": tokens, "seconds": round(seconds, 3)})
            return
        if not completion.endswith("\n"):
            sys.stdout.write("\n")
        console().print(f"[dim]{tokens} tokens in {seconds:.1f}s, ended by {reason}[/dim]")


generate_command.__doc__ = (generate_command.__doc__ or "") + examples(
    'codegen generate --model run/hf --language python "def fib(n):"',
    "codegen generate -m run/hf -l cpp --temperature 0.8 \"int add(int a, int b) {\"",
    "cat prompt.go | codegen generate -m run/hf -l go - --json",
)
