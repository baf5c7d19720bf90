"""`codegen collect` through the real Typer app: exit codes, --json schema, the stdlib default."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from .conftest import python_source, write_files

SUMMARY_KEYS = {"output", "complete", "documents", "files_seen", "bytes_in", "bytes_read", "bytes_out", "per_language",
                "dropped", "dropped_per_language", "redactions", "sources", "shards", "chunks", "chunks_resumed",
                "seconds", "already_complete"}


def test_help_shows_an_example(cli):
    result = cli("collect", "--help")
    assert result.exit_code == 0
    assert "codegen collect -o work/corpus" in result.stdout


def test_json_summary_on_stdout_and_table_on_stderr(cli, tmp_path: Path):
    write_files(tmp_path / "src", {"a.py": python_source(1), "b.py": python_source(1), "c.go": "package c\n"})
    result = cli("collect", tmp_path / "src", "-o", tmp_path / "out", "--workers", "1", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary) == SUMMARY_KEYS
    assert summary["documents"] == 2 and summary["complete"]
    assert summary["per_language"] == {"Go": {"files": 1, "bytes": 10}, "Python": {"files": 1, "bytes": len(
        python_source(1))}}
    assert summary["dropped"]["exact_duplicate"] == {"files": 1, "bytes": len(python_source(1))}
    assert "kept files" in result.stderr and "exact_duplicate" in result.stderr


def test_exit_codes(cli, tmp_path: Path):
    assert cli("collect", tmp_path / "missing", "-o", tmp_path / "o1").exit_code == 2
    assert cli("collect", "-o", tmp_path / "o2", "--shard", "3/2").exit_code == 2
    assert cli("collect", "-o", tmp_path / "o3", "--languages", "klingon").exit_code == 2
    pq.write_table(pa.Table.from_pylist([{"body": "x"}]), tmp_path / "d.parquet")
    result = cli("collect", tmp_path / "d.parquet", "-o", tmp_path / "o4")
    assert result.exit_code == 3 and "--content-column" in result.stderr
    result = cli("collect", f"file://{tmp_path / 'nope'}", "-o", tmp_path / "o5")
    assert result.exit_code == 3 and "git clone of" in result.stderr
    assert cli("collect", "--merge", "-o", tmp_path / "o6").exit_code == 2
    write_files(tmp_path / "src", {"a.py": python_source(1)})
    assert cli("collect", tmp_path / "src", "-o", tmp_path / "o7", "--workers", "1").exit_code == 0
    result = cli("collect", tmp_path / "src", "-o", tmp_path / "o7", "--max-line-length", "80")
    assert result.exit_code == 4 and "--overwrite" in result.stderr


@pytest.mark.slow
def test_default_source_is_the_stdlib(cli, tmp_path: Path):
    """The README quick start's first command, restricted to a small language to stay fast."""
    result = cli("collect", "-o", tmp_path / "out", "--languages", "toml,xml", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["documents"] > 0
    assert set(summary["per_language"]) <= {"TOML", "XML"}
    import sysconfig

    assert summary["sources"][0]["spec"] == sysconfig.get_paths()["stdlib"]


def test_a_typo_in_a_source_does_not_lock_the_output(cli, tmp_path: Path):
    write_files(tmp_path / "src", {"a.py": python_source(1)})
    assert cli("collect", tmp_path / "srcc", "-o", tmp_path / "out").exit_code == 2
    assert cli("collect", f"file://{tmp_path / 'nope'}", "-o", tmp_path / "out").exit_code == 3
    result = cli("collect", tmp_path / "src", "-o", tmp_path / "out", "--workers", "1")
    assert result.exit_code == 0, result.stderr
