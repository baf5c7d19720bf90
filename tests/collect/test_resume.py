"""Resume after kill -9, determinism across worker counts, and sharded runs merged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import freeze_when

from .conftest import python_source, read_rows, run_collect, write_files
from .planted import near_copy


def corpus_bytes(corpus: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((corpus / "data").glob("*.parquet"))}


def many_files(root: Path, count: int) -> Path:
    files = {f"pkg{i % 7}/mod_{i:04d}.py": python_source(i, lines=60) for i in range(count)}
    files.update({f"copies/dup_{i:03d}.py": python_source(i, lines=60) for i in range(0, count, 9)})
    files.update({f"copies/near_{i:03d}.py": near_copy(python_source(i, lines=200)) for i in range(5)})
    files.update({f"orig/near_{i:03d}.py": python_source(i, lines=200) for i in range(5)})
    return write_files(root, files)


@pytest.mark.slow
def test_kill_9_then_rerun_gives_the_same_rows(tmp_path: Path):
    src = many_files(tmp_path / "src", 300)
    reference = run_collect([src], tmp_path / "reference", chunk_files=3)
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "codegen_cli", "collect", str(src), "-o", str(out), "--workers", "2",
               "--set", "chunk_files=3", "--cache-dir", str(tmp_path / "cache")]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    parts = out / ".work" / "parts"
    freeze_when(proc, lambda: len(list(parts.glob("*.json"))) >= 10, "10 finished chunks")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=600)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "manifest.json").exists()
    result = subprocess.run(command + ["--json"], capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    assert '"chunks_resumed": 0' not in result.stdout  # finished chunks were reused
    assert read_rows(out) == read_rows(tmp_path / "reference")
    assert corpus_bytes(out) == corpus_bytes(tmp_path / "reference")
    assert reference.dropped["near_duplicate"]["files"] == 5


def test_same_bytes_for_any_worker_count(tmp_path: Path):
    src = many_files(tmp_path / "src", 60)
    one = run_collect([src], tmp_path / "one", workers=1, chunk_files=4)
    two = run_collect([src], tmp_path / "two", workers=2, chunk_files=4)
    assert one.chunks > 4
    assert corpus_bytes(tmp_path / "one") == corpus_bytes(tmp_path / "two")
    assert one.dropped == two.dropped


def test_shards_then_merge_equal_a_single_run(tmp_path: Path):
    src = many_files(tmp_path / "src", 60)
    single = run_collect([src], tmp_path / "single", chunk_files=4)
    out = tmp_path / "sharded"
    for index in range(3):
        part = run_collect([src], out, chunk_files=4, shard=f"{index}/3")
        assert not part.complete and not (out / "manifest.json").exists()
    merged = run_collect([], out, merge=True)
    assert merged.complete and merged.documents == single.documents
    assert merged.dropped == single.dropped
    assert corpus_bytes(out) == corpus_bytes(tmp_path / "single")
    assert run_collect([], out, merge=True).already_complete


def _concurrently(commands: list[list[str]]) -> None:
    procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for c in commands]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]


def test_concurrent_shards_and_a_spread_write_equal_one_process(tmp_path: Path):
    """Issue 23: 3 `--shard I/3` processes at once, then 3 `--merge --shard I/3` processes at once (each
    writes its own corpus files; the last one writes the manifest): byte for byte the single run."""
    files = {f"pkg/mod_{i:03d}.py": python_source(i, lines=1500) for i in range(48)}  # ~3 MB
    files.update({f"copies/dup_{i:03d}.py": python_source(i, lines=1500) for i in range(0, 48, 9)})
    src = write_files(tmp_path / "src", files)
    single = run_collect([src], tmp_path / "single", chunk_files=4, shard_size_mb=1)
    out = tmp_path / "spread"
    base = [sys.executable, "-m", "codegen_cli", "collect", "-o", str(out), "--workers", "1",
            "--cache-dir", str(tmp_path / "cache")]
    _concurrently([base + [str(src), "--set", "chunk_files=4", "--shard-size-mb", "1", "--shard", f"{i}/3"]
                   for i in range(3)])
    _concurrently([base + ["--merge", "--shard", f"{i}/3"] for i in range(3)])
    assert len(corpus_bytes(tmp_path / "single")) >= 3  # every part wrote at least one file
    assert corpus_bytes(out) == corpus_bytes(tmp_path / "single")
    merged = json.loads((out / "manifest.json").read_text())["summary"]
    assert merged["documents"] == single.documents and merged["dropped"] == single.dropped
    assert not (out / ".work" / "parts").exists()


def test_merge_refuses_missing_shards(tmp_path: Path):
    from codegen_cli.errors import InputDataError

    src = many_files(tmp_path / "src", 10)
    run_collect([src], tmp_path / "out", chunk_files=4, shard="0/2")
    with pytest.raises(InputDataError, match=r"shards \[1\] of 2"):
        run_collect([], tmp_path / "out", merge=True)


def test_merge_refuses_shards_that_saw_different_sources(tmp_path: Path, cli):
    """Issue 23's case: shard 0/2, one file added to the source, shard 1/2, --merge. It gave 5 documents
    instead of 7 with exit 0 (the merge took the last shard's listing); now exit 4 naming the change."""
    from codegen_cli.errors import MismatchError

    src = write_files(tmp_path / "src", {f"m{i}.py": python_source(i, lines=30) for i in range(6)})
    out = tmp_path / "out"
    run_collect([src], out, chunk_files=1, shard="0/2")
    write_files(src, {"added.py": python_source(99, lines=30)})
    run_collect([src], out, chunk_files=1, shard="1/2")
    with pytest.raises(MismatchError, match=r"1-of-2 and shard 0-of-2 saw different sources \(.*1 file added\)"):
        run_collect([], out, merge=True)
    result = cli("collect", "--merge", "-o", out)
    assert result.exit_code == 4 and "1 file added" in result.stderr
    assert not (out / "manifest.json").exists()


def test_killed_during_the_final_write_is_redone(tmp_path: Path):
    """State left by a kill after the chunks finished: stray shards and temp files, no manifest."""
    src = many_files(tmp_path / "src", 30)
    out = tmp_path / "out"
    run_collect([src], out, chunk_files=4, keep_work=True)
    reference = corpus_bytes(out)
    (out / "manifest.json").unlink()
    (out / "data" / "train-00007.parquet").write_bytes(b"half a shard")
    (out / "data" / ".train-00000.parquet.abc.tmp").write_bytes(b"junk")
    again = run_collect([src], out, chunk_files=4)
    assert again.chunks_resumed == again.chunks
    assert corpus_bytes(out) == reference
    assert not list((out / "data").glob(".*.tmp"))


@pytest.mark.slow
def test_the_documented_slurm_script_equals_one_process(tmp_path: Path):
    """pipelines/slurm/collect.sh (the script docs/collect.md shows) on a real one-node Slurm cluster: 3
    array tasks collect, 3 dependent tasks write the merged corpus; byte for byte one process's corpus."""
    from tests.conftest import REPO_ROOT, toolchain_missing

    from .slurm_cluster import INSTALL, missing, slurm_cluster, wait_for_jobs

    if missing():
        toolchain_missing(f"Slurm is not installed ({', '.join(missing())} missing); fix: {INSTALL}")
    files = {f"pkg/mod_{i:03d}.py": python_source(i, lines=1500) for i in range(48)}
    files.update({f"copies/dup_{i:03d}.py": python_source(i, lines=1500) for i in range(0, 48, 9)})
    src = write_files(tmp_path / "src", files)
    run_collect([src], tmp_path / "single", chunk_files=4, shard_size_mb=1)
    out = tmp_path / "slurm"
    with slurm_cluster() as env:
        submitted = subprocess.run(
            [str(REPO_ROOT / "pipelines" / "slurm" / "collect.sh"), "3", str(out), str(src), "--set",
             "chunk_files=4", "--shard-size-mb", "1", "--workers", "1", "--cache-dir", str(tmp_path / "cache")],
            env=env, capture_output=True, text=True, timeout=120, check=False)
        assert submitted.returncode == 0, submitted.stderr
        jobs = submitted.stdout.split()
        wait_for_jobs(env, jobs)
    logs = {p.name: p.read_text() for p in out.glob("slurm-*.log")}
    assert len(logs) == 6, logs
    assert (out / "manifest.json").is_file(), logs
    assert corpus_bytes(out) == corpus_bytes(tmp_path / "single")
