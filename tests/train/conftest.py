"""A real TOKENS folder (contracts.md) made once per session from Python standard-library source.

The tokenizer is trained with the tokenize stage's public `train_tokenizer`; the shards, meta.json and
manifest are written here exactly as the contract describes, so the train tests do not depend on the
whole `codegen tokenize` stage.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from codegen_cli.manifest import Manifest, write_manifest

REPO = Path(__file__).resolve().parents[2]
TARGET_BYTES = 300_000  # enough text for a tiny model to learn something in a few dozen steps
VOCAB = 1024


def stdlib_documents(limit_bytes: int = TARGET_BYTES) -> list[str]:
    """Python standard-library modules, in name order, until `limit_bytes` of text."""
    docs, total = [], 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if len(text) < 2000:
            continue
        docs.append(text)
        total += len(text)
        if total >= limit_bytes:
            break
    return docs


def tokenizer_hash(folder: Path) -> str:
    from codegen_cli.train.data import tokenizer_sha256

    return tokenizer_sha256(folder)


def make_tokens_folder(out: Path, docs: list[str], *, val_docs: int = 3, vocab: int = VOCAB) -> Path:
    from transformers import AutoTokenizer

    from codegen_cli.languages import with_tag
    from codegen_cli.tokenizer import train_tokenizer

    tok_dir = out / "tokenizer"
    train_tokenizer([(d, "Python") for d in docs], tok_dir, vocab_size=vocab, tag_style="comment")
    tok = AutoTokenizer.from_pretrained(str(tok_dir))
    eos = tok.convert_tokens_to_ids("<|endoftext|>")
    splits = {"val": docs[:val_docs], "train": docs[val_docs:]}
    meta_splits = {}
    for split, items in splits.items():
        ids: list[int] = []
        for text in items:
            ids.extend(tok(with_tag(text, "Python", "comment"), add_special_tokens=False)["input_ids"])
            ids.append(eos)
        (out / split).mkdir(parents=True, exist_ok=True)
        arr = np.asarray(ids, dtype="<u2")
        half = len(arr) // 2  # two shards, so multi-shard reading is exercised
        arr[:half].tofile(out / split / "000000.bin")
        arr[half:].tofile(out / split / "000001.bin")
        meta_splits[split] = {"tokens": len(arr), "documents": len(items),
                              "shards": [f"{split}/000000.bin", f"{split}/000001.bin"]}
    names = {"eos": "<|endoftext|>", "pad": "<|pad|>", "fim_prefix": "<|fim_prefix|>",
             "fim_middle": "<|fim_middle|>", "fim_suffix": "<|fim_suffix|>"}
    meta = {
        "format_version": 1, "dtype": "uint16", "vocab_size": len(tok), "tag_style": "comment",
        "tokenizer_dir": "tokenizer", "tokenizer_sha256": tokenizer_hash(tok_dir),
        "special_tokens": names, "special_ids": {k: tok.convert_tokens_to_ids(v) for k, v in names.items()},
        "splits": meta_splits,
        "tokens_per_language": {s: {"Python": meta_splits[s]["tokens"]} for s in meta_splits},
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    write_manifest(out, Manifest(stage="tokenize", counts={"documents": len(docs)}))
    return out


@pytest.fixture(scope="session")
def tokens_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only shared TOKENS folder; copy it (`tokens_copy`) before changing anything."""
    return make_tokens_folder(tmp_path_factory.mktemp("tokens"), stdlib_documents())


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
                          capture_output=True, text=True, timeout=timeout)
