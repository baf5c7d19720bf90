"""Fixtures for the collect tests: small real trees, git repositories and a row reader."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from codegen_cli.collect.build_corpus import collect
from codegen_cli.collect.config import CollectConfig

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


def python_source(seed: int, lines: int = 40) -> str:
    """A plausible, unique Python file: distinct identifiers per seed so files are not near duplicates."""
    body = [f'"""Module {seed}: helpers for the seed-{seed} computation."""', "", "import math", ""]
    for i in range(lines // 4):
        body += [f"def func_{seed}_{i}(value_{i}, scale={seed + i}):",
                 f"    total_{i} = math.sqrt(value_{i} * scale) + {i * seed % 97}",
                 f"    return total_{i} - value_{i} // {i + 2}", ""]
    return "\n".join(body) + "\n"


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def read_rows(corpus: Path) -> list[dict]:
    rows: list[dict] = []
    for shard in sorted((corpus / "data").glob("*.parquet")):
        rows += pq.read_table(shard).to_pylist()
    return rows


def run_collect(sources: list[Path | str], output: Path, **options) -> object:
    options.setdefault("workers", 1)
    options.setdefault("cache_dir", output.parent / "git-cache")
    return collect(CollectConfig(sources=[str(s) for s in sources], output=output, **options))


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(path: Path, files: dict[str, str]) -> str:
    """A real git repository with one commit; returns the commit id."""
    path.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "-b", "main", ".", cwd=path)
    write_files(path, files)
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "first", cwd=path)
    return git("rev-parse", "HEAD", cwd=path)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return tmp_path / "src"
