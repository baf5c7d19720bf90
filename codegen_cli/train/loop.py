"""`train(TrainConfig) -> TrainSummary`: the pretraining loop, read top to bottom.

Order of work: check every input (config, tokens folder, tokenizer, data size, resume compatibility)
before writing anything, so a bad call leaves an existing run untouched; then build the model, restore
a checkpoint if any, and run optimizer steps until max_steps / max_tokens or a stop signal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from codegen_cli.atomic import atomic_write_json, atomic_write_text, sha256_file, sha256_json
from codegen_cli.config import to_dict
from codegen_cli.errors import InputDataError, Interrupted, JobFailed, MismatchError, UsageError
from codegen_cli.interrupts import StopFlag
from codegen_cli.jsonl_store import writer_lock
from codegen_cli.manifest import Manifest, write_manifest
from codegen_cli.output import heartbeat, log, progress, warn
from codegen_cli.train import checkpoint as ckpt_io
from codegen_cli.train.accelerator import (
    any_rank,
    configure_deepspeed,
    make_accelerator,
    oom_message,
    reset_accelerate_state,
    strategy,
)
from codegen_cli.train.config import TrainConfig, identity, resolve, to_toml
from codegen_cli.train.data import TokensInfo, WindowOrder, WindowSource, check_tokenizer, read_tokens_info
from codegen_cli.train.export import save_hf
from codegen_cli.train.init import BASE_MODEL_FILE, InitPlan, load_init_model, prepare_init
from codegen_cli.train.metrics import MetricsLog, flops_per_token, fmt_mfu, mfu, peak_flops
from codegen_cli.train.model import build_model, hf_config, matmul_params
from codegen_cli.train.optim import build_optimizer, lr_at, set_lr
from codegen_cli.train.run_folder import choose_checkpoint, clear_run


@dataclass
class TrainSummary:
    run_dir: str
    steps: int
    tokens: int
    final_train_loss: float | None
    final_val_loss: float | None
    val_perplexity: float | None
    tokens_per_s: float | None
    mfu: float | None
    export_dir: str | None
    resumed_from: str | None
    parameters: int
    world_size: int
    global_batch_tokens: int
    strategy: str = "single"  # what ran: single, ddp, fsdp2, deepspeed-zero3 (never a silent fallback)
    already_complete: bool = False  # the run had trained these steps before: nothing ran this time
    init_from: str | None = None  # --init-from: the pretrained model the run started from
    initial_val_loss: float | None = None  # --init-from: that model's val loss before the first step

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


@dataclass
class _Plan:
    """Everything fixed before the first step."""

    cfg: TrainConfig
    info: TokensInfo
    train: WindowSource
    val: WindowSource
    config_hash: str
    total_steps: int
    windows_per_step: int
    init: InitPlan | None = None
    batch_hash: str = ""  # config_hash without the split of the global batch (micro-batch, accumulation, world)


def train(cfg: TrainConfig) -> TrainSummary:
    cfg = resolve(cfg)
    info = read_tokens_info(cfg.tokens)
    check_tokenizer(info)
    init = None
    if cfg.init_from is not None:  # every check on the starting model, before RUN is touched
        with heartbeat(f"train: checking --init-from {cfg.init_from}"):
            init = prepare_init(cfg.init_from, info, announce=log)
    sources = _sources(info, cfg)
    resume_from = choose_checkpoint(cfg)
    finished = _finished_run(cfg, info, sources, resume_from, init=init)
    if finished is not None:
        return finished
    accelerator = make_accelerator(cfg)
    try:
        with writer_lock(cfg.output), StopFlag() as stop:
            return _run(accelerator, cfg, info, sources=sources, resume_from=resume_from, stop=stop, init=init)
    except torch.OutOfMemoryError as exc:
        raise UsageError(oom_message(cfg)) from exc
    finally:
        accelerator.end_training()
        if accelerator.num_processes == 1:
            reset_accelerate_state()


def _sources(info: TokensInfo, cfg: TrainConfig) -> tuple[WindowSource, WindowSource]:
    train_src = WindowSource(info, "train", int(cfg.seq_len))
    if len(train_src) == 0:
        raise InputDataError(f"{info.folder}: no train shard holds {cfg.seq_len + 1} tokens; "
                             "use a smaller --seq-len or more data")
    val_src = WindowSource(info, "val", int(cfg.seq_len))
    if len(val_src) == 0:
        warn(f"{info.folder}: the val split is shorter than seq_len + 1 tokens; no validation loss")
    return train_src, val_src


def _plan(cfg: TrainConfig, info: TokensInfo, sources: tuple[WindowSource, WindowSource],
          world: int, *, init: InitPlan | None = None) -> _Plan:
    windows_per_step = int(cfg.micro_batch_size) * cfg.grad_accum * world
    tokens_per_step = windows_per_step * int(cfg.seq_len)
    limits = [cfg.max_steps] if cfg.max_steps is not None else []
    if cfg.max_tokens is not None:
        limits.append(math.ceil(cfg.max_tokens / tokens_per_step))
    fingerprint = {"vocab_size": info.vocab_size, "tokenizer_sha256": info.meta.get("tokenizer_sha256"),
                   "train_tokens": info.meta["splits"]["train"].get("tokens")}
    if init is not None:  # other starting weights are another run
        fingerprint["init_from"] = init.fingerprint
    config_hash = sha256_json({"config": identity(cfg), "data": fingerprint})
    # the same run for any split of its global batch over processes, micro-batches and accumulation: each
    # step reads the same windows (data.py orders them globally), so the loss curve is the same up to float
    # noise and a checkpoint may resume under another process count (issue 23)
    per_step = {k: v for k, v in identity(cfg).items() if k not in ("micro_batch_size", "grad_accum")}
    batch_hash = sha256_json({"config": per_step, "windows_per_step": windows_per_step, "data": fingerprint})
    return _Plan(cfg, info, sources[0], sources[1], config_hash, min(limits), windows_per_step, init, batch_hash)


def _finished_run(cfg: TrainConfig, info: TokensInfo, sources: tuple[WindowSource, WindowSource],
                  resume_from: Path | None, *, init: InitPlan | None = None) -> TrainSummary | None:
    """The stored summary when RUN already trained exactly these steps with this config (a rerun trains
    nothing and says so); MismatchError when it trained MORE steps than asked (resuming cannot undo steps).
    None when there is training left to do."""
    if resume_from is None:
        return None
    plan = _plan(cfg, info, sources, int(os.environ.get("WORLD_SIZE", "1")), init=init)
    saved = ckpt_io.read_state(resume_from)
    step = int(saved["step"])
    if step > plan.total_steps and not cfg.force:
        limit = f"--max-steps {cfg.max_steps}" if cfg.max_steps is not None and plan.total_steps == cfg.max_steps \
            else f"--max-tokens {cfg.max_tokens}"
        raise MismatchError(f"{cfg.output} already trained {step} steps, more than {limit} asks for "
                            f"({plan.total_steps}); raise it to continue training, or start a fresh run with "
                            "another -o (or --resume never --force, which deletes this run)")
    if step != plan.total_steps or saved["config_hash"] != plan.config_hash:
        return None
    manifest = Path(cfg.output) / "manifest.json"
    try:
        record = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # killed between the last checkpoint and the export: finish the normal way
    stored = record.get("summary") or {}
    if record.get("config_hash") != plan.config_hash or stored.get("steps") != step:
        return None
    if cfg.export and not (Path(cfg.output) / "hf" / "config.json").is_file():
        return None
    log(f"{cfg.output}: already trained {step} steps with this config; nothing to do "
        "(raise --max-steps to train further)")
    known = {f.name for f in dataclasses.fields(TrainSummary)}
    return TrainSummary(**{**{k: v for k, v in stored.items() if k in known}, "already_complete": True})


def _shape(config: Any) -> tuple[int, int]:
    """(layers, width) of any transformers config, for the FLOPs estimate (Llama and GPT-2 spellings)."""
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    layers = getattr(text, "num_hidden_layers", None) or getattr(text, "n_layer", 0)
    width = getattr(text, "hidden_size", None) or getattr(text, "n_embd", 0)
    return int(layers or 0), int(width or 0)


def _run(acc: Any, cfg: TrainConfig, info: TokensInfo, *, sources: tuple[WindowSource, WindowSource],
         resume_from: Path | None, stop: StopFlag, init: InitPlan | None = None) -> TrainSummary:
    plan = _plan(cfg, info, sources, acc.num_processes, init=init)
    run = Path(cfg.output)
    state: dict[str, Any] = {"step": 0, "tokens_seen": 0, "data_position": 0}
    if resume_from is not None:
        saved = ckpt_io.read_state(resume_from)
        for problem in ckpt_io.check_compatible(saved, ckpt=resume_from, config_hash=plan.config_hash,
                                                world_size=acc.num_processes, force=cfg.force,
                                                batch_hash=plan.batch_hash, windows_per_step=plan.windows_per_step):
            warn(f"--force: resuming although {problem}")
        state.update({k: saved[k] for k in state})
    metrics = MetricsLog(run / "metrics.jsonl")
    if acc.is_main_process:
        _prepare_run_dir(cfg, info, run=run, metrics=metrics, resume_from=resume_from, step=state["step"],
                         init=init)
    acc.wait_for_everyone()

    if init is not None:  # a resume loads this first, then the checkpoint's weights over it
        with heartbeat(f"train: loading {init.spec}") if acc.is_main_process else contextlib.nullcontext():
            model = load_init_model(init)
        config = model.config
        described = f"{config.model_type} from {init.name}"
    else:
        config = hf_config(cfg.model, vocab_size=info.vocab_size, seq_len=int(cfg.seq_len),
                           special_ids=info.special_ids)
        model = build_model(config, seed=cfg.seed)
        described = f"{cfg.model.arch} ({cfg.preset})"
    n_params = sum(p.numel() for p in model.parameters())
    vocab = int(model.get_input_embeddings().weight.shape[0])  # before prepare(): DDP hides the method
    flops_token = flops_per_token(matmul_params(model), *_shape(config), int(cfg.seq_len))
    if cfg.activation_checkpointing:  # transformers 5.x name; older releases call it gradient_checkpointing
        enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
        enable()
    optimizer = build_optimizer(model, cfg.optim, fused=acc.device.type == "cuda")
    if cfg.compile:
        model = torch.compile(model)
    configure_deepspeed(acc, cfg)
    model, optimizer = acc.prepare(model, optimizer)
    if resume_from is not None:
        acc.load_state(str(resume_from))
        if acc.is_main_process:
            log(f"resumed from {resume_from} (step {state['step']}, {state['tokens_seen']:,} tokens)")
    if cfg.trackers:
        flat = {f"{section}.{k}" if section else k: v for section, table in
                [("", to_dict(cfg)), ("model", to_dict(cfg.model)), ("optim", to_dict(cfg.optim))]
                for k, v in table.items()}
        from codegen_cli.train.trackers import init_kwargs, run_name

        hparams = {k: v for k, v in flat.items() if isinstance(v, (int, float, str, bool))}
        acc.init_trackers(cfg.tracker_project, config=hparams,
                          init_kwargs=init_kwargs(list(cfg.trackers), run_name(cfg.output, cfg.run_name)))

    device_name = torch.cuda.get_device_name(acc.device) if acc.device.type == "cuda" else None
    peak = peak_flops(device_name, cfg.peak_tflops)
    if acc.is_main_process:
        log(f"model {described}: {n_params:,} parameters, vocab {vocab}; "
            f"{acc.num_processes} process(es) on {acc.device.type} ({strategy(acc)}), precision {acc.mixed_precision}; "
            f"{plan.windows_per_step * int(cfg.seq_len):,} tokens per step, {plan.total_steps} steps")
    loop = _Loop(acc, plan, model=model, optimizer=optimizer, metrics=metrics, flops_token=flops_token, peak=peak,
                 state=state)
    loop.run(stop)

    if acc.is_main_process:
        log(f"done: {state['step']} steps, {state['tokens_seen']:,} tokens")
    export_dir = None
    if cfg.export:
        export_dir = run / "hf"
        weights = acc.get_state_dict(model)  # collective under FSDP/ZeRO-3: every rank calls it
        if acc.is_main_process:
            card = {"run": run, "step": state["step"], "tokens_seen": state["tokens_seen"], "parameters": n_params}
            with heartbeat(f"train: export to {export_dir}"):
                save_hf(acc.unwrap_model(model, keep_torch_compile=False), weights, export_dir, run / "tokenizer",
                        card=card)
        acc.wait_for_everyone()
    summary = TrainSummary(
        run_dir=str(run), steps=state["step"], tokens=state["tokens_seen"],
        final_train_loss=loop.last_loss, final_val_loss=loop.last_val,
        val_perplexity=_perplexity(loop.last_val),
        tokens_per_s=loop.overall_tokens_per_s(), mfu=mfu(loop.overall_tokens_per_s() or 0, flops_token,
                                                          peak, acc.num_processes),
        export_dir=str(export_dir) if export_dir else None,
        resumed_from=str(resume_from) if resume_from else None, parameters=n_params,
        world_size=acc.num_processes, global_batch_tokens=plan.windows_per_step * int(cfg.seq_len),
        strategy=strategy(acc), init_from=cfg.init_from, initial_val_loss=loop.initial_val,
    )
    if acc.is_main_process:
        _write_manifest(plan, summary, loop.train_seconds)
    return summary


def _perplexity(loss: float | None) -> float | None:
    if loss is None:
        return None
    return math.exp(loss) if loss < 700 else math.inf  # exp overflows a float above ~709


def _prepare_run_dir(cfg: TrainConfig, info: TokensInfo, *, run: Path, metrics: MetricsLog,
                     resume_from: Path | None, step: int, init: InitPlan | None = None) -> None:
    """Main process only, after every check passed: the first writes into RUN."""
    if cfg.resume == "never" and cfg.force:
        clear_run(run)
    run.mkdir(parents=True, exist_ok=True)
    ckpt_io.remove_partial(run)
    metrics.truncate_after(step if resume_from is not None else -1)  # a fresh start keeps no row, step 0's too
    atomic_write_text(run / "config.toml", to_toml(to_dict(cfg)))
    if init is not None:
        atomic_write_json(run / BASE_MODEL_FILE, init.record())
    else:
        (run / BASE_MODEL_FILE).unlink(missing_ok=True)
    tok = run / "tokenizer"  # a copy, so `codegen export` works even if TOKENS moves
    tmp = run / ".tokenizer.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(info.tokenizer_dir, tmp)
    shutil.rmtree(tok, ignore_errors=True)
    tmp.rename(tok)


def _write_manifest(plan: _Plan, summary: TrainSummary, seconds: float) -> None:
    meta = plan.info.folder / "meta.json"
    write_manifest(plan.cfg.output, Manifest(
        stage="train",
        inputs=[{"path": str(plan.info.folder), "meta_sha256": sha256_file(meta)}],
        options=to_dict(plan.cfg),
        counts={"steps": summary.steps, "tokens": summary.tokens, "parameters": summary.parameters,
                "world_size": summary.world_size},
        timings={"train_seconds": round(seconds, 3)},
        extra={"config_hash": plan.config_hash, "summary": asdict(summary)},
    ))


class _Loop:
    """The optimizer-step loop with its counters; `state` is what a checkpoint stores."""

    def __init__(self, acc: Any, plan: _Plan, *, model: Any, optimizer: Any, metrics: MetricsLog,
                 flops_token: float, peak: float | None, state: dict[str, Any]) -> None:
        self.acc, self.plan, self.model, self.optimizer = acc, plan, model, optimizer
        self.metrics, self.flops_token, self.peak, self.state = metrics, flops_token, peak, state
        self.order = WindowOrder(len(plan.train), plan.cfg.seed)
        self.last_loss: float | None = None
        self.last_val: float | None = None
        self.initial_val: float | None = None  # --init-from: the starting model's val loss (step 0)
        self.last_saved = state["step"]
        self.train_seconds = 0.0
        self.trained_tokens = 0
        self._window = [0.0, 0]  # seconds and tokens since the last log line
        self._started = time.monotonic()

    def run(self, stop: StopFlag) -> None:
        cfg, state = self.plan.cfg, self.state
        tracker_cm = progress("train", total=self.plan.total_steps, unit="steps") if self.acc.is_main_process \
            else _NullProgress()
        if plan_init := self.plan.init:
            self._initial_val(plan_init)
        with tracker_cm as bar:
            bar.advance(state["step"])
            while state["step"] < self.plan.total_steps:
                seconds, loss, grad_norm, lr = self._step()
                step = state["step"]
                self._window[0] += seconds
                self._window[1] += self.plan.windows_per_step * int(cfg.seq_len)
                val = self.evaluate() if cfg.eval_every and step % cfg.eval_every == 0 else None
                if step % cfg.log_every == 0 or val is not None or step == self.plan.total_steps:
                    self._log(loss, grad_norm, lr, val=val, bar=bar)
                else:
                    bar.advance(1)
                stopping = any_rank(self.acc, stop.requested)
                if step % cfg.save_every == 0 or stopping:
                    self.save()
                if stopping:
                    raise Interrupted(f"interrupted at step {step}; checkpoint saved to "
                                      f"{ckpt_io.step_dir(cfg.output, step)}; rerun the same command to resume")
        if self.last_val is None or self.plan.cfg.eval_every == 0 or state["step"] % cfg.eval_every:
            val = self.evaluate()
            if val is not None and self.acc.is_main_process:
                self.metrics.write({"step": state["step"], "tokens": state["tokens_seen"], "val_loss": val,
                                    "val_perplexity": _perplexity(val)})
                log(f"final val loss {val:.4f} (perplexity {_perplexity(val):.2f})")
        if self.last_saved != state["step"]:
            self.save()

    def _step(self) -> tuple[float, float, float | None, float]:
        """One optimizer step over grad_accum micro-batches; returns (seconds, loss, grad norm, lr)."""
        acc, cfg, state = self.acc, self.plan.cfg, self.state
        start = time.perf_counter()
        lr = lr_at(state["step"], cfg.optim, self.plan.total_steps, warm_start=self.plan.init is not None)
        set_lr(self.optimizer, lr)  # before backward: DeepSpeed steps inside the last backward
        b, world, rank = int(cfg.micro_batch_size), acc.num_processes, acc.process_index
        loss_sum = torch.zeros((), device=acc.device)
        for micro in range(cfg.grad_accum):
            first = state["data_position"] + micro * b * world + rank * b
            batch = torch.from_numpy(self.plan.train.batch(self.order.take(first, b)))
            batch = batch.to(acc.device, non_blocking=True)
            with acc.accumulate(self.model):
                logits = self.model(input_ids=batch[:, :-1]).logits
                loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), batch[:, 1:].reshape(-1))
                acc.backward(loss)
            loss_sum += loss.detach()
        mean_loss = (acc.reduce(loss_sum, "mean") / cfg.grad_accum).item()
        if not math.isfinite(mean_loss):
            saved = ckpt_io.list_checkpoints(cfg.output)
            last = f"last good checkpoint: {saved[-1]}" if saved else "no checkpoint was saved yet"
            raise JobFailed(f"loss became {mean_loss} at step {state['step'] + 1}; stopped without saving "
                            f"({last}); lower --lr or raise optim.warmup_steps, then resume")
        grad_norm = None
        if cfg.optim.grad_clip > 0:
            grad_norm = acc.clip_grad_norm_(self.model.parameters(), cfg.optim.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        state["step"] += 1
        state["data_position"] += self.plan.windows_per_step
        tokens = self.plan.windows_per_step * int(cfg.seq_len)
        state["tokens_seen"] += tokens
        seconds = time.perf_counter() - start
        self.train_seconds += seconds
        self.trained_tokens += tokens
        self.last_loss = mean_loss
        return seconds, mean_loss, (float(grad_norm) if grad_norm is not None else None), lr

    def _initial_val(self, init: InitPlan) -> None:
        """The starting model's val loss as the metrics row of step 0 (measured once; a resume reads it)."""
        if self.state["step"] == 0:
            self.initial_val = self.evaluate()
            self.last_val = None  # step 0 is not the run's result
            if self.initial_val is not None and self.acc.is_main_process:
                self.metrics.write({"step": 0, "tokens": 0, "val_loss": self.initial_val,
                                    "val_perplexity": _perplexity(self.initial_val)})
                log(f"{init.name}: val loss {self.initial_val:.4f} before training "
                    f"(perplexity {_perplexity(self.initial_val):.2f})")
            return
        from codegen_cli.train.metrics import read_metrics

        path = self.metrics.path
        rows = read_metrics(path) if path.is_file() else []
        self.initial_val = next((row["val_loss"] for row in rows if row.get("step") == 0
                                 and isinstance(row.get("val_loss"), (int, float))), None)

    def evaluate(self) -> float | None:
        """Mean loss over the first eval_batches micro-batches per rank of the val split (fixed order)."""
        val, cfg, acc = self.plan.val, self.plan.cfg, self.acc
        if len(val) == 0:
            return None
        b, world = int(cfg.micro_batch_size), acc.num_processes
        batches = max(1, min(cfg.eval_batches, math.ceil(len(val) / (b * world))))
        total = torch.zeros((), device=acc.device)
        self.model.eval()
        with torch.no_grad():
            for i in range(batches):
                idx = (np.arange(b) + (i * world + acc.process_index) * b) % len(val)
                batch = torch.from_numpy(val.batch(idx)).to(acc.device)
                logits = self.model(input_ids=batch[:, :-1]).logits
                total += F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), batch[:, 1:].reshape(-1))
        self.model.train()
        self.last_val = (acc.reduce(total, "mean") / batches).item()
        return self.last_val

    def _log(self, loss: float, grad_norm: float | None, lr: float, *, val: float | None, bar: Any) -> None:
        seconds, tokens = self._window
        self._window = [0.0, 0]
        tps = tokens / seconds if seconds > 0 else 0.0
        util = mfu(tps, self.flops_token, self.peak, self.acc.num_processes)
        state = self.state
        row = {"step": state["step"], "tokens": state["tokens_seen"], "loss": loss, "lr": lr,
               "grad_norm": grad_norm, "tokens_per_s": round(tps, 2), "mfu": util,
               "epoch": self.order.epoch_of(state["data_position"]),
               "elapsed_s": round(time.monotonic() - self._started, 4)}
        if val is not None:
            row.update(val_loss=val, val_perplexity=_perplexity(val))
        if not self.acc.is_main_process:
            return
        self.metrics.write(row)
        if self.plan.cfg.trackers:
            self.acc.log({k: v for k, v in row.items() if v is not None}, step=state["step"])
        bar.advance(1, loss=f"{loss:.3f}", tok_s=f"{tps:,.0f}", mfu=fmt_mfu(util))
        extra = f" val {val:.4f}" if val is not None else ""
        log(f"step {state['step']}/{self.plan.total_steps} loss {loss:.4f}{extra} lr {lr:.2e} "
            f"{tps:,.0f} tok/s mfu {fmt_mfu(util)}")

    def save(self) -> None:
        cfg, state = self.plan.cfg, self.state
        trainer_state = {**state, "config_hash": self.plan.config_hash, "world_size": self.acc.num_processes,
                         "seed": cfg.seed, "loss": self.last_loss, "val_loss": self.last_val,
                         "epoch": self.order.epoch_of(state["data_position"]),
                         "windows_per_step": self.plan.windows_per_step, "batch_hash": self.plan.batch_hash}
        model_config = self.acc.unwrap_model(self.model, keep_torch_compile=False).config.to_dict()
        with heartbeat(f"train: checkpoint step {state['step']}") if self.acc.is_main_process \
                else contextlib.nullcontext():  # a big model's save takes minutes: say it is still going
            ckpt_io.save_checkpoint(self.acc, cfg.output, step=state["step"], state=trainer_state,
                                    model_config=model_config, keep=cfg.keep_checkpoints)
        self.last_saved = state["step"]

    def overall_tokens_per_s(self) -> float | None:
        return self.trained_tokens / self.train_seconds if self.train_seconds > 0 else None


class _NullProgress:
    """Stand-in for the progress bar on non-main processes."""

    def __enter__(self) -> _NullProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def advance(self, *args: Any, **kwargs: Any) -> None:
        return None
