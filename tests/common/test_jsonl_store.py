"""The one JSONL store (samples, results, translation pairs, metrics) and the per-folder writer lock."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from codegen_cli.errors import InputDataError, MismatchError
from codegen_cli.jsonl_store import FolderBusy, JsonlStore, writer_lock


def _row(idx: int, completion: str = "x", **extra) -> dict:
    return {"task_id": "Python/0", "sample_idx": idx, "completion": completion, **extra}


def test_append_read_and_a_torn_tail(tmp_path):
    store = JsonlStore(tmp_path / "rows.jsonl")
    store.append([_row(0), _row(1)])
    store.append([])
    with store.path.open("ab") as handle:
        handle.write(b'{"task_id": "Python/0", "sample_idx": 2, "compl')  # a kill mid-write
    assert [r["sample_idx"] for r in store.read()] == [0, 1]  # the torn line is ignored...
    assert store.repair() > 0 and store.repair() == 0  # ...and cut away once
    store.append([_row(2), _row(0, "other")])
    assert {k: r["completion"] for k, r in store.keyed().items()} == {
        ("Python/0", 0): "x", ("Python/0", 1): "x", ("Python/0", 2): "x"}  # the first row of a key wins
    assert store.path.read_bytes().count(b"\n") == 4  # 2 + 2 rows, the torn one gone


def test_a_bad_complete_line_names_file_and_line(tmp_path):
    store = JsonlStore(tmp_path / "rows.jsonl", what="sample row")
    store.path.write_text(json.dumps(_row(0)) + "\nnot json\n" + json.dumps(_row(1)) + "\n")
    with pytest.raises(InputDataError, match=r"rows.jsonl:2: not a sample row"):
        store.read()
    assert len(store.read(bad_rows="skip")) == 2


def test_merge_adds_rows_and_refuses_another_completion(tmp_path):
    store = JsonlStore(tmp_path / "samples.jsonl")
    store.merge([_row(1), _row(0)], order=lambda r: r["sample_idx"])
    store.merge([_row(2), _row(0)], order=lambda r: r["sample_idx"])
    assert [r["sample_idx"] for r in store.read()] == [0, 1, 2]
    with pytest.raises(MismatchError, match="another completion for Python/0 #1"):
        store.merge([_row(1, "changed")], order=lambda r: r["sample_idx"])


def test_rows_without_a_key_for_logs(tmp_path):
    log = JsonlStore(tmp_path / "metrics.jsonl", key=None, fsync=False)
    log.append([{"step": 1}, {"step": 2}])
    log.rewrite(r for r in log.read() if r["step"] < 2)
    assert log.read() == [{"step": 1}]


def test_the_writer_lock_nests_and_releases(tmp_path):
    with writer_lock(tmp_path / "out"), writer_lock(tmp_path / "out"):
        pass
    with writer_lock(tmp_path / "out"):  # released: taken again
        pass


def test_a_second_writer_of_an_output_folder_exits_4_at_once(tmp_path):
    out = tmp_path / "results"
    with writer_lock(out):
        result = subprocess.run(
            [sys.executable, "-m", "codegen_cli", "eval", "--check-references", "-l", "python", "--limit", "1",
             "-o", str(out)], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 4, result.stderr
    assert f"{out}: another codegen process is writing this folder" in result.stderr
    assert not (out / "results.jsonl").exists()
    assert issubclass(FolderBusy, MismatchError)
