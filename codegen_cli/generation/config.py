"""Settings of sample generation and the summary it returns.

Field names are the `codegen eval` option names (`max_new_tokens` <-> `--max-new-tokens`). Defaults follow
CodeGeeX's evaluation scripts and bigcode's harness; each has its reason beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen_cli.config import option
from codegen_cli.errors import UsageError

BACKENDS = ("hf", "vllm")
DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass
class GenerationConfig:
    model: str = option("", "Causal LM to sample from: a local folder (RUN/hf) or a hub id (local path offline).")
    output: Path = option(Path("results"), "Folder that receives samples.jsonl and generation.json.")
    n_samples: int = option(1, "Samples per problem (CodeGeeX reports pass@k with n=200).")
    # 0.8 is CodeGeeX's script default (pass@10/100); use 0.2 for pass@1, or 0 for greedy.
    temperature: float = option(0.8, "Sampling temperature; 0 means greedy decoding.")
    top_p: float = option(0.95, "Nucleus sampling threshold (CodeGeeX/CodeGeeX2: 0.95).")
    top_k: int = option(0, "Top-k filter; 0 disables it (CodeGeeX2: 0).")
    # HumanEval-X canonical solutions are at most ~500 tokens of a code tokenizer; the stop rules end most
    # samples far earlier. CodeGeeX's script allows 1024.
    max_new_tokens: int = option(512, "Most tokens generated per sample.")
    batch_size: int = option(16, "Sequences generated together (lower it after an out-of-memory error).")
    seed: int = option(1234, "Seed; each batch reseeds from it, so a rerun gives the same samples.")
    tag_style: str | None = option(
        None, "Language tag before each prompt: comment, token or none (default: what the model records)."
    )
    backend: str = option("hf", "hf (transformers generate) or vllm (when installed).")
    dtype: str = option("auto", "auto (bfloat16 on GPU, float32 on CPU), float32, bfloat16 or float16.")
    device: str | None = option(None, "Torch device (default: this process's accelerator, else CPU).")
    force: bool = option(False, "Discard samples made with other settings instead of refusing (exit 4).")
    trust_remote_code: bool = option(False, "Allow a hub model's own Python code (off: it runs arbitrary code).")

    def validate(self) -> None:
        """Collect every problem with the values into one UsageError, before a model is loaded."""
        problems = []
        if not str(self.model):
            problems.append("--model is required (a RUN/hf folder or a hub id)")
        if self.n_samples < 1:
            problems.append(f"-n/--n-samples must be >= 1, got {self.n_samples}")
        if self.temperature < 0:
            problems.append(f"--temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            problems.append(f"--top-p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            problems.append(f"--top-k must be >= 0, got {self.top_k}")
        if self.max_new_tokens < 1:
            problems.append(f"--max-new-tokens must be >= 1, got {self.max_new_tokens}")
        if self.batch_size < 1:
            problems.append(f"--batch-size must be >= 1, got {self.batch_size}")
        if self.backend not in BACKENDS:
            problems.append(f"--backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.dtype not in DTYPES:
            problems.append(f"--dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.tag_style is not None and self.tag_style not in ("comment", "token", "none"):
            problems.append(f"--tag-style must be comment, token or none, got {self.tag_style!r}")
        if problems:
            raise UsageError("; ".join(problems))

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass
class GenerationSummary:
    samples_path: Path
    settings_hash: str
    model: str
    backend: str
    device: str
    dtype: str
    tag_style: str
    processes: int
    problems: int
    requested: int  # problems x n_samples
    reused: int  # already in samples.jsonl from an earlier (killed) run
    generated: int  # made by this run
    generated_tokens: int
    seconds: float
    truncated_prompts: int  # prompts cut from the left to fit the model's context
    finish_reasons: dict[str, int] = field(default_factory=dict)  # stop | eos | length
    per_language: dict[str, int] = field(default_factory=dict)  # samples in the file per language

    @property
    def samples_per_s(self) -> float:
        return self.generated / self.seconds if self.seconds > 0 else 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.generated_tokens / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        from codegen_cli.config import to_dict

        data = to_dict(self)
        data["samples_per_s"] = round(self.samples_per_s, 3)
        data["tokens_per_s"] = round(self.tokens_per_s, 1)
        return data
