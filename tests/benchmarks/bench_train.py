"""CPU tokens/s of `codegen train` vs a minimal hand-written PyTorch loop (same model, batch, dtype).

    python tests/benchmarks/bench_train.py [--preset small] [--steps 30] [--repeats 2]
    python tests/benchmarks/bench_train.py --ab [--preset tiny] [--steps 50] [--repeats 3]
    python tests/benchmarks/bench_train.py --gpu [--gpu-presets 125m,350m] [--steps 30] [--compile]

Both loops train the same freshly initialised model (same config and seed) in fp32 on the CPU with the
same micro-batch and sequence length; the hand loop has no Accelerate, no checkpoints, no metrics file.
Runs alternate (hand, codegen, hand, codegen, ...) so a change in machine load hits both, and the
first `--warmup` steps of each run are not timed. Two rates: wall clock (codegen's from the time between
its metrics.jsonl rows, so everything its loop does counts: log lines, metrics rows) and CPU
time of the process (robust when other jobs share the machine; codegen's is the difference between a
run of warmup steps and one of warmup + steps, so setup and end-of-run work cancel out).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CODEGEN_NO_PROGRESS", "1")


def hand_loop(tokens: Path, cfg, steps: int, warmup: int) -> tuple[float, float]:
    """The minimal loop: random windows from the memmap, forward, loss, backward, clip, AdamW."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from codegen_cli.train.data import read_tokens_info
    from codegen_cli.train.model import build_model, hf_config

    info = read_tokens_info(tokens)
    data = np.concatenate([np.memmap(tokens / s, dtype=info.dtype, mode="r")
                           for s in info.meta["splits"]["train"]["shards"]])
    model = build_model(hf_config(cfg.model, vocab_size=info.vocab_size, seq_len=cfg.seq_len,
                                  special_ids=info.special_ids), seed=cfg.seed)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.optim.lr, betas=(0.9, 0.95), weight_decay=0.1)
    rng = np.random.default_rng(0)
    T, B = cfg.seq_len, cfg.micro_batch_size
    start = cpu_start = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            start, cpu_start = time.perf_counter(), time.process_time()
        ix = rng.integers(0, len(data) - T - 1, B)
        batch = torch.from_numpy(np.stack([data[i:i + T + 1].astype(np.int64) for i in ix]))
        logits = model(input_ids=batch[:, :-1]).logits
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), batch[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss.item()
    tokens_done = steps * B * T
    return tokens_done / (time.perf_counter() - start), tokens_done / (time.process_time() - cpu_start)


def codegen_loop(tokens: Path, cfg, steps: int, warmup: int) -> tuple[float, float]:
    """Wall rate from the metrics rows; CPU rate from two runs (warmup vs warmup + steps steps), whose
    difference in process CPU time is the cost of `steps` steps with setup and the end-of-run work cancelled."""
    import dataclasses

    from codegen_cli.train.loop import train
    from codegen_cli.train.metrics import read_metrics

    cpu = []
    for total in (warmup, warmup + steps):
        run = Path(tempfile.mkdtemp(prefix="bench-run-"))
        try:
            start = time.process_time()
            train(dataclasses.replace(cfg, output=run, max_steps=total, resume="never"))
            cpu.append(time.process_time() - start)
            rows = [r for r in read_metrics(run / "metrics.jsonl") if "loss" in r]
        finally:
            shutil.rmtree(run, ignore_errors=True)
    first, last = next(r for r in rows if r["step"] == warmup), rows[-1]
    tokens_done = last["tokens"] - first["tokens"]
    return tokens_done / (last["elapsed_s"] - first["elapsed_s"]), tokens_done / (cpu[1] - cpu[0])


def _run_codegen(train_loop, cfg, steps: int, spent: dict, dataclasses) -> None:
    spent.update(cpu=0.0, steps=0)
    run = Path(tempfile.mkdtemp(prefix="bench-ab-"))
    try:
        train_loop.train(dataclasses.replace(cfg, output=run, max_steps=steps, resume="never"))
    finally:
        shutil.rmtree(run, ignore_errors=True)


def step_ab(tokens: Path, cfg, steps: int, repeats: int) -> None:
    """Same-process A/B: CPU time per optimizer step of codegen's loop (each `_Loop._step` timed by
    wrapping it) right after the hand loop, so both see the same machine load."""
    import dataclasses

    from codegen_cli.train import loop as train_loop

    original = train_loop._Loop._step
    spent = {"cpu": 0.0, "steps": 0}

    def timed(self):
        start = time.process_time()
        result = original(self)
        spent["cpu"] += time.process_time() - start
        spent["steps"] += 1
        return result

    train_loop._Loop._step = timed
    tokens_per_step = int(cfg.seq_len) * int(cfg.micro_batch_size)
    ratios = []
    try:
        for rep in range(repeats):
            if rep % 2:  # alternate which loop runs first: the second one inherits a warmer, busier heap
                ours_first = True
                _run_codegen(train_loop, cfg, steps, spent, dataclasses)
                _, hand_rate = hand_loop(tokens, cfg, steps, 0)
            else:
                ours_first = False
                _, hand_rate = hand_loop(tokens, cfg, steps, 0)
                _run_codegen(train_loop, cfg, steps, spent, dataclasses)
            hand_ms, ours_ms = 1000 * tokens_per_step / hand_rate, 1000 * spent["cpu"] / spent["steps"]
            ratios.append(ours_ms / hand_ms)
            print(f"  repeat {rep + 1} ({'codegen' if ours_first else 'hand loop'} first): hand loop "
                  f"{hand_ms:.1f} ms/step, codegen step {ours_ms:.1f} ms/step (CPU time)", flush=True)
    finally:
        train_loop._Loop._step = original
    print(f"median step overhead {100 * (statistics.median(ratios) - 1):+.1f}% (goal < 10%)")


def gpu_mfu(tokens: Path, presets: list[str], steps: int, warmup: int, compile_model: bool) -> None:
    """tokens/s and MFU of `codegen train` (bf16, one GPU) per preset, from its own metrics.jsonl."""
    import torch

    from codegen_cli.train.config import load_train_config, resolve
    from codegen_cli.train.loop import train
    from codegen_cli.train.metrics import read_metrics

    print(f"device: {torch.cuda.get_device_name(0)}")
    for preset in presets:
        run = Path(tempfile.mkdtemp(prefix=f"bench-gpu-{preset}-"))
        cfg = resolve(load_train_config({
            "tokens": str(tokens), "output": str(run), "preset": preset, "max_steps": warmup + steps,
            "log_every": 1, "save_every": 10**9, "eval_every": 0, "eval_batches": 1, "export": False,
            "mixed_precision": "bf16", "compile": compile_model, "resume": "never"}))
        torch.cuda.reset_peak_memory_stats()
        train(cfg)
        rows = [r for r in read_metrics(run / "metrics.jsonl") if "loss" in r][warmup:]
        tps = statistics.median(r["tokens_per_s"] for r in rows)
        mfu = statistics.median(r["mfu"] for r in rows if r["mfu"] is not None) if rows[0]["mfu"] else None
        shown = f"MFU {100 * mfu:.1f}%" if mfu else "MFU n/a (GPU not in the peak table)"
        print(f"  {preset}: seq {cfg.seq_len} x micro-batch {cfg.micro_batch_size}, compile={compile_model}: "
              f"{tps:,.0f} tok/s, {shown}, peak mem {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB",
              flush=True)
        shutil.rmtree(run, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps (a multiple of --log-every)")
    parser.add_argument("--log-every", type=int, default=10, help="codegen's metrics/log period (default as shipped)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seq-len", type=int, default=None)
    parser.add_argument("--micro-batch-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: CPU time is comparable)")
    parser.add_argument("--ab", action="store_true", help="same-process per-step A/B instead")
    parser.add_argument("--gpu", action="store_true", help="measure tokens/s and MFU on the GPU instead")
    parser.add_argument("--gpu-presets", default="125m,350m")
    parser.add_argument("--compile", action="store_true", help="torch.compile in the --gpu runs")
    args = parser.parse_args()

    import torch

    from codegen_cli.train.config import load_train_config, resolve
    from tests.train.conftest import make_tokens_folder, stdlib_documents

    if not args.gpu:
        torch.set_num_threads(args.threads)

    work = Path(tempfile.mkdtemp(prefix="bench-train-"))
    try:
        tokens = make_tokens_folder(work / "tokens", stdlib_documents(600_000), vocab=4096)
        mapping = {"tokens": str(tokens), "preset": args.preset, "max_steps": 1, "log_every": args.log_every,
                   "save_every": 10**9, "eval_every": 0, "eval_batches": 1, "export": False,
                   "mixed_precision": "no"}
        if args.seq_len:
            mapping["seq_len"] = args.seq_len
        if args.micro_batch_size:
            mapping["micro_batch_size"] = args.micro_batch_size
        cfg = resolve(load_train_config(mapping))
        if args.ab:
            step_ab(tokens, cfg, args.steps, args.repeats)
            return
        if args.gpu:
            gpu_mfu(tokens, args.gpu_presets.split(","), args.steps, args.warmup, args.compile)
            return
        print(f"preset {args.preset}: seq_len {cfg.seq_len}, micro-batch {cfg.micro_batch_size}, fp32, "
              f"torch threads {torch.get_num_threads()}, {args.steps} timed steps after {args.warmup} warm-up")
        hand, ours = [], []
        for rep in range(args.repeats):
            hand.append(hand_loop(tokens, cfg, args.steps, args.warmup))
            ours.append(codegen_loop(tokens, cfg, args.steps, args.warmup))
            print(f"  repeat {rep + 1}: hand loop {hand[-1][0]:,.0f} tok/s wall, {hand[-1][1]:,.0f} tok/CPU-s; "
                  f"codegen train {ours[-1][0]:,.0f} tok/s wall, {ours[-1][1]:,.0f} tok/CPU-s", flush=True)
        for k, what in ((0, "wall clock"), (1, "CPU time")):
            h, o = statistics.median(x[k] for x in hand), statistics.median(x[k] for x in ours)
            print(f"median by {what}: hand loop {h:,.0f}, codegen train {o:,.0f} tokens/s, "
                  f"overhead {100 * (h - o) / h:+.1f}% (goal < 10%)")
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
