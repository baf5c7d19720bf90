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
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from codegen_cli.evaluate.config import EvalConfig
from codegen_cli.evaluate.languages import get_language
from codegen_cli.evaluate.languages.base import new_marker
from codegen_cli.evaluate.languages.context import default_cache_dir
from codegen_cli.evaluate.languages.go import go_env
from codegen_cli.evaluate.languages.rust import CRATES, REGISTRY
from codegen_cli.evaluate.problems import load_problems
from codegen_cli.evaluate.sandbox import Limits, Sandbox, scratch_dir
from codegen_cli.evaluate.stage import score

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "humaneval-x"
LANGUAGES = ("python", "cpp", "java", "js", "go", "rust")
NAIVE_FILE = {"python": "main.py", "cpp": "main.cpp", "java": "Main.java", "js": "main.js", "go": "main_test.go",
              "rust": "src/main.rs"}


def naive_commands(language: str) -> list[list[str]]:
    return {"python": [[sys.executable, "main.py"]],
            "cpp": [["g++", "-std=c++17", "main.cpp", "-o", "a.out", "-lcrypto"], ["./a.out"]],
            "java": [["javac", "Main.java"], ["java", "-cp", ".", "Main"]],
            "js": [["node", "main.js"]],
            "go": [["go", "test", "-count=1", "./"]],
            "rust": [["cargo", "test", "--offline", "-q"]]}[language]


def _rust_project(folder: Path) -> None:
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / ".cargo").mkdir(exist_ok=True)
    requires = "".join(f'{name} = "{version}"\n' for name, version in CRATES.items())
    (folder / "Cargo.toml").write_text('[package]\nname = "naive"\nversion = "0.1.0"\nedition = "2021"\n\n'
                                       "[dependencies]\n" + requires + "\n[profile.dev]\ndebug = 0\n")
    (folder / ".cargo" / "config.toml").write_text(
        f'[source.crates-io]\nreplace-with = "debian"\n\n[source.debian]\ndirectory = "{REGISTRY}"\n\n'
        "[net]\noffline = true\n")


def naive_run(language: str, problems, sandbox: Sandbox, workers: int, cache: Path) -> float:
    """Seconds for fresh compile + run of every canonical solution, `workers` at a time."""
    lang = get_language(language)
    limits = Limits(wall_seconds=120, memory_bytes=None)
    shared = Path(tempfile.mkdtemp(prefix="codegen-naive-"))
    targets = []
    if language == "rust":  # one warm target dir per worker, like CodeGeeX's one shared cargo project
        for i in range(workers):
            _rust_project(shared / f"warm{i}")
            (shared / f"warm{i}" / "src" / "main.rs").write_text("fn main() {}\n")
            os.system(f"cd {shared}/warm{i} && CARGO_HOME={shared}/ch CARGO_TARGET_DIR={shared}/t{i} "
                      "cargo build --offline -q 2>/dev/null")
            targets.append(shared / f"t{i}")
    if language == "go":  # a writable copy of the warm build cache, as a user's own GOCACHE would be
        shutil.copytree(cache / "go" / "cache", shared / "gocache")
    slots = list(range(workers))

    def one(problem) -> None:
        slot = slots.pop()
        try:
            with scratch_dir() as work:
                text = lang.assemble(problem, problem.canonical_solution).text(new_marker())
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
                    result = sandbox.run(argv, workdir=work, limits=limits, env=env, writable_paths=writable,
                                         readonly_paths=(cache,))
                    if result.returncode != 0:
                        break
        finally:
            slots.append(slot)

    start = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, problems))
    seconds = time.monotonic() - start
    shutil.rmtree(shared, ignore_errors=True)
    return seconds


def ours(languages: list[str], limit: int, workers: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.monotonic()
        score(EvalConfig(output=Path(out), check_references=True, problems=str(DATA), languages=languages,
                         limit=limit, k=[1], workers=workers))
        return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=40, help="problems per language (164 = all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    args = parser.parse_args()
    languages = args.languages.split(",")
    sandbox, cache = Sandbox(), default_cache_dir()
    ours(languages, 1, args.workers)  # warm the tool cache (PCH, crates, CDS, Go cache) outside the timings
    print(f"sandbox tier {sandbox.tier}, workers {args.workers}, {args.limit} problems per language, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print("| language | programs | ours s | ours programs/s | naive s | naive programs/s | speed-up |")
    print("|---|---|---|---|---|---|---|")
    total_ours = total_naive = 0.0
    for language in languages:
        problems = load_problems(DATA, languages=[language], limit=args.limit)
        mine = ours([language], args.limit, args.workers)
        naive = naive_run(language, problems, sandbox, args.workers, cache)
        total_ours, total_naive = total_ours + mine, total_naive + naive
        n = len(problems)
        print(f"| {language} | {n} | {mine:.1f} | {n / mine:.2f} | {naive:.1f} | {n / naive:.2f} | "
              f"{naive / mine:.1f}x |", flush=True)
    n = args.limit * len(languages)
    print(f"| overall (sum) | {n} | {total_ours:.1f} | {n / total_ours:.2f} | {total_naive:.1f} | "
          f"{n / total_naive:.2f} | {total_naive / total_ours:.1f}x |")
    mixed = ours(languages, args.limit, args.workers)
    print(f"\nall languages in one run (ours): {mixed:.1f} s, {n / mixed:.2f} programs/s")


if __name__ == "__main__":
    main()
