"""`codegen tokenize` from the command line: --json, exit codes, and resume after SIGKILL of a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.conftest import freeze_when, thaw

from .conftest import write_corpus

ARGS = ["--vocab-size", "800", "--val-fraction", "0.1", "--set", "chunk_docs=1", "--workers", "1"]


def test_json_is_one_object_on_stdout(cli, corpus_dir, tmp_path):
    result = cli("tokenize", corpus_dir, "-o", tmp_path / "t", "--vocab-size", "900", "--tag-style", "comment",
                 "--json", "--verify")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["tag_style"] == "comment" and summary["round_trip_failures"] == 0
    assert summary["documents"]["train"] + summary["documents"]["val"] == 63
    assert set(summary["bytes_per_token"]) == {"C", "C++", "Go", "Java", "JavaScript", "Python"}
    assert "codegen tokenize" in result.stderr  # the human table goes to stderr


def test_help_shows_an_example(cli):
    result = cli("tokenize", "--help")
    assert result.exit_code == 0 and "codegen tokenize work/corpus -o work/tokens" in result.stdout


def _output_files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "manifest.json"}


def _big_corpus(tmp_path, corpus_docs):
    docs = [(f"{i}/{path}", lang, content + f"\n# copy {i}\n" * bool(i)) for i in range(4)
            for path, lang, content in corpus_docs]
    return write_corpus(tmp_path / "corpus", docs), len(docs)  # chunk_docs=1: one work unit per document


def _start_and_freeze_mid_encode(command, out, env, units, total):
    """Start a real `codegen tokenize`, and freeze it (SIGSTOP) once `units` of its `total` work units
    are finished; asserts it is then still encoding, so a signal sent now lands mid-run at any load."""
    proc = subprocess.Popen([*command, "-o", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    parts = out / ".work" / "parts"
    freeze_when(proc, lambda: len(list(parts.glob("*.json"))) >= units, f"{units} finished work units")
    assert len(list(parts.glob("*.json"))) < total, "every unit was done before the freeze; use more units"
    return proc


@pytest.mark.slow
def test_resume_after_sigkill_gives_the_same_bytes(tmp_path, corpus_docs):
    corpus, total = _big_corpus(tmp_path, corpus_docs)
    env = {**os.environ, "CODEGEN_NO_PROGRESS": "1"}
    command = [sys.executable, "-m", "codegen_cli", "tokenize", str(corpus), *ARGS, "--json"]
    killed = tmp_path / "killed"
    proc = _start_and_freeze_mid_encode(command, killed, env, 2, total)
    os.killpg(proc.pid, signal.SIGKILL)  # the parent and its workers, as a crash or OOM kill would
    proc.communicate(timeout=600)
    assert not (killed / "meta.json").exists()
    resumed = subprocess.run([*command, "-o", str(killed)], env=env, capture_output=True, text=True, timeout=600,
                             check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["resumed"] is True
    clean = subprocess.run([*command, "-o", str(tmp_path / "clean")], env=env, capture_output=True, text=True,
                           timeout=600, check=False)
    assert clean.returncode == 0, clean.stderr
    assert _output_files(killed) == _output_files(tmp_path / "clean")


@pytest.mark.slow
def test_ctrl_c_exits_130_at_once_and_resumes(tmp_path, corpus_docs):
    corpus, total = _big_corpus(tmp_path, corpus_docs)
    env = {**os.environ, "CODEGEN_NO_PROGRESS": "1"}
    command = [sys.executable, "-m", "codegen_cli", "tokenize", str(corpus), "--vocab-size", "800",
               "--set", "chunk_docs=1", "--workers", "2", "--json"]
    proc = _start_and_freeze_mid_encode(command, tmp_path / "t", env, 2, total)
    proc.send_signal(signal.SIGINT)  # `kill -INT PID`: the parent only
    thaw(proc)
    _, stderr = proc.communicate(timeout=120)  # workers are terminated, not waited for
    assert proc.returncode == 130, stderr
    assert b"interrupted" in stderr
    rerun = subprocess.run([*command, "-o", str(tmp_path / "t")], env=env, capture_output=True, text=True,
                           timeout=600, check=False)
    assert rerun.returncode == 0 and json.loads(rerun.stdout)["resumed"] is True, rerun.stderr


@pytest.mark.slow
def test_on_a_corpus_made_by_codegen_collect(cli, tmp_path, corpus_docs):
    """The real contract: whatever `codegen collect` writes, tokenize reads and round-trips exactly."""
    src = tmp_path / "src"
    for path, _, content in corpus_docs:
        target = src / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode("utf-8"))
    collected = cli("collect", src, "-o", tmp_path / "corpus", "--workers", "1", "--json")
    assert collected.exit_code == 0, collected.stderr
    result = cli("tokenize", tmp_path / "corpus", "-o", tmp_path / "tokens", "--vocab-size", "1200", "--verify",
                 "--workers", "1", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["round_trip_failures"] == 0
    assert sum(summary["documents"].values()) == json.loads(collected.stdout)["documents"] > 20
