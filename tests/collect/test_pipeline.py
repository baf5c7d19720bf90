"""collect() on a planted tree: every drop reason with its count, the row contract, dedup, licences."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from codegen_cli.errors import MismatchError
from codegen_cli.manifest import read_manifest

from . import planted
from .conftest import read_rows, run_collect


@pytest.fixture
def planted_tree(tmp_path: Path, humaneval_x_dir: Path) -> Path:
    return planted.build(tmp_path / "src", tmp_path / "elsewhere", humaneval_x_dir)


def test_every_drop_reason_is_counted(planted_tree: Path, tmp_path: Path):
    summary = run_collect([planted_tree], tmp_path / "corpus")
    assert {reason: row["files"] for reason, row in summary.dropped.items()} == planted.EXPECTED_DROPS
    rows = read_rows(tmp_path / "corpus")
    assert {row["path"] for row in rows} == planted.KEPT_PATHS
    assert summary.documents == len(rows)
    assert summary.dropped["too_large"]["bytes"] == 1 << 30
    assert summary.redactions == {"aws_key": 1, "email": 1}


def test_rows_follow_the_contract(planted_tree: Path, tmp_path: Path):
    run_collect([planted_tree], tmp_path / "corpus")
    rows = {row["path"]: row for row in read_rows(tmp_path / "corpus")}
    for row in rows.values():
        assert row["id"] == hashlib.sha256(row["content"].replace("\r\n", "\n").encode()).hexdigest()
        assert row["size_bytes"] == len(row["content"].encode())
        assert row["source"] == str(planted_tree)
    assert rows["a.py"]["num_lines"] == rows["a.py"]["content"].count("\n")
    assert (rows["d.go"]["language"], rows["e.cpp"]["language"]) == ("Go", "C++")
    assert rows["inc/shape.h"]["language"] == "C++"  # decided by content
    assert rows["a.py"]["license"] == "MIT" and rows["sub/gpl/x.py"]["license"] == "GPL-3.0"
    assert "<EMAIL>" in rows["secrets.py"]["content"] and "AKIA" not in rows["secrets.py"]["content"]
    manifest = read_manifest(tmp_path / "corpus", stage="collect")
    assert manifest["counts"]["documents"] == len(rows)
    assert manifest["counts"]["per_language"]["Python"]["files"] == 6
    assert manifest["counts"]["dropped"]["exact_duplicate"]["files"] == 2
    assert not (tmp_path / "corpus" / ".work").exists()


def test_first_copy_is_kept(planted_tree: Path, tmp_path: Path):
    run_collect([planted_tree], tmp_path / "corpus")
    paths = {row["path"] for row in read_rows(tmp_path / "corpus")}
    assert "a.py" in paths and "dup/a_copy.py" not in paths  # a.py sorts first
    assert "b.py" in paths and "near/b_edit.py" not in paths


def test_licence_allow_list_and_decontamination(planted_tree: Path, tmp_path: Path, humaneval_x_dir: Path):
    summary = run_collect([planted_tree], tmp_path / "corpus", licenses="MIT", decontaminate=humaneval_x_dir)
    assert summary.dropped["license"]["files"] == 1
    assert summary.dropped["decontaminated"]["files"] == 1
    paths = {row["path"] for row in read_rows(tmp_path / "corpus")}
    assert "sub/gpl/x.py" not in paths and "leak.py" not in paths


def test_language_filter_and_switches(planted_tree: Path, tmp_path: Path):
    summary = run_collect([planted_tree], tmp_path / "corpus", languages="go,cpp", near_dedup=False,
                          exact_dedup=False, redact_secrets=False)
    assert {row["language"] for row in read_rows(tmp_path / "corpus")} == {"Go", "C++"}
    assert summary.dropped["language_filter"]["files"] >= 5
    assert "exact_duplicate" not in summary.dropped and not summary.redactions


def test_rerun_is_a_no_op_and_other_options_need_overwrite(planted_tree: Path, tmp_path: Path):
    out = tmp_path / "corpus"
    first = run_collect([planted_tree], out)
    again = run_collect([planted_tree], out)
    assert again.already_complete and again.documents == first.documents
    with pytest.raises(MismatchError):
        run_collect([planted_tree], out, max_line_length=50)
    changed = run_collect([planted_tree], out, max_line_length=50, overwrite=True)
    assert changed.documents < first.documents


def test_load_dataset_reads_the_corpus(planted_tree: Path, tmp_path: Path):
    import datasets

    run_collect([planted_tree], tmp_path / "corpus")
    loaded = datasets.load_dataset("parquet", data_dir=str(tmp_path / "corpus" / "data"), split="train")
    assert loaded.num_rows == len(planted.KEPT_PATHS)
    assert set(loaded.column_names) == {"id", "content", "language", "path", "source", "license", "size_bytes",
                                        "num_lines"}
