"""Resume: a scoring run killed with SIGKILL and rerun ends with exactly one result per sample."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from codegen_cli.jsonl_store import JsonlStore
from tests.conftest import freeze_when

from .conftest import HUMANEVAL_X, require_toolchains

SAMPLES = 12


def _rows(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def _owners(tmp: Path) -> set[str]:
    return {path.name[len("codegen-owner-"):-len(".lock")] for path in tmp.glob("codegen-owner-*.lock")}


def test_sigkill_then_rerun_gives_one_result_per_sample(tmp_path):
    """...and the killed run's scratch dirs (which may hold its programs) are swept by the rerun."""
    require_toolchains("python")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    samples = tmp_path / "samples.jsonl"
    # Distinct programs (the comment differs) that each take ~0.3 s, so the kill lands mid-run.
    samples.write_text(
        "".join(
            json.dumps(
                {
                    "task_id": "Python/2",
                    "completion": f"    import time; time.sleep(0.3)  # {i}\n    return number % 1.0\n",
                }
            )
            + "\n"
            for i in range(SAMPLES)
        )
    )
    out = tmp_path / "out"
    argv = [
        sys.executable,
        "-m",
        "codegen_cli",
        "eval",
        "--samples",
        str(samples),
        "--problems",
        str(HUMANEVAL_X),
        "-l",
        "python",
        "-o",
        str(out),
        "--workers",
        "1",
        "--allow-code-execution",
    ]
    env = {**os.environ, "CODEGEN_NO_PROGRESS": "1", "TMPDIR": str(tmp)}
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    freeze_when(proc, lambda: len(_rows(out / "results.jsonl")) >= 3, "3 scored samples")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=600)
    partial = len(_rows(out / "results.jsonl"))
    assert 3 <= partial < SAMPLES, proc.stderr.read().decode()[-2000:]
    (killed,) = _owners(tmp)  # the killed evaluator's owner lock; a dir a kill leaves mid-build or mid-run:
    (tmp / f"codegen-build-{killed}-leftover").mkdir(exist_ok=True)

    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = _rows(out / "results.jsonl")
    assert sorted(r["sample_idx"] for r in rows) == list(range(SAMPLES))
    assert all(r["status"] == "passed" for r in rows)
    assert "resuming" in done.stderr
    assert killed not in _owners(tmp) and not list(tmp.glob(f"codegen-*-{killed}-*"))  # swept at the start
    assert not [p for p in tmp.iterdir() if p.is_dir()]  # and the rerun removed its own on exit


def test_torn_last_line_is_dropped(tmp_path):
    path = tmp_path / "results.jsonl"
    store = JsonlStore(path)
    store.append([{"task_id": "Python/0", "sample_idx": 0, "status": "passed"}])
    with path.open("a") as handle:
        handle.write('{"task_id": "Python/0", "sample_idx": 1, "sta')  # what a kill mid-write leaves
    assert list(store.keyed()) == [("Python/0", 0)]
    store.repair()
    store.append([{"task_id": "Python/0", "sample_idx": 1, "status": "failed"}])
    assert list(JsonlStore(path).keyed()) == [("Python/0", 0), ("Python/0", 1)]
