"""Benchmark `codegen collect` on a real corpus found on the machine (not collected by pytest).

    python tests/benchmarks/bench_collect.py                 # the Python standard library
    python tests/benchmarks/bench_collect.py /usr/include --near-files 3000

Prints, for 1 worker and for all cores, with near dedup on and off: MB/s and files/s of the whole stage
(each run in its own process, so peak memory is that run's), then the near-dedup step alone against a
straightforward datasketch MinHash + MinHashLSH with the same parameters (5-token shingles, 256
permutations, 25 bands x 10 rows) on the same documents.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SKIPPED_UNREAD = ("unknown_language", "vendored", "too_large", "language_filter", "broken_symlink",
                  "symlink_loop", "symlink_outside", "unreadable")


def run_stage(source: str, workers: int, near: bool, scratch: Path) -> dict[str, float]:
    out = scratch / f"out-{workers}-{near}"
    command = [sys.executable, "-m", "codegen_cli", "collect", source, "-o", str(out), "--workers", str(workers),
               "--json", "--overwrite", "--cache-dir", str(scratch / "cache")]
    if not near:
        command.append("--no-near-dedup")
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    stdout = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"collect failed with status {status}")
    summary = json.loads(stdout)
    unread = sum(row["bytes"] for reason, row in summary["dropped"].items() if reason in SKIPPED_UNREAD)
    unread_files = sum(row["files"] for reason, row in summary["dropped"].items() if reason in SKIPPED_UNREAD)
    read_mb = (summary["bytes_in"] - unread) / 1e6
    read_files = summary["files_seen"] - unread_files
    cpu = usage.ru_utime + usage.ru_stime  # this run and its worker processes (reaped by it)
    return {"workers": workers, "near": near, "seconds": seconds, "read_mb": read_mb, "files": read_files,
            "cpu_s": cpu, "mb_cpu_s": read_mb / cpu,
            "mb_s": read_mb / seconds, "files_s": read_files / seconds, "docs": summary["documents"],
            "peak_rss_mb": usage.ru_maxrss / 1024}


def sample_documents(root: Path, limit: int) -> list[bytes]:
    """The first `limit` code files (by the walk's order) of 200 B to 1 MB: what near dedup sees."""
    from codegen_cli.collect.items import FileItem
    from codegen_cli.collect.walk import DirWalker

    docs = []
    for item in DirWalker(root):
        if isinstance(item, FileItem) and 200 <= item.size <= 1_000_000:
            docs.append(Path(item.abs_path).read_bytes())
            if len(docs) >= limit:
                break
    return docs


def near_ours(docs: list[bytes]) -> float:
    from codegen_cli.collect import minhash
    from codegen_cli.collect.dedup import UnionFind, _band_edges

    started = time.process_time()
    keys = np.stack([minhash.document_bands(d, ngram_size=5, num_perm=256, bands=25, rows=10) for d in docs])
    forest = UnionFind(len(docs))
    everyone = np.arange(len(docs))
    for band in range(keys.shape[1]):
        firsts, others = _band_edges(keys[:, band], everyone)
        for a, b in zip(firsts.tolist(), others.tolist()):
            forest.union(a, b)
    return time.process_time() - started


def near_datasketch(docs: list[bytes]) -> float:
    from datasketch import MinHash, MinHashLSH

    split = re.compile(r"[^A-Za-z_0-9]+")
    started = time.process_time()
    lsh = MinHashLSH(threshold=0.7, num_perm=256)
    assert (lsh.b, lsh.r) == (25, 10)
    for index, data in enumerate(docs):
        tokens = [t for t in split.split(data.decode("utf-8", "replace")) if t]
        shingles = {" ".join(tokens[i:i + 5]).encode() for i in range(max(1, len(tokens) - 4))}
        sketch = MinHash(num_perm=256)
        sketch.update_batch(list(shingles))
        lsh.query(sketch)
        lsh.insert(index, sketch)
    return time.process_time() - started


def main() -> None:
    import sysconfig

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", nargs="?", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--near-files", type=int, default=1500, help="documents for the near-dedup comparison")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"corpus: {args.source}   cores: {cores}   load average: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        print(f"{'workers':>7} {'near':>5} {'MB read':>8} {'files':>7} {'seconds':>8} {'MB/s':>7} {'files/s':>8} "
              f"{'docs':>6} {'peak RSS MB':>11} {'CPU s':>6} {'MB/CPU-s':>8}")
        for workers, near in ((1, True), (1, False), (cores, True), (cores, False)):
            r = run_stage(args.source, workers, near, scratch)
            print(f"{r['workers']:>7} {r['near']!s:>5} {r['read_mb']:>8.1f} {r['files']:>7} {r['seconds']:>8.2f} "
                  f"{r['mb_s']:>7.2f} {r['files_s']:>8.0f} {r['docs']:>6} {r['peak_rss_mb']:>11.0f} {r['cpu_s']:>6.1f} "
                  f"{r['mb_cpu_s']:>8.2f}")
    docs = sample_documents(Path(args.source), args.near_files)
    mb = sum(map(len, docs)) / 1e6
    ours, base = near_ours(docs), near_datasketch(docs)  # process CPU time, so other users' load cancels out
    print(f"\nnear dedup alone (per CPU-second), 1 core, {len(docs)} code files, {mb:.1f} MB (256 perms, 25x10 bands):")
    print(f"  codegen (numpy, one-permutation MinHash): {len(docs) / ours:8.0f} docs/s {mb / ours:7.2f} MB/s")
    print(f"  datasketch MinHash + MinHashLSH:          {len(docs) / base:8.0f} docs/s {mb / base:7.2f} MB/s")
    print(f"  speed-up: {base / ours:.1f}x")


if __name__ == "__main__":
    main()
