"""Sample generation for `codegen eval --model` and `codegen generate`.

Public API (torch loads lazily, on first use of the engine):
    generate_samples(GenerationConfig, problems) -> GenerationSummary   # batch engine -> samples.jsonl
    complete(model, prompt, language, ...) -> CompletionStream          # one streamed completion
    cut_completion(text, language, prompt=None) -> (text, stopped)      # the per-language stop rules
"""

from __future__ import annotations

from typing import Any

from codegen_cli.generation.config import GenerationConfig, GenerationSummary
from codegen_cli.generation.stopping import cut_completion, find_stop

__all__ = [
    "GenerationConfig",
    "GenerationSummary",
    "complete",
    "cut_completion",
    "find_stop",
    "generate_samples",
    "load_model",
]


def __getattr__(name: str) -> Any:
    if name == "generate_samples":
        from codegen_cli.generation.engine import generate_samples

        return generate_samples
    if name == "complete":
        from codegen_cli.generation.stream import complete

        return complete
    if name == "load_model":
        from codegen_cli.generation.sampler import load_model

        return load_model
    raise AttributeError(name)
