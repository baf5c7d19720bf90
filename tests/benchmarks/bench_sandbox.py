"""Per-run overhead of the sandbox tiers: `true` and `python -c pass` run N times each, plain and sandboxed.

    python tests/benchmarks/bench_sandbox.py [--runs 40]

Prints one line per (tier, program) with the median and mean wall time per run, and the cost of the pieces
every run pays (pids cgroup create/remove, the /proc scan for leftovers). Figures go to docs/sandbox.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid

from codegen_cli.evaluate.sandbox import TIERS, Limits, Sandbox, _probe_cached, scratch_dir
from codegen_cli.evaluate.sandbox.cgroups import RunCgroup
from codegen_cli.evaluate.sandbox.processes import processes_with_token

PROGRAMS = {"true": ["true"], "python -c pass": [sys.executable, "-I", "-S", "-c", "pass"]}


def timed(fn, runs: int) -> list[float]:
    fn()  # warm caches (page cache, probe)
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def line(label: str, times: list[float]) -> str:
    median, mean = statistics.median(times) * 1000, statistics.mean(times) * 1000
    return f"{label:<34} median {median:7.1f} ms   mean {mean:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with scratch_dir() as work:
        for name, argv in PROGRAMS.items():
            print(line(f"plain subprocess / {name}",
                       timed(lambda argv=argv: subprocess.run(argv, cwd=work, stdin=subprocess.DEVNULL,
                                                              capture_output=True, check=False), args.runs)))
            for tier in TIERS:
                if _probe_cached(tier) is not None:
                    print(f"{tier:<10} unavailable: {_probe_cached(tier)}")
                    continue
                sandbox = Sandbox(tier)
                res = sandbox.run(argv, workdir=work, limits=Limits())
                assert res.returncode == 0, res
                print(line(f"{tier} / {name}",
                           timed(lambda s=sandbox, a=argv: s.run(a, workdir=work, limits=Limits()),
                                 args.runs)))

    def cgroup_cycle() -> None:
        cgroup = RunCgroup.create(uuid.uuid4().hex, 256, 1 << 30)
        if cgroup is not None:
            cgroup.remove()
    print(line("pids+memory cgroup create+remove", timed(cgroup_cycle, args.runs)))
    print(line("/proc environ scan for a token", timed(lambda: processes_with_token("x" * 32), args.runs)))
    print(f"processes on the host now: {sum(1 for e in os.scandir('/proc') if e.name.isdigit())}")
    with open("/proc/loadavg") as f:
        print(f"load average: {f.read().split()[:3]}")


if __name__ == "__main__":
    main()
