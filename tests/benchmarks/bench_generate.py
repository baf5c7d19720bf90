"""Generation speed: samples/s and generated tokens/s, batched vs one prompt at a time.

    python tests/benchmarks/bench_generate.py [--sizes small,medium] [--max-new-tokens 64] [--n 8] [--threads 1]
    python tests/benchmarks/bench_generate.py --model SmolLM2-135M-Instruct.Q4_1.gguf [--languages python,cpp]
        [--limit 8] [--max-new-tokens 256] [--prompt-style completion] [--batch-sizes 1,16] [--profile]

With --model (a real model: folder, .gguf or hub id), greedy n=1 over the first --limit HumanEval-X problems
of each language: the engine at each --batch-size, then plain `model.generate` on the same prompt texts
(left-padded batches of the largest batch size, shortest prompts first as the engine plans them, the
model's eos as the only stop, then one prompt at a time). Every line gives wall and CPU seconds of this
process (CPU is what a loaded shared box still measures fairly), samples/s, tokens/s (tokens up to each
row's own stop point or eos) and the load average. --profile splits each engine run's CPU seconds into
prefill forward, decode forward, stop criterion, token healing, prompt encoding/padding, cache
compaction, decoding of finished rows, and the rest (transformers' generate loop, sampling, Python).

Builds a byte-level BPE on the HumanEval-X files and Llama models with random weights (no download),
then runs the real engine (`generate_samples`) over 2 Python + 2 C++ problems, n samples each, with
--batch-size 1, --batch-size n*2, and --batch-size n*2 without dropping finished rows (compaction off).
Each line prints how the samples ended (`stop`, `eos`, `length`): with random weights about 60 % reach a
stop point at a random place and the rest run to --max-new-tokens (docs/generation.md), so rows finish
at different steps, which is what compaction is for. On a GPU the models load in
bf16 (dtype auto). Prints one line per run and a JSON summary at the end.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
DATA = REPO / "codegen_cli" / "evaluate" / "data" / "humaneval-x"  # the packaged copy

SIZES = {  # name: (hidden, layers, heads, intermediate)
    "small": (256, 4, 8, 688),  # ~3.5M parameters
    "medium": (512, 8, 8, 1376),  # ~25M parameters
    "350m": (1024, 24, 16, 2816),  # ~350M parameters (GPU)
}


def build(folder: Path, size: str, vocab: int = 2048) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from codegen_cli.tokenizer import train_tokenizer

    tok_dir = folder / "tokenizer"
    if not tok_dir.exists():
        docs = []
        for key, name in [("python", "Python"), ("cpp", "C++"), ("java", "Java"), ("go", "Go")]:
            with gzip.open(DATA / f"humaneval_{key}.jsonl.gz", "rt") as handle:
                docs += [(row["prompt"] + row["canonical_solution"], name) for row in map(json.loads, handle)]
        train_tokenizer(docs, tok_dir, vocab_size=vocab, tag_style="comment")
    tok = AutoTokenizer.from_pretrained(tok_dir)
    hidden, layers, heads, inter = SIZES[size]
    config = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                         num_key_value_heads=heads, intermediate_size=inter, max_position_embeddings=2048,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=None)
    torch.manual_seed(0)
    out = folder / size
    LlamaForCausalLM(config).save_pretrained(out)
    tok.save_pretrained(out)
    (out / "codegen_tokenizer.json").write_text((tok_dir / "codegen_tokenizer.json").read_text())
    return out


def run(model: Path, out: Path, *, n: int, batch_size: int, max_new_tokens: int) -> dict:
    from codegen_cli.evaluate.problems import load_problems
    from codegen_cli.generation import GenerationConfig, generate_samples

    problems = load_problems(DATA, languages=["python", "cpp"], limit=2)
    config = GenerationConfig(model=str(model), output=out, n_samples=n, batch_size=batch_size,
                              max_new_tokens=max_new_tokens, temperature=0.8, top_p=0.95, seed=1)
    started = time.monotonic()
    summary = generate_samples(config, problems)
    return {"samples": summary.generated, "tokens": summary.generated_tokens,
            "seconds": round(summary.seconds, 2), "wall_with_load_s": round(time.monotonic() - started, 2),
            "samples_per_s": round(summary.samples_per_s, 2), "tokens_per_s": round(summary.tokens_per_s, 1),
            "device": summary.device, "dtype": summary.dtype, "finish": summary.finish_reasons}


def prompt_texts(lm, problems, style: str) -> list[str]:
    """What the engine shows the model for each problem (tag style none: a model not trained here)."""
    from codegen_cli.generation.chat import chat_prompt, instruction
    from codegen_cli.generation.prompts import problem_text, tagged_prompt

    if style == "chat":
        return [chat_prompt(lm.tokenizer, instruction(p.language, problem_text(p)), p.language).text for p in problems]
    return [tagged_prompt(problem_text(p), p.language, "none") for p in problems]


def plain_generate(lm, texts: list[str], *, batch_size: int, max_new_tokens: int, chat: bool) -> dict:
    """transformers' own `generate` on the same prompts: greedy, left padding, eos the only stop."""
    import torch

    order = sorted(range(len(texts)), key=lambda i: len(lm.tokenizer(texts[i])["input_ids"]))
    eos = set(lm.eos_ids)
    tokens = 0
    for start in range(0, len(order), batch_size):
        chunk = [texts[i] for i in order[start:start + batch_size]]
        enc = lm.tokenizer(chunk, return_tensors="pt", padding=True, padding_side="left",
                           add_special_tokens=not chat)
        with torch.inference_mode():
            out = lm.model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                    pad_token_id=lm.tokenizer.pad_token_id, eos_token_id=lm.eos_ids or None)
        for row in out[:, enc["input_ids"].shape[1]:].tolist():
            ends = [i for i, t in enumerate(row) if t in eos]
            tokens += ends[0] + 1 if ends else len(row)
    return {"samples": len(texts), "tokens": tokens}


class Profile:
    """CPU seconds (this process) spent inside a few wrapped functions of the generation code."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.undo: list = []

    def wrap(self, owner, name: str, label, *, method: bool = False) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                key = label(args, kwargs) if callable(label) else label
                self.seconds[key] = self.seconds.get(key, 0.0) + time.process_time() - start

        setattr(owner, name, timed)
        self.undo.append((owner, name, original))

    def restore(self) -> None:
        for owner, name, original in reversed(self.undo):
            setattr(owner, name, original)
        self.undo.clear()


def profiled(lm) -> Profile:
    """Wrap the model's forward (prefill = more than one new position) and the engine's per-step parts."""
    from codegen_cli.generation import criteria, healing, sampler

    prof = Profile()

    def forward_kind(args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        return "forward: prefill" if ids is not None and ids.shape[1] > 1 else "forward: decode step"

    prof.wrap(lm.model, "forward", forward_kind)
    prof.wrap(criteria.PerSequenceStop, "__call__", "stop criterion")
    prof.wrap(healing.HealingProcessor, "__call__", "token healing")
    prof.wrap(sampler, "encode_prompts", "encode + pad prompts")
    prof.wrap(sampler, "_compact", "drop finished rows")
    prof.wrap(sampler, "_completion", "decode + cut finished rows")
    return prof


def proc_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its waited-for children, from /proc (utime+stime+cutime+cstime)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def through_server(lm, problems, args, out: Path) -> tuple[dict, float, float, float]:
    """The engine with --backend openai against `transformers serve` of the same model folder on a free
    127.0.0.1 port (as tests/generation/test_openai_server.py starts it); returns the run's counts, wall
    seconds, this process's CPU seconds and the server's CPU seconds during the run."""
    import os
    import shutil
    import signal
    import socket
    import subprocess
    import urllib.request

    from codegen_cli.generation import GenerationConfig, generate_samples
    from codegen_cli.generation.sources import loadable, resolve_source

    folder = loadable(resolve_source(args.model))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    proc = subprocess.Popen([shutil.which("transformers") or "transformers", "serve", str(folder), "--host", "127.0.0.1",
                             "--port", str(port), "--device", "cpu", "--dtype", "float32"],
                            stdout=(out.parent / "serve.log").open("w"), stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"transformers serve did not come up: {(out.parent / 'serve.log').read_text()[-2000:]}")
            time.sleep(0.2)
        served = proc_cpu_seconds(proc.pid)
        wall, cpu = time.monotonic(), time.process_time()
        summary = generate_samples(GenerationConfig(
            output=out, backend="openai", base_url=f"http://127.0.0.1:{port}/v1", model=str(folder), n_samples=1,
            max_new_tokens=args.max_new_tokens, temperature=0.0, prompt_style=args.prompt_style,
            batch_size=args.server_batch, concurrency=args.server_batch), problems)
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
        served = proc_cpu_seconds(proc.pid) - served
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return {"samples": summary.generated, "tokens": summary.generated_tokens,
            "finish": summary.finish_reasons}, wall, cpu, served


def real_model(args) -> list[dict]:
    """The engine at each batch size and plain generate, on a real model (see the module docstring)."""
    import os

    import torch

    from codegen_cli.evaluate.problems import load_problems
    from codegen_cli.generation import GenerationConfig, generate_samples
    from codegen_cli.generation.engine import make_runner

    problems = load_problems(DATA, languages=args.languages.split(","), limit=args.limit)
    base = {"model": args.model, "n_samples": 1, "max_new_tokens": args.max_new_tokens, "temperature": 0.0,
            "prompt_style": args.prompt_style}
    runner = make_runner(GenerationConfig(output=Path(tempfile.gettempdir()), **base))
    lm = runner.lm
    results = []

    def report(label: str, res: dict, wall: float, cpu: float, extra: str = "") -> None:
        res.update(run=label, wall_s=round(wall, 2), cpu_s=round(cpu, 2), samples_per_s=round(res["samples"] / wall, 3),
                   tokens_per_s=round(res["tokens"] / wall, 1), samples_per_cpu_s=round(res["samples"] / cpu, 3),
                   tokens_per_cpu_s=round(res["tokens"] / cpu, 1), load=round(os.getloadavg()[0], 2),
                   threads=torch.get_num_threads())
        results.append(res)
        print(f"{label:<22}: {res['samples_per_s']:6.3f} samples/s {res['tokens_per_s']:6.1f} tok/s | per CPU s: "
              f"{res['samples_per_cpu_s']:6.3f} samples {res['tokens_per_cpu_s']:6.1f} tok | {res['samples']} samples "
              f"{res['tokens']} tokens, wall {wall:.1f}s cpu {cpu:.1f}s, load {res['load']}{extra}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        for batch in [int(b) for b in args.batch_sizes.split(",")]:
            prof = profiled(lm) if args.profile else None
            wall, cpu = time.monotonic(), time.process_time()
            summary = generate_samples(GenerationConfig(output=Path(tmp) / f"b{batch}", batch_size=batch, **base),
                                       problems, get_runner=lambda: runner)
            wall, cpu = time.monotonic() - wall, time.process_time() - cpu
            res = {"samples": summary.generated, "tokens": summary.generated_tokens, "batch_size": batch,
                   "finish": summary.finish_reasons}
            extra = f", ended by {summary.finish_reasons}"
            if prof is not None:
                prof.restore()
                parts = dict(sorted(prof.seconds.items(), key=lambda kv: -kv[1]))
                parts["rest (generate loop, sampling, Python)"] = cpu - sum(parts.values())
                res["profile_cpu_s"] = {k: round(v, 2) for k, v in parts.items()}
                extra += "\n    " + "; ".join(f"{k} {v:.2f}s ({100 * v / cpu:.0f}%)" for k, v in parts.items())
            report(f"engine, batch {batch}", res, wall, cpu, extra)
        if args.plain:
            texts = prompt_texts(lm, problems, runner.config.prompt_style or "completion")
            for batch in sorted({max(int(b) for b in args.batch_sizes.split(",")), 1}, reverse=True):
                wall, cpu = time.monotonic(), time.process_time()
                res = plain_generate(lm, texts, batch_size=batch, max_new_tokens=args.max_new_tokens,
                                     chat=args.prompt_style == "chat")
                res["batch_size"] = batch
                report(f"model.generate, batch {batch}", res, time.monotonic() - wall, time.process_time() - cpu)
        if args.serve:
            res, wall, cpu, served = through_server(lm, problems, args, Path(tmp) / "served")
            res["server_cpu_s"] = round(served, 2)
            # CPU of both processes: the client only sends requests, the server does the generating
            report(f"openai backend, {args.server_batch} in flight", res, wall, cpu + served,
                   f" (server {served:.1f}s + client {cpu:.1f}s CPU)")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a real model (folder, .gguf, hub id) instead of random weights")
    parser.add_argument("--languages", default="python,cpp")
    parser.add_argument("--limit", type=int, default=8, help="--model: first N problems per language")
    parser.add_argument("--prompt-style", default="completion", help="--model: completion or chat")
    parser.add_argument("--batch-sizes", default="1,16", help="--model: engine batch sizes to run")
    parser.add_argument("--no-plain", dest="plain", action="store_false", help="--model: skip model.generate")
    parser.add_argument("--profile", action="store_true", help="--model: split CPU seconds by part")
    parser.add_argument("--serve", action="store_true",
                        help="--model: also through --backend openai against `transformers serve` on 127.0.0.1")
    parser.add_argument("--server-batch", type=int, default=4, help="--serve: requests in flight (--concurrency)")
    parser.add_argument("--sizes", default="small,medium")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: on a shared, loaded CPU more threads spin against each other)")
    args = parser.parse_args()
    import torch

    from codegen_cli.generation import sampler

    torch.set_num_threads(args.threads)
    if args.model:
        print(json.dumps(real_model(args)))
        return

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for size in args.sizes.split(","):
            model = build(root, size)
            params = sum(t.numel() for t in __import__("safetensors.torch", fromlist=["load_file"])
                         .load_file(str(model / "model.safetensors")).values())
            # (batch size, compact every): one prompt at a time, batched, batched without compaction
            for batch, compact in ((1, 32), (args.n * 2, 32), (args.n * 2, 10**9)):
                sampler.COMPACT_EVERY = compact
                sampler.COMPACT_SHARE = 0.25 if compact < 10**9 else None
                res = run(model, root / f"out-{size}-{batch}-{compact}", n=args.n, batch_size=batch,
                          max_new_tokens=args.max_new_tokens)
                res.update(size=size, params=params, batch_size=batch, threads=torch.get_num_threads(),
                           compact_every=compact if compact < 10**9 else None)
                results.append(res)
                label = f"batch {batch:>3}" + ("" if compact < 10**9 else " no compaction")
                print(f"{size:>6} ({params / 1e6:.1f}M) {label:<24}: {res['samples_per_s']:7.2f} samples/s "
                      f"{res['tokens_per_s']:8.1f} tok/s  ({res['samples']} samples, {res['tokens']} tokens, "
                      f"{res['seconds']}s, {res['device']} {res['dtype']}; ended by {res['finish']})", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
