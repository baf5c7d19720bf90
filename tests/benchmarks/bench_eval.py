"""Benchmark: `--check-references` throughput per language, ours vs a naive per-program compile + run.

Naive = the way CodeGeeX's evaluator works, one fresh toolchain call per program, no reuse: `g++` (no
precompiled header), `javac Main.java && java Main`, `go test` per program directory, `cargo test` per
program (dependencies prebuilt once, as in CodeGeeX's shared cargo project), `node`, `python`. Both sides
run every command in the same sandbox tier with the same number of workers, so only the build strategy
differs. Prints a Markdown table (programs/s and speed-up per language and overall).

    python tests/benchmarks/bench_eval.py --limit 40 --workers 2
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from codegen_cli.evaluate.config import ScoringConfig
from codegen_cli.evaluate.languages import get_language
from codegen_cli.evaluate.languages.base import new_harness_name
from codegen_cli.evaluate.languages.context import default_cache_dir
from codegen_cli.evaluate.languages.go import go_env
from codegen_cli.evaluate.languages.rust import CRATES, REGISTRY
from codegen_cli.evaluate.problems import PACKAGED_DIR as DATA
from codegen_cli.evaluate.problems import load_problems
from codegen_cli.evaluate.sandbox import Limits, Sandbox, scratch_dir
from codegen_cli.evaluate.scoring import score

LANGUAGES = ("python", "cpp", "java", "js", "go", "rust")
NAIVE_FILE = {
    "python": "main.py",
    "cpp": "main.cpp",
    "java": "Main.java",
    "js": "main.js",
    "go": "main_test.go",
    "rust": "src/main.rs",
}


def naive_commands(language: str) -> list[list[str]]:
    return {
        "python": [[sys.executable, "main.py"]],
        "cpp": [["g++", "-std=c++17", "main.cpp", "-o", "a.out", "-lcrypto"], ["./a.out"]],
        "java": [["javac", "Main.java"], ["java", "-cp", ".", "Main"]],
        "js": [["node", "main.js"]],
        "go": [["go", "test", "-count=1", "./"]],
        "rust": [["cargo", "test", "--offline", "-q"]],
    }[language]


def _rust_project(folder: Path) -> None:
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / ".cargo").mkdir(exist_ok=True)
    requires = "".join(f'{name} = "{version}"\n' for name, version in CRATES.items())
    (folder / "Cargo.toml").write_text(
        '[package]\nname = "naive"\nversion = "0.1.0"\nedition = "2021"\n\n'
        "[dependencies]\n" + requires + "\n[profile.dev]\ndebug = 0\n"
    )
    (folder / ".cargo" / "config.toml").write_text(
        f'[source.crates-io]\nreplace-with = "debian"\n\n[source.debian]\ndirectory = "{REGISTRY}"\n\n'
        "[net]\noffline = true\n"
    )


_CPUACCT: Path | None = None


def track_cpu() -> None:
    """Put this process (and so every sandboxed toolchain it starts) in its own cgroup-v1 cpuacct group.

    getrusage misses the programs that bubblewrap's private PID namespace reaps, so the cgroup is the
    reliable CPU meter; without a writable cpuacct hierarchy we fall back to getrusage.
    """
    global _CPUACCT
    group = Path("/sys/fs/cgroup/cpuacct") / f"codegen-bench-{os.getpid()}"
    try:
        group.mkdir(exist_ok=True)
        (group / "cgroup.procs").write_text(str(os.getpid()))
        _CPUACCT = group
    except OSError:
        _CPUACCT = None


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and all its descendants (the sandboxed toolchains)."""
    if _CPUACCT is not None:
        return int((_CPUACCT / "cpuacct.usage").read_text()) / 1e9
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def naive_run(
    language: str, problems, sandbox: Sandbox, workers: int, cache: Path
) -> tuple[float, float, int]:
    """(wall s, CPU s, programs passed) for a fresh compile + run of every canonical solution."""
    lang = get_language(language)
    limits = Limits(wall_seconds=120, memory_bytes=None)
    shared = Path(tempfile.mkdtemp(prefix="codegen-naive-"))
    targets = []
    if language == "rust":  # one warm target dir per worker, like CodeGeeX's one shared cargo project
        for i in range(workers):
            _rust_project(shared / f"warm{i}")
            (shared / f"warm{i}" / "src" / "main.rs").write_text("fn main() {}\n")
            os.system(
                f"cd {shared}/warm{i} && CARGO_HOME={shared}/ch CARGO_TARGET_DIR={shared}/t{i} "
                "cargo build --offline -q 2>/dev/null"
            )
            targets.append(shared / f"t{i}")
    if language == "go":  # a writable copy of the warm build cache, as a user's own GOCACHE would be
        shutil.copytree(cache / "go" / "cache", shared / "gocache")
    slots = list(range(workers))
    passed = []

    def one(problem) -> None:
        slot = slots.pop()
        try:
            with scratch_dir() as work:
                text = lang.assemble(problem, problem.canonical_solution).text(new_harness_name())
                if language == "rust":
                    _rust_project(work)
                target = work / NAIVE_FILE[language]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text.replace("\nclass CodegenRunner", "\nclass CodegenRunnerX"))
                env, writable = {}, [work]
                if language == "go":
                    env = {**go_env(cache, work), "GOCACHE": str(shared / "gocache")}
                    writable.append(shared / "gocache")
                if language == "rust":
                    env = {"CARGO_HOME": str(shared / "ch"), "CARGO_TARGET_DIR": str(targets[slot])}
                    writable += [shared / "ch", targets[slot]]
                if language == "js":
                    env = {"NODE_PATH": str(cache / "js" / "node_modules")}
                for argv in naive_commands(language):
                    result = sandbox.run(
                        argv,
                        workdir=work,
                        limits=limits,
                        env=env,
                        writable_paths=writable,
                        readonly_paths=(cache,),
                    )
                    if result.returncode != 0:
                        break
                else:
                    passed.append(problem.task_id)
        finally:
            slots.append(slot)

    start, cpu = time.monotonic(), cpu_seconds()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, problems))
    seconds, cpu = time.monotonic() - start, cpu_seconds() - cpu
    shutil.rmtree(shared, ignore_errors=True)
    return seconds, cpu, len(passed)


def ours(languages: list[str], limit: int, workers: int) -> tuple[float, float, int]:
    """(wall s, CPU s, programs passed) for our --check-references."""
    with tempfile.TemporaryDirectory() as out:
        start, cpu = time.monotonic(), cpu_seconds()
        summary = score(
            ScoringConfig(
                output=Path(out),
                check_references=True,
                problems=str(DATA),
                languages=languages,
                limit=limit,
                k=[1],
                workers=workers,
            )
        )
        return time.monotonic() - start, cpu_seconds() - cpu, summary.references["passed"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=40, help="problems per language (164 = all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--ours-only", action="store_true", help="only the all-languages run of ours")
    parser.add_argument(
        "--ours-each",
        action="store_true",
        help="ours only, one run per language (the verdict-cost table: compare two commits with it)",
    )
    args = parser.parse_args()
    languages = args.languages.split(",")
    track_cpu()
    sandbox, cache = Sandbox(), default_cache_dir()
    ours(languages, 1, args.workers)  # warm the tool cache (PCH, crates, CDS, Go cache) outside the timings
    print(
        f"sandbox tier {sandbox.tier}, workers {args.workers}, {args.limit} problems per language, "
        f"load average {os.getloadavg()[0]:.1f}, CPU meter: {'cgroup cpuacct' if _CPUACCT else 'getrusage'}\n"
    )
    if args.ours_each:
        _ours_each(languages, args.limit, args.workers)
        return
    if args.ours_only:
        wall, cpu, _ = ours(languages, args.limit, args.workers)
        n = args.limit * len(languages)
        print(f"ours, all languages in ONE run: {wall:.1f} s wall, {cpu:.1f} s CPU, {n / wall:.2f} prog/s")
        return
    print(
        "Wall clock is at the mercy of other load on the machine; CPU seconds (this process + every "
        "sandboxed toolchain) measure the work itself.\n"
    )
    print(
        "| language | programs | ours wall s | ours CPU s | ours programs/s | naive wall s | naive CPU s | "
        "naive programs/s | speed-up wall | speed-up CPU | passed ours/naive |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    totals = [0.0, 0.0, 0.0, 0.0]
    for language in languages:
        problems = load_problems(DATA, languages=[language], limit=args.limit)
        wall, cpu, ok = ours([language], args.limit, args.workers)
        n_wall, n_cpu, n_ok = naive_run(language, problems, sandbox, args.workers, cache)
        totals = [totals[0] + wall, totals[1] + cpu, totals[2] + n_wall, totals[3] + n_cpu]
        _row(language, len(problems), wall, cpu, n_wall, n_cpu, f"{ok}/{n_ok}")
    _row("overall (sum)", args.limit * len(languages), *totals, "")
    wall, cpu, _ = ours(languages, args.limit, args.workers)
    print(
        f"\nall languages in ONE run (ours): {wall:.1f} s wall, {cpu:.1f} s CPU, "
        f"{args.limit * len(languages) / wall:.2f} programs/s"
    )


def _ours_each(languages: list[str], limit: int, workers: int) -> None:
    """One `--check-references` run per language: wall, CPU (cgroup), programs per wall and per CPU second,
    and the load average around each run (CPU seconds are what to compare across commits)."""
    print("| language | programs | passed | wall s | CPU s | programs/s (wall) | programs per CPU s | load avg |")
    print("|---|---|---|---|---|---|---|---|")
    for language in languages:
        n = len(load_problems(DATA, languages=[language], limit=limit))
        before = os.getloadavg()[0]
        wall, cpu, ok = ours([language], limit, workers)
        load = f"{before:.1f}-{os.getloadavg()[0]:.1f}"
        print(f"| {language} | {n} | {ok} | {wall:.1f} | {cpu:.1f} | {n / wall:.2f} | {n / cpu:.2f} | {load} |",
              flush=True)


def _row(name: str, n: int, wall: float, cpu: float, n_wall: float, n_cpu: float, passed: str) -> None:
    print(
        f"| {name} | {n} | {wall:.1f} | {cpu:.1f} | {n / wall:.2f} | {n_wall:.1f} | {n_cpu:.1f} | "
        f"{n / n_wall:.2f} | {n_wall / wall:.1f}x | {n_cpu / cpu:.1f}x | {passed} |",
        flush=True,
    )


if __name__ == "__main__":
    main()
