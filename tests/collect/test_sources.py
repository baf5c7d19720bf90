"""Sources: real git repositories cloned via file://, dataset files, sources files, and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codegen_cli.collect.sources import parse_spec
from codegen_cli.errors import InputDataError, UsageError

from .conftest import git, make_repo, python_source, read_rows, run_collect, write_files


def test_git_clone_records_commit_and_reuses_cache(tmp_path: Path):
    commit = make_repo(tmp_path / "repo", {"main.py": python_source(1), "lib/util.go": "package lib\n"})
    cache = tmp_path / "cache"
    summary = run_collect([f"file://{tmp_path / 'repo'}"], tmp_path / "out", cache_dir=cache)
    rows = read_rows(tmp_path / "out")
    assert {row["path"] for row in rows} == {"main.py", "lib/util.go"}
    assert {row["source"] for row in rows} == {f"file://{tmp_path / 'repo'}@{commit}"}
    assert summary.sources[0]["commit"] == commit
    # the remote did not move: the cached checkout is reused
    marker = next(cache.glob("*.codegen-git.json"))
    before = marker.stat().st_mtime_ns
    again = run_collect([f"file://{tmp_path / 'repo'}"], tmp_path / "out2", cache_dir=cache)
    assert again.sources[0]["commit"] == commit and marker.stat().st_mtime_ns == before
    # a new upstream commit is fetched into the same cache folder (it was invisible before)
    write_files(tmp_path / "repo", {"new.py": python_source(2)})
    git("add", "-A", cwd=tmp_path / "repo")
    git("commit", "-q", "-m", "second", cwd=tmp_path / "repo")
    moved = run_collect([f"file://{tmp_path / 'repo'}"], tmp_path / "out3", cache_dir=cache)
    assert moved.sources[0]["commit"] == git("rev-parse", "HEAD", cwd=tmp_path / "repo") != commit
    assert len([p for p in cache.iterdir() if p.suffix != ".lock"]) == 2  # one checkout + its marker


def test_concurrent_shards_share_the_git_cache_safely(tmp_path: Path):
    """Shard processes on one machine clone the same repository into one cache at the same time: one
    clones, the others wait for its lock and reuse the tree (before the lock they deleted each other's
    staging clone)."""
    from concurrent.futures import ProcessPoolExecutor

    from codegen_cli.collect.gitrepo import checkout

    commit = make_repo(tmp_path / "repo", {f"m{i}.py": python_source(i) for i in range(20)})
    cache = tmp_path / "cache"
    with ProcessPoolExecutor(4) as pool:
        results = list(pool.map(checkout, [f"file://{tmp_path / 'repo'}"] * 4, [None] * 4, [cache] * 4))
    assert {r.commit for r in results} == {commit} and len({r.path for r in results}) == 1
    assert len(list(results[0].path.glob("*.py"))) == 20
    assert not list(cache.glob("*.partial"))


def test_ref_pins_tag_branch_and_commit(tmp_path: Path):
    repo = tmp_path / "repo"
    first = make_repo(repo, {"one.py": python_source(1)})
    git("tag", "v1", cwd=repo)
    write_files(repo, {"two.py": python_source(2)})
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "second", cwd=repo)
    for ref in ("v1", first):
        run_collect([f"file://{repo}@{ref}"], tmp_path / f"out-{ref}", cache_dir=tmp_path / "cache")
        assert {row["path"] for row in read_rows(tmp_path / f"out-{ref}")} == {"one.py"}
    run_collect([f"{repo}@main"], tmp_path / "out-main", cache_dir=tmp_path / "cache")  # local path + ref
    assert {row["path"] for row in read_rows(tmp_path / "out-main")} == {"one.py", "two.py"}


def test_failing_git_url_is_reported_and_the_rest_goes_on(tmp_path: Path):
    write_files(tmp_path / "src", {"ok.py": python_source(1)})
    bad = f"file://{tmp_path / 'no-such-repo'}"
    summary = run_collect([bad, tmp_path / "src"], tmp_path / "out")
    assert summary.documents == 1
    assert "git clone of" in summary.sources[0]["error"]
    with pytest.raises(InputDataError, match="no source could be read"):
        run_collect([bad], tmp_path / "out2")


def test_dataset_files_parquet_and_jsonl(tmp_path: Path):
    rows = [{"text": python_source(i), "file": f"pkg/m{i}.py"} for i in range(3)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "code.parquet")
    with open(tmp_path / "code.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows + [{"text": "int main() { return 0; }\n", "file": "x.c"}])
    summary = run_collect([tmp_path / "code.parquet", tmp_path / "code.jsonl"], tmp_path / "out",
                          content_column="text", path_column="file")
    got = read_rows(tmp_path / "out")
    assert [row["path"] for row in got] == ["pkg/m0.py", "pkg/m1.py", "pkg/m2.py", "x.c"]
    assert summary.dropped["exact_duplicate"]["files"] == 3  # the JSONL repeats the Parquet rows
    assert {row["source"] for row in got} == {"code.parquet", "code.jsonl"}


def test_dataset_without_content_column(tmp_path: Path):
    pq.write_table(pa.Table.from_pylist([{"body": "x"}]), tmp_path / "d.parquet")
    with pytest.raises(InputDataError, match="no column 'content'"):
        run_collect([tmp_path / "d.parquet"], tmp_path / "out")


def test_sources_file_and_bad_specs(tmp_path: Path):
    write_files(tmp_path / "a", {"a.py": python_source(1)})
    write_files(tmp_path / "b", {"b.py": python_source(2)})
    listing = tmp_path / "sources.txt"
    listing.write_text(f"# my sources\n{tmp_path / 'a'}\n\n{tmp_path / 'b'}  # second\n", encoding="utf-8")
    summary = run_collect([], tmp_path / "out", sources_file=listing)
    assert summary.documents == 2
    with pytest.raises(UsageError, match="no such file or folder"):
        parse_spec(str(tmp_path / "missing"))
    assert parse_spec("https://github.com/a/b.git@v1").ref == "v1"
    assert parse_spec("git@github.com:a/b.git").kind == "git"
    assert parse_spec("git@github.com:a/b.git").ref is None
    assert parse_spec("hf:codeparrot/codeparrot-clean").kind == "hf"


def test_language_column_and_bad_jsonl(tmp_path: Path):
    rows = [{"content": python_source(1), "lang": "python"}, {"content": "SELECT 1;\n", "lang": "sql"},
            {"content": "x", "lang": "klingon"}]
    with open(tmp_path / "d.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    summary = run_collect([tmp_path / "d.jsonl"], tmp_path / "out", language_column="lang")
    got = read_rows(tmp_path / "out")
    assert [(row["path"], row["language"]) for row in got] == [("row-000000000", "Python"), ("row-000000001", "SQL")]
    assert summary.dropped["unknown_language"]["files"] == 1
    (tmp_path / "bad.jsonl").write_text('{"content": "x"}\n{not json\n', encoding="utf-8")
    with pytest.raises(InputDataError, match=r"bad.jsonl:2: invalid JSON"):
        run_collect([tmp_path / "bad.jsonl"], tmp_path / "out2")


def test_hub_dataset_offline_is_a_clear_error(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(InputDataError, match="hf:nobody/no-such-dataset"):
        run_collect(["hf:nobody/no-such-dataset"], tmp_path / "out")


def test_a_shard_reads_only_its_own_rows_of_a_dataset(tmp_path: Path, monkeypatch):
    """Issue 23: every shard used to read all 4,000 rows of a Parquet/JSONL source. Now a JSONL line that
    is not JSON only fails the shard whose chunk holds it, Parquet row groups are read by the shard that
    needs them, and 4 shards + merge still equal one run."""
    from .test_resume import corpus_bytes

    rows = [{"content": python_source(i, lines=8), "path": f"f{i:04d}.py"} for i in range(400)]
    table = pa.Table.from_pylist(rows)
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=50)
    single = run_collect([tmp_path / "d.parquet"], tmp_path / "single", chunk_files=50)
    read: list[int] = []
    real = pq.ParquetFile.read_row_group

    def counting(self, group, *args, **kwargs):
        read.append(group)
        return real(self, group, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", counting)
    for index in range(4):
        read.clear()
        run_collect([tmp_path / "d.parquet"], tmp_path / "sharded", chunk_files=50, shard=f"{index}/4")
        assert sorted(read) == [index, index + 4], read  # chunk k = row group k here
    merged = run_collect([], tmp_path / "sharded", merge=True)
    assert merged.documents == single.documents
    assert corpus_bytes(tmp_path / "sharded") == corpus_bytes(tmp_path / "single")

    lines = [json.dumps({"content": python_source(i)}) for i in range(6)]
    lines[3] = "{not json"  # in chunk 1 (rows 2-3) of chunks of 2 rows
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run_collect([tmp_path / "d.jsonl"], tmp_path / "j", chunk_files=2, shard="0/2")  # chunks 0 and 2: fine
    with pytest.raises(InputDataError, match=r"d.jsonl:4: invalid JSON"):
        run_collect([tmp_path / "d.jsonl"], tmp_path / "j", chunk_files=2, shard="1/2")
