"""A rerun never hands back a corpus made from other inputs, and the counters say what they count."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .conftest import git, make_repo, python_source, write_files


def _collect(cli, *args):
    result = cli("collect", *map(str, args), "--workers", "1", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_added_removed_and_edited_files_rebuild_the_corpus(cli, tmp_path: Path):
    src = write_files(tmp_path / "src", {f"m{i}.py": python_source(i) for i in range(4)})
    out = tmp_path / "corpus"
    first, _ = _collect(cli, src, "-o", out)
    assert first["documents"] == 4
    again, _ = _collect(cli, src, "-o", out)
    assert again["already_complete"] and again["documents"] == 4

    (src / "m9.py").write_text(python_source(9))  # added: it was invisible (4 documents, "already complete")
    added, err = _collect(cli, src, "-o", out)
    assert not added["already_complete"] and added["documents"] == 5
    assert "1 file added" in err

    (src / "m0.py").unlink()
    removed, err = _collect(cli, src, "-o", out)
    assert removed["documents"] == 4 and "1 file removed" in err

    edited = src / "m1.py"
    stat = edited.stat()
    edited.write_text(python_source(1).replace("def ", "def  "))  # same count of files, new content
    os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    changed, err = _collect(cli, src, "-o", out)
    assert not changed["already_complete"] and "files edited" in err
    assert changed["documents"] == 4


def test_a_moved_branch_is_fetched_again(cli, tmp_path: Path):
    repo = tmp_path / "repo"
    make_repo(repo, {"a.py": python_source(1)})
    cache = tmp_path / "gitcache"
    spec = f"file://{repo}@main"
    first, _ = _collect(cli, spec, "-o", tmp_path / "c", "--cache-dir", cache)
    assert first["documents"] == 1
    (repo / "b.py").write_text(python_source(2))
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "more", cwd=repo)
    second, err = _collect(cli, spec, "-o", tmp_path / "c", "--cache-dir", cache)
    assert second["documents"] == 2, err
    assert second["sources"][0]["commit"] == git("rev-parse", "HEAD", cwd=repo)


def test_bytes_listed_and_bytes_read_are_separate(cli, tmp_path: Path):
    """A 5 MB file skipped by its name is listed, not read (it was reported as '5.00 MB read')."""
    src = write_files(tmp_path / "src", {"blob.dat": b"\0" * 5_000_000, "a.py": "x = 1\nprint(x)\n" * 2})
    summary, err = _collect(cli, src, "-o", tmp_path / "out")
    assert summary["bytes_in"] == 5_000_000 + 30 and summary["bytes_read"] == 30
    assert "5.00 MB" in err and "0.00 MB read" in err and "documents after dedup" in err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["counts"]["bytes_read"] == 30


def test_progress_labels_kept_before_dedup(cli, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CODEGEN_LOG_INTERVAL", "0")
    src = write_files(tmp_path / "src", {"a.py": python_source(1), "b.py": python_source(1)})
    summary, err = _collect(cli, src, "-o", tmp_path / "out")
    assert "kept_before_dedup=2" in err and summary["documents"] == 1
    assert "kept=" not in err.replace("kept_before_dedup=", "")


def test_tables_list_languages_in_a_fixed_order(monkeypatch):
    """Languages with nothing kept tie on bytes; they are listed by name, the same on every run."""
    import io

    from rich.console import Console

    from codegen_cli.cli import collect as cli_collect
    from codegen_cli.collect.config import CollectSummary

    names = ["Rust", "C", "Go", "Java", "Lua"]
    summary = CollectSummary(output="x", complete=True,
                             dropped_per_language={n: {"files": 1, "bytes": 0} for n in names})
    buffer = io.StringIO()
    monkeypatch.setattr(cli_collect, "console", lambda: Console(file=buffer, width=120))
    cli_collect.render(summary)
    text = buffer.getvalue()
    positions = [text.index(f" {name} ") for name in sorted(names)]
    assert positions == sorted(positions)
