"""One error contract (issue 14): the same failure gives the same exit code and message style in every
command; no input is an error; SIGTERM is exit 130 with a message; one default-worker rule."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from codegen_cli.errors import EXIT_CODES
from tests.conftest import freeze_when, thaw

REPO = Path(__file__).resolve().parents[2]
MISSING = "/nonexistent/codegen-test-path"


@pytest.mark.parametrize("args", [
    ["tokenize", MISSING, "-o", "{tmp}/t"],  # was 3
    ["train", MISSING, "-o", "{tmp}/r", "--max-steps", "1"],  # was 3
    ["collect", MISSING, "-o", "{tmp}/c"],
    ["eval", "--samples", MISSING, "--allow-code-execution", "-o", "{tmp}/e"],
    ["eval", "--check-references", "--problems", MISSING, "-o", "{tmp}/e"],
    ["export", MISSING, "-o", "{tmp}/x"],
    ["generate", "def f():", "-m", MISSING],
    ["run", MISSING],
    ["tokenize", "c", "-o", "t", "--config", MISSING],
], ids=lambda a: a[0] + ("-" + a[1].lstrip("-") if a[1].startswith("--") else ""))
def test_a_missing_input_path_is_exit_2_in_every_command(cli, tmp_path, args):
    result = cli(*[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 2, result.stderr
    assert MISSING in result.stderr and result.stderr.startswith("error: ")


def test_an_empty_source_folder_is_exit_3(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    result = cli("collect", tmp_path / "empty", "-o", tmp_path / "corpus", "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 3, result.stderr
    assert "no files in the sources" in result.stderr
    assert not (tmp_path / "corpus" / "manifest.json").exists()


def test_no_documents_kept_is_exit_3_with_the_reasons(cli, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.py").write_text("def f(x):\n    return x + 1\n" * 5)
    result = cli("collect", src, "-o", tmp_path / "corpus", "--languages", "rust", "--cache-dir", tmp_path / "c")
    assert result.exit_code == 3, result.stderr
    assert "no documents kept" in result.stderr and "language" in result.stderr
    assert not (tmp_path / "corpus" / "manifest.json").exists()


@pytest.mark.slow
def test_sigterm_in_collect_is_exit_130_with_a_message_and_the_rerun_resumes(tmp_path):
    """collect died with 143 and no message on SIGTERM."""
    src = tmp_path / "src"
    for i in range(120):
        (src / f"p{i % 5}").mkdir(parents=True, exist_ok=True)
        (src / f"p{i % 5}" / f"m{i:03d}.py").write_text("".join(f"def f{i}_{j}(x):\n    return x * {j}\n"
                                                              for j in range(40)))
    out = tmp_path / "corpus"
    command = [sys.executable, "-m", "codegen_cli", "collect", str(src), "-o", str(out), "--workers", "2",
               "--chunk-files", "2", "--cache-dir", str(tmp_path / "cache")]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    freeze_when(proc, lambda: len(list((out / ".work" / "parts").glob("*.json"))) >= 4, "4 finished chunks")
    os.kill(proc.pid, signal.SIGTERM)  # the parent only, as `kill PID` does
    thaw(proc)
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "rerun the same command to resume" in stderr
    again = subprocess.run(command + ["--json"], capture_output=True, text=True, timeout=600, check=False)
    assert again.returncode == 0, again.stderr
    assert '"chunks_resumed": 0' not in again.stdout


def test_exit_codes_are_documented_in_help_and_docs(cli):
    text = " ".join(cli("--help", env={"COLUMNS": "300"}).stdout.split())
    docs = (REPO / "docs" / "architecture.md").read_text()
    for code, meaning in EXIT_CODES.items():
        assert f"{code} {meaning}" in text
        assert re.search(rf"\| {code} \| {re.escape(meaning)} \|", docs), code


AFFINITY_SCRIPT = """
import os
os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
from codegen_cli.collect.config import CollectConfig
from codegen_cli.evaluate.config import ScoringConfig
from codegen_cli.tokenizer.config import TokenizeConfig
from codegen_cli.cpus import resolve_workers
print(CollectConfig().worker_count(), TokenizeConfig().resolved_workers(), resolve_workers(ScoringConfig().workers))
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux CPU affinity")
def test_one_default_worker_rule_respects_cpu_affinity():
    """Pinned to one CPU, collect used 1 worker, tokenize and eval 2 (os.cpu_count)."""
    out = subprocess.run([sys.executable, "-c", AFFINITY_SCRIPT], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "1", "1"]
    for path in (REPO / "codegen_cli").rglob("*.py"):
        if path.name != "cpus.py":
            assert "cpu_count(" not in path.read_text() and "sched_getaffinity" not in path.read_text(), path
