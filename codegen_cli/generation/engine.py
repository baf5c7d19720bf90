"""`generate_samples(GenerationConfig, problems) -> GenerationSummary`: the sampling half of `codegen eval`.

The work is planned as fixed batches over (problem, sample_idx) pairs in problem order, BEFORE looking
at what is already done, and each batch reseeds from (seed, its first pair). So a batch has the same
rows and seed whatever the number of processes and whether the run was resumed: finished batches are
skipped and the rest come out as an uninterrupted run would make them (bigcode instead seeds per device,
so its samples change with the GPU count). Batches are split across processes with Accelerate; every
process appends its own batches to samples.jsonl under a lock, and the main process gathers the counts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from codegen_cli.config import to_dict
from codegen_cli.errors import Interrupted, UsageError
from codegen_cli.evaluate.problems import Problem
from codegen_cli.generation.chat import CHAT_FORMAT_VERSION, extract_code, instruction, resolve_prompt_style
from codegen_cli.generation.config import GenerationConfig, GenerationSummary
from codegen_cli.generation.healing import HEALING_VERSION
from codegen_cli.generation.prompts import (
    PromptFormat,
    missing_tag_tokens,
    problem_text,
    resolve_tag_style,
    tagged_prompt,
)
from codegen_cli.generation.reconcile import entry_name, reconcile
from codegen_cli.generation.stopping import CHAT, STOP_RULES_VERSION
from codegen_cli.generation.store import (
    PROMPT_FORMAT_VERSION,
    Key,
    SampleStore,
    model_fingerprint,
    settings_hash,
)
from codegen_cli.jsonl_store import writer_lock
from codegen_cli.output import log, progress, warn


@dataclass
class Batch:
    seed: int
    items: list[tuple[int, int]]  # (problem index, sample_idx) still to make


def generation_settings(config: GenerationConfig, tag_style: str, prompt_style: str = "completion") -> dict[str, Any]:
    """What the settings hash covers (see store.py for what it leaves out and why)."""
    settings = {
        "model": model_fingerprint(config.model) if config.backend != "openai" else {"served": config.model},
        "tag_style": tag_style,
        "temperature": config.temperature,
        "top_p": config.top_p if not config.greedy else None,
        "top_k": config.top_k if not config.greedy else None,
        "max_new_tokens": config.max_new_tokens,
        "seed": config.seed if not config.greedy else None,  # greedy ignores the seed
        "stop_rules_version": STOP_RULES_VERSION,
        "prompt_format_version": PROMPT_FORMAT_VERSION,
    }
    if prompt_style == "chat":  # absent for completion, so earlier completion samples keep their hash
        settings.update(prompt_style="chat", chat_format_version=CHAT_FORMAT_VERSION)
    elif heals(config):
        settings["token_healing"] = HEALING_VERSION
    return settings


def heals(config: GenerationConfig) -> bool:
    """Token healing needs the logits (hf backend); a server or vLLM generates from the prompt as it is."""
    return config.token_healing and config.backend == "hf"


def batch_seed(seed: int, problem: Problem, sample_idx: int) -> int:
    digest = hashlib.sha256(f"{seed}:{problem.task_id}:{sample_idx}".encode()).hexdigest()
    return int(digest[:8], 16)


def plan_batches(problems: Sequence[Problem], *, n_samples: int, batch_size: int, seed: int,
                 done: set[Key]) -> list[Batch]:
    """Fixed batches over every (problem, sample) pair; pairs already done are left out of their batch.

    Problems go shortest prompt first, so a batch that mixes problems (n < batch size, e.g. greedy n=1)
    holds prompts of similar length and little left padding (HumanEval-X prompts run from ~100 to ~1,400
    characters). The order depends only on the problems, never on what is done or on the process count.
    """
    order = sorted(range(len(problems)), key=lambda i: (len(problem_text(problems[i])), i))
    pairs = [(p, s) for p in order for s in range(n_samples)]
    batches = []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        first_problem, first_sample = chunk[0]
        todo = [(p, s) for p, s in chunk if (problems[p].task_id, s) not in done]
        if todo:
            batches.append(Batch(batch_seed(seed, problems[first_problem], first_sample), todo))
    return batches


def _check_problems(problems: Sequence[Problem]) -> None:
    if not problems:
        raise UsageError("no problems to generate for (check --languages, --tasks and --limit)")
    ids = [p.task_id for p in problems]
    if len(set(ids)) != len(ids):
        raise UsageError("the same task_id was selected twice; pass each problem once")


@dataclass(frozen=True)
class Styles:
    tag: str  # comment | token | none (completion style only)
    prompt: str  # completion | chat


def generate_samples(config: GenerationConfig, problems: Sequence[Problem], *,
                     prompt_format: PromptFormat | None = None,
                     get_runner: Callable[[], Any] | None = None) -> GenerationSummary:
    """Make the missing samples of `problems` into config.output/samples.jsonl and summarise the file.

    `prompt_format` replaces the default prompt (tag + problem prompt), e.g. for translation;
    `get_runner` returns an already loaded model runner (one model shared by several calls), called
    only when something is left to generate.
    """
    from codegen_cli.generation.sampler import process_state

    config.validate()
    _check_problems(problems)
    if config.backend == "vllm":
        from codegen_cli.generation.vllm_backend import require_vllm

        require_vllm()
    state = process_state()
    style = resolve_prompt_style(config.prompt_style, model=config.model, backend=config.backend)
    tag_style = resolve_tag_style(config.model, config.tag_style) if style == "completion" else "none"
    settings = generation_settings(config, tag_style, style)
    if prompt_format is not None:  # absent by default, so generation hashes are unchanged
        settings["prompt_format"] = prompt_format.name
    digest = settings_hash(settings)
    with writer_lock(config.output):
        return _generate_into(config, problems, digest=digest, settings=settings,
                              styles=Styles(tag_style, style), state=state, prompt_format=prompt_format,
                              get_runner=get_runner)


def _generate_into(config: GenerationConfig, problems: Sequence[Problem], *, digest: str, settings: dict[str, Any],
                   styles: Styles, state: Any, prompt_format: PromptFormat | None,
                   get_runner: Callable[[], Any] | None) -> GenerationSummary:
    """generate_samples, holding the output folder."""
    store = SampleStore(config.output)
    if state.is_main_process:
        store.repair()
    # every process checks (and refuses) on its own, so a mismatch never leaves others at a barrier
    done = set(store.check(digest, force=config.force, discard=state.is_main_process))
    state.wait_for_everyone()
    wanted = {(p.task_id, s) for p in problems for s in range(config.n_samples)}
    batches = plan_batches(problems, n_samples=config.n_samples, batch_size=config.batch_size,
                           seed=config.seed, done=done)
    started = time.monotonic()
    run, device, dtype = RunStats(), "none", "none"
    if batches:
        device, dtype = _generate(config, batches, problems, store=store, settings=settings,
                                  styles=styles, state=state, run=run, prompt_format=prompt_format,
                                  get_runner=get_runner)
    elif state.is_main_process:
        log(f"all {len(wanted)} samples are already in {store.path}; nothing to generate")
    state.wait_for_everyone()
    totals = _gather(run)
    return GenerationSummary(
        samples_path=store.path, settings_hash=digest, model=config.model, backend=config.backend,
        device=device, dtype=dtype, tag_style=styles.tag, prompt_style=styles.prompt, processes=state.num_processes,
        problems=len(problems), requested=len(wanted), reused=len(wanted & done), generated=totals.samples,
        generated_tokens=totals.tokens, seconds=time.monotonic() - started,
        truncated_prompts=totals.truncated, finish_reasons=totals.reasons,
        per_language=_per_language(store, digest, wanted),
    )


def _generate(config: GenerationConfig, batches: list[Batch], problems: Sequence[Problem], *, store: SampleStore,
              settings: dict[str, Any], styles: Styles, state: Any, run: RunStats,
              prompt_format: PromptFormat | None = None,
              get_runner: Callable[[], Any] | None = None) -> tuple[str, str]:
    """Load the model, then make this process's share of the batches; returns (device, dtype)."""
    runner = get_runner() if get_runner is not None else _make_runner(config)
    digest = settings_hash(settings)
    tokenizer = getattr(getattr(runner, "lm", None), "tokenizer", None)
    if styles.prompt == "chat" and tokenizer is not None:
        resolve_prompt_style("chat", tokenizer=tokenizer, model=config.model)  # refuses a template-less one
    if state.is_main_process:
        missing = missing_tag_tokens(tokenizer, {p.language for p in problems}, styles.tag) if tokenizer else []
        if missing:
            warn(f"the tokenizer has no {', '.join(missing)} token: those prompts get the tag as plain text")
        store.write_settings(_settings_record(config, settings, digest=digest, runner=runner,
                                              processes=state.num_processes))
    with state.split_between_processes(batches) as mine:
        _run_batches(runner, mine, problems, store=store, digest=digest, config=config, styles=styles, run=run,
                     total=sum(len(b.items) for b in mine), show=state.is_main_process,
                     prompt_format=prompt_format)
    return runner.device, runner.dtype


@dataclass
class RunStats:
    samples: int = 0
    tokens: int = 0
    truncated: int = 0
    reasons: dict[str, int] | None = None

    def add(self, completions: Sequence[Any]) -> None:
        self.reasons = self.reasons or {}
        for c in completions:
            self.samples += 1
            self.tokens += c.num_tokens
            self.truncated += int(c.truncated_prompt)
            self.reasons[c.finish_reason] = self.reasons.get(c.finish_reason, 0) + 1


def _gather(run: RunStats) -> RunStats:
    from accelerate.utils import gather_object

    total = RunStats(reasons={})
    for part in gather_object([run]):
        total.samples += part.samples
        total.tokens += part.tokens
        total.truncated += part.truncated
        for reason, count in (part.reasons or {}).items():
            total.reasons[reason] = total.reasons.get(reason, 0) + count
    return total


def _run_batches(runner: Any, batches: Sequence[Batch], problems: Sequence[Problem], *, store: SampleStore,
                 digest: str, config: GenerationConfig, styles: Styles, run: RunStats, total: int,
                 show: bool, prompt_format: PromptFormat | None = None) -> None:
    started = time.monotonic()
    tokens = [0]  # made so far, finished samples or not

    def on_step(rows: int) -> None:
        tokens[0] += rows
        elapsed = max(time.monotonic() - started, 1e-9)
        bar.tick(**{"samples/s": f"{run.samples / elapsed:.2f}", "tok/s": f"{tokens[0] / elapsed:.0f}"})

    # a plain line at least every 5 s off a terminal, also while a batch is running (tokens move per step)
    with progress("generate", total=total if show else None, unit="samples", interval=5.0) as bar:
        runner.on_step = on_step if show else None
        try:
            for batch in batches:
                chosen = [problems[p] for p, _ in batch.items]
                completions, extra = _complete(runner, chosen, seed=batch.seed, styles=styles, prompt_format=prompt_format)
                store.append({**_row(p, s, c, digest), **extra, **_reply_field(c)}
                             for (_, s), p, c in zip(batch.items, chosen, completions))
                run.add(completions)
                elapsed = max(time.monotonic() - started, 1e-9)
                bar.advance(len(completions), **{"samples/s": f"{run.samples / elapsed:.2f}",
                                                 "tok/s": f"{tokens[0] / elapsed:.0f}"})
        except KeyboardInterrupt as exc:
            raise Interrupted(
                f"interrupted; {run.samples} new samples are in {store.path}; rerun the same command to resume"
            ) from exc


def _complete(runner: Any, chosen: list[Problem], *, seed: int, styles: Styles,
              prompt_format: PromptFormat | None) -> tuple[list[Any], dict[str, Any]]:
    """One batch's completions in the prompt style, and the fields every row of it gets."""
    languages = [p.language for p in chosen]
    extra = dict(prompt_format.row_fields) if prompt_format is not None else {}
    if styles.prompt == "chat":
        users = [prompt_format.chat_user(p) if prompt_format is not None and prompt_format.chat_user
                 else instruction(p.language, problem_text(p)) for p in chosen]
        replies = runner.generate_chat(users, languages, seed=seed)
        fitted = [dataclasses.replace(r, text=reconcile(p, extract_code(r.text, entry_name(p), p.language)), reply=r.text)
                  for p, r in zip(chosen, replies)]
        return fitted, {**extra, "prompt_style": "chat"}
    if prompt_format is None:
        prompts = [tagged_prompt(problem_text(p), p.language, styles.tag) for p in chosen]
        return runner.generate(prompts, languages, seed=seed), extra
    prompts = [prompt_format.build(p, styles.tag) for p in chosen]
    return runner.generate(prompts, languages, seed=seed,
                           scan_texts=[prompt_format.scan_text(p) for p in chosen]), extra


def _reply_field(completion: Any) -> dict[str, Any]:
    """A chat row keeps the model's whole reply beside the fitted completion (to see what was taken)."""
    reply = getattr(completion, "reply", None)
    return {"reply": reply} if reply is not None else {}


def _row(problem: Problem, sample_idx: int, completion: Any, digest: str) -> dict[str, Any]:
    return {"task_id": problem.task_id, "language": problem.language, "sample_idx": sample_idx,
            "completion": completion.text, "settings_hash": digest,
            "finish_reason": completion.finish_reason, "num_tokens": completion.num_tokens}


def _per_language(store: SampleStore, digest: str, wanted: set[Key]) -> dict[str, int]:
    counts: dict[str, int] = {}
    seen: set[Key] = set()
    for row in store.read():
        key = (row["task_id"], int(row["sample_idx"]))
        if row.get("settings_hash") == digest and key in wanted and key not in seen:
            seen.add(key)
            counts[row["language"]] = counts.get(row["language"], 0) + 1
    return counts


def _settings_record(config: GenerationConfig, settings: dict[str, Any], *, digest: str, runner: Any,
                     processes: int) -> dict[str, Any]:
    import torch
    import transformers

    return {"settings_hash": digest, "settings": settings, "config": to_dict(config),
            "run": {"backend": config.backend, "device": runner.device, "dtype": runner.dtype,
                    "batch_size": config.batch_size, "processes": processes},
            "model": runner.describe(),
            "versions": {"python": platform.python_version(), "torch": torch.__version__,
                         "transformers": transformers.__version__}}


class HFRunner:
    """The transformers backend: one loaded model; `generate_batch` per batch (chunked, see sampler.py)."""

    def __init__(self, config: GenerationConfig) -> None:
        from codegen_cli.generation.sampler import load_model

        self.config = config
        self.on_step: Callable[[int], None] | None = None  # set by the engine: tokens made per step
        self.lm = load_model(config.model, device=config.device, dtype=config.dtype,
                             trust_remote_code=config.trust_remote_code, announce=log)
        self.device, self.dtype = str(self.lm.device), self.lm.dtype
        log(f"model {config.model}: {self.dtype} on {self.device}")

    def generate(self, prompts: list[str], languages: list[str], *, seed: int,
                 scan_texts: list[str] | None = None) -> list[Any]:
        from codegen_cli.generation.sampler import generate_batch

        c = self.config
        return generate_batch(self.lm, prompts, languages, temperature=c.temperature, top_p=c.top_p,
                              top_k=c.top_k, max_new_tokens=c.max_new_tokens, seed=seed, scan_texts=scan_texts,
                              heal=heals(c), on_step=self.on_step)

    def generate_chat(self, users: list[str], languages: list[str], *, seed: int) -> list[Any]:
        """Replies to one user turn each, through the model's chat template; `text` starts with the
        response prefix (the open fence) so that the reply reads as the model wrote it."""
        from codegen_cli.generation.chat import chat_prompt
        from codegen_cli.generation.sampler import generate_batch

        c = self.config
        prompts = [chat_prompt(self.lm.tokenizer, user, lang) for user, lang in zip(users, languages)]
        out = generate_batch(self.lm, [p.text for p in prompts], [CHAT] * len(prompts),
                             temperature=c.temperature, top_p=c.top_p, top_k=c.top_k,
                             max_new_tokens=c.max_new_tokens, seed=seed, add_special_tokens=False,
                             on_step=self.on_step)
        return [dataclasses.replace(o, text=p.prefix + o.text) for p, o in zip(prompts, out)]

    def describe(self) -> dict[str, Any]:
        from codegen_cli.generation.sampler import describe

        return describe(self.lm)


def make_runner(config: GenerationConfig) -> Any:
    """The model runner for `config.backend` (loads the model); reusable across generate_samples calls."""
    return _make_runner(config)


def _make_runner(config: GenerationConfig) -> Any:
    if config.backend == "openai":
        from codegen_cli.generation.openai_backend import OpenAIRunner

        return OpenAIRunner(config)
    if config.backend == "vllm":
        from codegen_cli.generation.vllm_backend import VLLMRunner

        return VLLMRunner(config)
    return HFRunner(config)
