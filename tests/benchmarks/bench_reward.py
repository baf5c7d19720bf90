"""Benchmark: execution rewards per second, `ExecutionReward` vs `codegen eval --samples` per batch, and the
latency of one batch through `codegen judge serve` (issue 25). Prints Markdown tables; asserts nothing.

    python tests/benchmarks/bench_reward.py --workers 2 --batches 4 --languages python,cpp

A batch is 64 completions: the canonical solutions of the first 64 problems of a language, each with a
comment that makes it a new program (so no batch is answered from the verdict cache; a real RL step has
fewer distinct programs, which only helps). Each measured run is a fresh process in its own cgroup-v1
cpuacct group (bench_runtime.measure: the CPU of every process it starts, sandboxed ones included):
- api: one ExecutionReward, `--batches` batches; it prints its start-up and per-batch wall times. The
  CPU of a steady batch is (CPU of a run with N batches - CPU of a run with 1) / (N - 1);
- eval: `codegen eval --samples batch.jsonl` once per batch, what an RL loop pays without the API;
- service: `codegen judge serve` on a unix socket; one warm-up batch, then `--batches` timed POSTs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]

BATCH = 64
COMMENT = {"python": "\n    # batch {b} sample {i}\n", "cpp": "\n// batch {b} sample {i}\n", "js": "\n// batch {b} sample {i}\n",
           "java": "\n// batch {b} sample {i}\n", "go": "\n// batch {b} sample {i}\n", "rust": "\n// batch {b} sample {i}\n"}


def batch(language: str, number: int) -> tuple[list[str], list[str]]:
    """(completions, task ids) of batch `number`: 64 canonical solutions, each a distinct program."""
    from codegen_cli.evaluate.problems import load_problems

    problems = load_problems(None, languages=[language], limit=BATCH)
    return ([p.canonical_solution + COMMENT[language].format(b=number, i=i) for i, p in enumerate(problems)],
            [p.task_id for p in problems])


def inner_api(language: str, batches: int, workers: int) -> None:
    """Run in the measured subprocess: start one reward, score `batches` batches, print the timings."""
    from codegen_cli.reward import ExecutionReward

    started = time.monotonic()
    reward = ExecutionReward(languages=[language], workers=workers)
    start_s = time.monotonic() - started
    walls, passed = [], []
    for number in range(batches):
        completions, ids = batch(language, number)
        began = time.monotonic()
        scores = reward(completions, task_id=ids)
        walls.append(time.monotonic() - began)
        passed.append(int(sum(scores)))
    reward.close()
    print(json.dumps({"start_s": start_s, "walls": walls, "passed": passed}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--languages", default="python,cpp")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--inner", default="")
    args = parser.parse_args()
    if args.inner:
        inner_api(args.inner, args.batches, args.workers)
        return
    print(f"# bench_reward {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, workers {args.workers}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}\n")
    print("| language | how | start s | batch wall s (median) | rewards/s | CPU s per completion | passed | load avg |")
    print("|---|---|---|---|---|---|---|---|")
    for language in args.languages.split(","):
        one, many = _measured_api(language, 1, args.workers), _measured_api(language, args.batches, args.workers)
        steady = many["walls"][1:] or many["walls"]
        cpu = (many["cpu"] - one["cpu"]) / ((args.batches - 1) * BATCH) if args.batches > 1 else float("nan")
        print(f"| {language} | ExecutionReward, warm | {many['start_s']:.1f} | {statistics.median(steady):.2f} | "
              f"{BATCH / statistics.median(steady):.1f} | {cpu:.4f} | {many['passed'][-1]}/{BATCH} | "
              f"{many['load'][0]:.1f}-{many['load'][1]:.1f} |")
        print(f"| {language} | ExecutionReward, first batch | | {many['walls'][0]:.2f} | "
              f"{BATCH / many['walls'][0]:.1f} | | {many['passed'][0]}/{BATCH} | |")
        evals = _measured_eval(language, args.batches, args.workers)
        walls = [r.wall for r in evals]
        print(f"| {language} | `codegen eval --samples` per batch | | {statistics.median(walls):.2f} | "
              f"{BATCH / statistics.median(walls):.1f} | {statistics.median(r.cpu for r in evals) / BATCH:.4f} | "
              f"{evals[-1].note} | {evals[0].load[0]:.1f}-{evals[-1].load[1]:.1f} |")
        served = _service(language, args.batches, args.workers)
        print(f"| {language} | `codegen judge serve` (unix socket) | {served['start_s']:.1f} | "
              f"{statistics.median(served['walls']):.2f} | {BATCH / statistics.median(served['walls']):.1f} | | "
              f"{served['passed']}/{BATCH} | {served['load'][0]:.1f}-{served['load'][1]:.1f} |")
        sys.stdout.flush()


def _measured_api(language: str, batches: int, workers: int) -> dict:
    from bench_runtime import measure

    argv = [sys.executable, __file__, "--inner", language, "--batches", str(batches), "--workers", str(workers)]
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "out.json"
        shell = ["/bin/sh", "-c", f'"$0" "$@" > {out}', *argv]
        run = measure(shell, env={**os.environ, "PYTHONPATH": str(ROOT)})
        if not run.ok:
            raise SystemExit(f"api run failed: {run.note}")
        result = json.loads(out.read_text().strip().splitlines()[-1])
    return {**result, "cpu": run.cpu, "load": run.load}


def _measured_eval(language: str, batches: int, workers: int) -> list:
    from bench_runtime import measure

    runs = []
    with tempfile.TemporaryDirectory() as work:
        for number in range(batches):
            completions, ids = batch(language, number)
            samples = Path(work) / f"batch{number}.jsonl"
            samples.write_text("".join(json.dumps({"task_id": t, "completion": c}) + "\n"
                                       for t, c in zip(ids, completions)))
            argv = [sys.executable, "-m", "codegen_cli", "eval", "--samples", str(samples), "-l", language,
                    "--workers", str(workers), "-k", "1", "--allow-code-execution", "-o", str(Path(work) / f"o{number}")]
            runs.append(measure(argv, env={**os.environ, "PYTHONPATH": str(ROOT)}))
            if not runs[-1].ok:
                raise SystemExit(f"eval run failed: {runs[-1].note}")
    return runs


def _service(language: str, batches: int, workers: int) -> dict:
    """Wall time of one POST /score per batch on a warm service (the first batch warms it, not timed)."""
    from codegen_cli.reward.client import JudgeClient
    from tests.reward.conftest import start_judge, stop_judge

    with tempfile.TemporaryDirectory() as work:
        load = os.getloadavg()[0]
        began = time.monotonic()
        proc, address = start_judge("-l", language, "--workers", str(workers), socket_path=Path(work) / "j.sock")
        start_s = time.monotonic() - began
        client = JudgeClient(address)
        walls, passed = [], 0
        try:
            for number in range(batches + 1):
                completions, ids = batch(language, 100 + number)
                sent = time.monotonic()
                scores = client(completions, task_id=ids)
                if number:
                    walls.append(time.monotonic() - sent)
                passed = int(sum(scores))
        finally:
            stop_judge(proc)
    return {"start_s": start_s, "walls": walls, "passed": passed, "load": (load, os.getloadavg()[0])}


if __name__ == "__main__":
    main()
