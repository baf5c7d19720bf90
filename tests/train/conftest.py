"""A real TOKENS folder made once per session: Python standard-library modules written as a corpus/
folder (contracts.md), then the real `codegen tokenize` stage (byte-level BPE, comment language tags)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from codegen_cli.manifest import Manifest, write_manifest

REPO = Path(__file__).resolve().parents[2]
TARGET_BYTES = 300_000  # enough text for a tiny model to learn something in a few dozen steps
VOCAB = 1024


def stdlib_documents(limit_bytes: int = TARGET_BYTES) -> list[str]:
    """Mid-sized Python standard-library modules, in name order, until `limit_bytes` of text."""
    docs, total = [], 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if not 2000 <= len(text) <= 15000:
            continue
        docs.append(text)
        total += len(text)
        if total >= limit_bytes:
            break
    return docs


def write_corpus(folder: Path, docs: list[str]) -> Path:
    """A corpus/ folder per contracts.md (one zstd Parquet shard + a collect manifest)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"id": hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest(), "content": text,
             "language": "Python", "path": f"stdlib/{i:04d}.py", "source": "python-stdlib", "license": "PSF-2.0",
             "size_bytes": len(text.encode("utf-8")), "num_lines": text.count("\n")} for i, text in enumerate(docs)]
    (folder / "data").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "data" / "part-00000.parquet", compression="zstd")
    write_manifest(folder, Manifest(stage="collect", counts={
        "documents": len(rows), "dropped": {},
        "per_language": {"Python": {"files": len(rows), "bytes": sum(r["size_bytes"] for r in rows)}}}))
    return folder


def make_tokens_folder(out: Path, docs: list[str], *, vocab: int = VOCAB) -> Path:
    """The real `codegen tokenize` stage (comment tags, as CodeGeeX) on a corpus of `docs`."""
    from codegen_cli.tokenizer import TokenizeConfig, tokenize

    corpus = write_corpus(out.parent / f"{out.name}-corpus", docs)
    tokenize(TokenizeConfig(corpus=corpus, output=out, vocab_size=vocab, tag_style="comment",
                            val_fraction=0.1, shard_tokens=40_000, workers=1))
    return out


@pytest.fixture(scope="session")
def tokens_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only shared TOKENS folder; copy it (`tokens_copy`) before changing anything."""
    return make_tokens_folder(tmp_path_factory.mktemp("tokens") / "tokens", stdlib_documents())


@pytest.fixture
def tokens_copy(tokens_dir: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "tokens"
    shutil.copytree(tokens_dir, dest)
    return dest


def train_args(tokens: Path, run: Path, *extra: str) -> list[str]:
    """A fast CLI call: tiny preset, small windows, log every step."""
    return ["train", str(tokens), "-o", str(run), "--preset", "tiny", "--seq-len", "32",
            "--micro-batch-size", "4", "--set", "log_every=1", "--set", "eval_batches=2", *extra]


def run_cli(args: list[str], *, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m codegen_cli ...` in a real subprocess (for signals and multi-process runs)."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "CODEGEN_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1",
                **(env or {})}
    return subprocess.run([sys.executable, "-m", "codegen_cli", *args], cwd=REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout, check=False)
