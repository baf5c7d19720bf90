"""Red-team findings against `codegen collect --merge --shard I/N` (issue 23's review)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import python_source, run_collect, write_files


def test_merge_parts_with_different_counts_are_refused(tmp_path: Path):
    """A Slurm merge array resubmitted with another size (--shard 0/2, then 1/3 and 2/3): every task wrote
    its files and ended 'not complete' with exit 0, file 3 was written by nobody, and no manifest ever came.
    The part with another count should be refused (exit 4, naming both counts), as shards that ran with
    other options are."""
    from codegen_cli.errors import MismatchError

    src = write_files(tmp_path / "src", {f"pkg/mod_{i:03d}.py": python_source(i, lines=1500) for i in range(100)})
    out = tmp_path / "out"
    for index in range(2):
        run_collect([src], out, chunk_files=4, shard_size_mb=1, shard=f"{index}/2")
    assert not run_collect([], out, merge=True, shard="0/2").complete
    with pytest.raises(MismatchError, match="2"):
        run_collect([], out, merge=True, shard="1/3")
    finished = run_collect([], out, merge=True)  # `--merge` alone finishes it in one process
    assert finished.complete and (out / "manifest.json").is_file()
