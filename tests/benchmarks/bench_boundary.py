"""The prompt-boundary table of docs/generation.md: does a codegen-trained model indent the first line of
its completion, with and without token healing?

Builds a codegen model the way tests/train/conftest.py does (Python standard-library modules as a corpus,
the real `codegen tokenize` with comment tags, then `codegen train`), then completes the first N
HumanEval-X problems per language greedily, once with `token_healing` off and once on, and counts the
completions whose first non-blank line starts with indentation (every HumanEval-X prompt except Rust's
ends inside a function body, one line above the first body line).

    OMP_NUM_THREADS=1 python tests/benchmarks/bench_boundary.py --workdir /tmp/boundary --steps 600 --limit 20
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def build_model(workdir: Path, *, steps: int, preset: str, corpus_bytes: int) -> Path:
    from tests.train.conftest import make_tokens_folder, stdlib_documents

    run = workdir / "run"
    if (run / "hf" / "config.json").is_file():
        return run / "hf"
    tokens = workdir / "tokens"
    if not (tokens / "meta.json").is_file():
        make_tokens_folder(tokens, stdlib_documents(corpus_bytes), vocab=4096)
    subprocess.run([sys.executable, "-m", "codegen_cli", "train", str(tokens), "-o", str(run), "--preset", preset,
                    "--max-steps", str(steps), "--seq-len", "256", "--micro-batch-size", "8",
                    "--set", "eval_every=0", "--set", f"save_every={steps}"], check=True)
    return run / "hf"


def first_line_indented(text: str) -> bool:
    line = next((line for line in text.split("\n") if line.strip()), "")
    return line[:1] in (" ", "\t")


def measure(model: Path, limit: int, languages: list[str]) -> dict[str, dict[str, int]]:
    from codegen_cli.evaluate.problems import load_problems
    from codegen_cli.generation.prompts import problem_text, resolve_tag_style, tagged_prompt
    from codegen_cli.generation.sampler import generate_batch, load_model

    lm = load_model(str(model))
    style = resolve_tag_style(model, None)
    table: dict[str, dict[str, int]] = {}
    for lang in languages:
        problems = load_problems(None, languages=[lang], limit=limit)
        prompts = [tagged_prompt(problem_text(p), lang, style) for p in problems]
        row = {"problems": len(problems)}
        for heal in (False, True):
            outs = []
            for start in range(0, len(prompts), 10):
                outs += generate_batch(lm, prompts[start:start + 10], [lang] * len(prompts[start:start + 10]),
                                       temperature=0, top_p=1, top_k=0, max_new_tokens=24, seed=0, heal=heal)
            row["healed" if heal else "as-is"] = sum(first_line_indented(o.text) for o in outs)
        table[lang] = row
        print(lang, row, flush=True)
    return table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/codegen-boundary"))
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--corpus-bytes", type=int, default=2_000_000)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--languages", default="python,cpp,java,js,go,rust")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    started = time.monotonic()
    model = build_model(args.workdir, steps=args.steps, preset=args.preset, corpus_bytes=args.corpus_bytes)
    print(f"model ready in {time.monotonic() - started:.0f} s: {model}", flush=True)
    table = measure(model, args.limit, args.languages.split(","))
    print("| language | problems | first line indented, prompt as-is | with token healing |")
    print("|---|---|---|---|")
    for lang, row in table.items():
        print(f"| {lang} | {row['problems']} | {row['as-is']} | {row['healed']} |")
    total = {k: sum(r[k] for r in table.values()) for k in ("problems", "as-is", "healed")}
    print(f"| all | {total['problems']} | {total['as-is']} | {total['healed']} |")


if __name__ == "__main__":
    main()
