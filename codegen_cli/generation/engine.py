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
from codegen_cli.errors import Interrupted, MismatchError, UsageError
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


def generation_settings(config: GenerationConfig, tag_style: str, prompt_style: str = "completion", *,
                        server: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the settings hash covers (see store.py for what it leaves out and why). `server` is the openai
    backend's model identity (`OpenAIRunner.identity()`: the served name, the base URL, the server's
    /v1/models entry); without it, the served name alone."""
    server_identity = server if server is not None else {"served": config.model}
    settings = {
        "model": model_fingerprint(config.model) if config.backend != "openai" else server_identity,
        "tag_style": tag_style,
        "temperature": config.temperature,
        "top_p": config.top_p if not config.greedy else None,
        "top_k": config.top_k if not config.greedy else None,
        "max_new_tokens": config.max_new_tokens,
        "seed": config.seed if not config.greedy else None,  # greedy ignores the seed
        "stop_rules_version": STOP_RULES_VERSION,
        "prompt_format_version": PROMPT_FORMAT_VERSION,
    }
    if config.backend == "openai" and config.extra_body:
        settings["extra_body"] = config.extra_body  # absent by default, so earlier hashes are unchanged
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
    if config.backend == "llamacpp":
        from codegen_cli.generation.llamacpp_backend import require_llama_cpp

        require_llama_cpp()
    state = process_state()
    style = resolve_prompt_style(config.prompt_style, model=config.model, backend=config.backend)
    tag_style = resolve_tag_style(config.model, config.tag_style) if style == "completion" else "none"
    server = None
    if config.backend == "openai":
        from codegen_cli.generation.openai_backend import OpenAIRunner

        server = OpenAIRunner(config).identity()
    settings = generation_settings(config, tag_style, style, server=server)
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
    done_rows = store.check(digest, force=config.force, discard=state.is_main_process)
    stale = _stale_prompts(problems, done_rows, styles=styles, prompt_format=prompt_format)
    if stale and state.is_main_process:
        store.drop(stale)
        log(f"{len(stale)} samples of {len({t for t, _ in stale})} problems were made from another prompt "
            "(the problems file changed); making them again")
    done = set(done_rows) - stale
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


def model_input(problem: Problem, styles: Styles, prompt_format: PromptFormat | None) -> str:
    """What the model is given for `problem`: the chat user turn or the (tagged) completion prompt."""
    if styles.prompt == "chat":
        if prompt_format is not None and prompt_format.chat_user:
            return prompt_format.chat_user(problem)
        return instruction(problem.language, problem_text(problem))
    if prompt_format is None:
        return tagged_prompt(problem_text(problem), problem.language, styles.tag)
    return prompt_format.build(problem, styles.tag)


def prompt_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _stale_prompts(problems: Sequence[Problem], done: dict[Key, Any], *, styles: Styles,
                   prompt_format: PromptFormat | None) -> set[Key]:
    """Keys of rows made from another prompt than the problem's current one (each row records `prompt_sha`;
    rows written before it was recorded are trusted)."""
    current = {p.task_id: prompt_sha(model_input(p, styles, prompt_format)) for p in problems}
    return {key for key, row in done.items() if row.get("prompt_sha") and key[0] in current
            and row["prompt_sha"] != current[key[0]]}


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
    try:
        with state.split_between_processes(batches) as mine:
            _run_batches(runner, mine, problems, store=store, digest=digest, config=config, styles=styles, run=run,
                         total=sum(len(b.items) for b in mine), show=state.is_main_process,
                         prompt_format=prompt_format)
    finally:
        if state.is_main_process and config.backend == "openai":  # what the server answered as, refused, ignored
            store.write_settings(_settings_record(config, settings, digest=digest, runner=runner,
                                                  processes=state.num_processes))
    return runner.device, runner.dtype


@dataclass
class RunStats:
    samples: int = 0
    tokens: int = 0
    truncated: int = 0
    reasons: dict[str, int] | None = None
    refused: int = 0

    def add(self, completions: Sequence[Any]) -> None:
        self.reasons = self.reasons or {}
        for c in completions:
            self.samples += 1
            self.refused += int(c.finish_reason == "refused")
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
    served = _ServedModel(store, digest, force=config.force)

    def rates() -> dict[str, str]:
        elapsed = max(time.monotonic() - started, 1e-9)
        return {"samples/s": f"{run.samples / elapsed:.2f}", "tok/s": f"{max(tokens[0], run.tokens) / elapsed:.0f}"}

    def on_step(rows: int) -> None:
        tokens[0] += rows
        bar.tick(**rates())

    # a plain line at least every 5 s off a terminal, also while a batch is running (tokens move per step;
    # a server's requests report when each one ends, and the wait in between ticks every second)
    with progress("generate", total=total if show else None, unit="samples", interval=5.0) as bar:
        runner.on_step = on_step if show else None
        if hasattr(runner, "on_tick"):
            runner.on_tick = (lambda waiting: bar.tick(**rates(), waiting=waiting)) if show else None
        todo = list(batches)
        try:
            while todo:
                batch = todo.pop(0)
                chosen = [problems[p] for p, _ in batch.items]
                stored: set[int] = set()

                def row_of(index: int, completion: Any, extra: dict[str, Any], *, batch: Batch = batch,
                           chosen: list[Problem] = chosen) -> dict[str, Any]:
                    problem, sample_idx = chosen[index], batch.items[index][1]
                    row = {**_row(problem, sample_idx, completion, digest), **extra, **_reply_field(completion),
                           "prompt_sha": prompt_sha(model_input(problem, styles, prompt_format)),
                           **completion.notes}
                    served.check(row.get("served_model"), url=getattr(runner, "base", ""))
                    return row

                def keep(index: int, completion: Any, extra: dict[str, Any], stored: set[int] = stored) -> None:
                    """Store one finished sample at once (a server's replies arrive one by one)."""
                    store.append([row_of(index, completion, extra)])
                    stored.add(index)
                    run.add([completion])
                    if show:
                        bar.advance(1, **rates())

                completions, extra = _complete(runner, chosen, seed=batch.seed, styles=styles,
                                               prompt_format=prompt_format, on_result=keep)
                rest = [(i, c) for i, c in enumerate(completions) if i not in stored]
                if rest:  # a runner that returns the whole batch: its rows in ONE append (store.py)
                    store.append([row_of(i, c, extra) for i, c in rest])
                    run.add([c for _, c in rest])
                    if show:
                        bar.advance(len(rest), **rates())
                if served.dropped:  # --force dropped another model's samples: make them again with this one
                    served.dropped = False
                    have = {(r["task_id"], int(r["sample_idx"])) for r in store.read(bad_rows="skip")
                            if r.get("settings_hash") == digest}
                    todo = plan_batches(problems, n_samples=config.n_samples, batch_size=config.batch_size,
                                        seed=config.seed, done=have)
                    bar.update(total=run.samples + sum(len(b.items) for b in todo) if show else None)
        except KeyboardInterrupt as exc:
            raise Interrupted(
                f"interrupted; {run.samples} new samples are in {store.path}; rerun the same command to resume"
            ) from exc
    if run.refused:
        warn(f"{run.refused} samples were refused by the server (their rows hold its message in `error`); they "
             "count as failed")


class _ServedModel:
    """The model a server says it is (each answer's `model` field) must stay the same within a folder: two
    models served under one name (llama.cpp's server answers any name) would otherwise mix."""

    def __init__(self, store: SampleStore, digest: str, *, force: bool) -> None:
        self.store, self.force = store, force
        rows = [r for r in store.read(bad_rows="skip") if r.get("settings_hash") == digest]
        self.expected = next((r["served_model"] for r in rows if r.get("served_model")), None)
        self.from_folder = self.expected is not None
        self.dropped = False  # set when --force dropped the folder's samples of another model

    def check(self, served: str | None, *, url: str) -> None:
        if not served:
            return
        if self.expected is None:
            self.expected = served
            return
        if served == self.expected:
            return
        if self.from_folder and self.force:
            old = [r for r in self.store.read(bad_rows="skip") if r.get("served_model") == self.expected]
            self.store.drop({(r["task_id"], int(r["sample_idx"])) for r in old})
            warn(f"--force: dropped {len(old)} samples that {url} made as model {self.expected!r}; it now answers "
                 f"as {served!r}")
            self.expected, self.from_folder, self.dropped = served, False, True
            return
        where = f"the samples in {self.store.path} came from" if self.from_folder else "earlier answers of this run came from"
        raise MismatchError(f"{url} answers as model {served!r}, but {where} {self.expected!r} (two models under one "
                            "name?); use another -o folder, or --force to drop the other model's samples")


def _complete(runner: Any, chosen: list[Problem], *, seed: int, styles: Styles,
              prompt_format: PromptFormat | None,
              on_result: Callable[[int, Any, dict[str, Any]], None] | None = None) -> tuple[list[Any], dict[str, Any]]:
    """One batch's completions in the prompt style, and the fields every row of it gets. A runner that
    reports replies one by one (the openai backend) hands each to `on_result(index, completion, fields)`."""
    languages = [p.language for p in chosen]
    extra = dict(prompt_format.row_fields) if prompt_format is not None else {}
    streams = "on_result" in getattr(runner, "streamed_methods", ())
    if styles.prompt == "chat":
        extra = {**extra, "prompt_style": "chat"}
        users = [model_input(p, styles, prompt_format) for p in chosen]

        def fit(index: int, reply: Any) -> Any:
            problem = chosen[index]
            return dataclasses.replace(reply, text=reconcile(problem, extract_code(reply.text, entry_name(problem),
                                                                                   problem.language)),
                                       reply=reply.text)

        hook = {"on_result": lambda i, r: on_result(i, fit(i, r), extra)} if streams and on_result else {}
        replies = runner.generate_chat(users, languages, seed=seed, **hook)
        return [fit(i, r) for i, r in enumerate(replies)], extra
    hook = {"on_result": lambda i, c: on_result(i, c, extra)} if streams and on_result else {}
    prompts = [model_input(p, styles, prompt_format) for p in chosen]
    if prompt_format is None:
        return runner.generate(prompts, languages, seed=seed, **hook), extra
    return runner.generate(prompts, languages, seed=seed,
                           scan_texts=[prompt_format.scan_text(p) for p in chosen], **hook), extra


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
    if config.backend == "llamacpp":
        from codegen_cli.generation.llamacpp_backend import LlamaCppRunner

        return LlamaCppRunner(config, announce=log)
    return HFRunner(config)
