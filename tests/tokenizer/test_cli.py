"""`codegen tokenize` from the command line: --json, exit codes, and resume after SIGKILL of a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

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
    return write_corpus(tmp_path / "corpus", docs)


def _start_and_wait_for_units(command, out, env, units):
    """Start a real `codegen tokenize` process; return it once `units` work units are finished."""
    proc = subprocess.Popen([*command, "-o", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    parts = out / ".work" / "parts"
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline and len(list(parts.glob("*.json"))) < units:
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be stopped; make the corpus bigger"
    return proc


@pytest.mark.slow
def test_resume_after_sigkill_gives_the_same_bytes(tmp_path, corpus_docs):
    corpus = _big_corpus(tmp_path, corpus_docs)
    env = {**os.environ, "CODEGEN_NO_PROGRESS": "1"}
    command = [sys.executable, "-m", "codegen_cli", "tokenize", str(corpus), *ARGS, "--json"]
    killed = tmp_path / "killed"
    proc = _start_and_wait_for_units(command, killed, env, 20)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
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
    corpus = _big_corpus(tmp_path, corpus_docs)
    env = {**os.environ, "CODEGEN_NO_PROGRESS": "1"}
    command = [sys.executable, "-m", "codegen_cli", "tokenize", str(corpus), "--vocab-size", "800",
               "--set", "chunk_docs=1", "--workers", "2", "--json"]
    proc = _start_and_wait_for_units(command, tmp_path / "t", env, 10)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)  # workers are terminated, not waited for
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
