"""Generation speed: samples/s and generated tokens/s, batched vs one prompt at a time.

    python tests/benchmarks/bench_generate.py [--sizes small,medium] [--max-new-tokens 64] [--n 8] [--threads 1]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small,medium")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: on a shared, loaded CPU more threads spin against each other)")
    args = parser.parse_args()
    import torch

    from codegen_cli.generation import sampler

    torch.set_num_threads(args.threads)

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
