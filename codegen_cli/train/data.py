"""Training windows read straight from the memory-mapped token shards of a `codegen tokenize` folder.

A split is the concatenation of its shards; windows of `seq_len + 1` tokens (inputs plus the shifted
targets) start every `seq_len` tokens inside one shard, so no copy of the corpus is ever held in RAM.
The order is a pure function of (seed, epoch): epoch e visits all windows in a pseudo-random permutation
keyed by `numpy.random.default_rng([seed, e])` (a Feistel network, so no per-window table in memory). A run's position in the data is therefore one integer, the number
of windows consumed, which is what checkpoints store and what makes resume exact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codegen_cli.errors import InputDataError
from codegen_cli.manifest import read_manifest

DTYPES = {"uint16": np.dtype("<u2"), "uint32": np.dtype("<u4")}
SPECIAL_KEYS = ("eos", "pad", "fim_prefix", "fim_middle", "fim_suffix")


@dataclass
class TokensInfo:
    """What train needs from TOKENS/meta.json, checked."""

    folder: Path
    meta: dict[str, Any]
    dtype: np.dtype
    vocab_size: int
    special_ids: dict[str, int]
    tokenizer_dir: Path


def read_tokens_info(folder: Path) -> TokensInfo:
    """Check the tokens folder's manifest, meta.json and shard files; one-line InputDataError otherwise."""
    folder = Path(folder)
    read_manifest(folder, stage="tokenize")
    meta_path = folder / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputDataError(f"{meta_path}: unreadable ({exc}); rerun `codegen tokenize`") from exc
    where = f"{meta_path}"
    if meta.get("format_version") != 1:
        raise InputDataError(f"{where}: format_version {meta.get('format_version')!r}, expected 1")
    if meta.get("dtype") not in DTYPES:
        raise InputDataError(f"{where}: dtype {meta.get('dtype')!r} is not uint16 or uint32")
    vocab = meta.get("vocab_size")
    if not isinstance(vocab, int) or vocab < 2:
        raise InputDataError(f"{where}: vocab_size {vocab!r} is not a positive integer")
    specials = meta.get("special_ids") or {}
    if not isinstance(specials.get("eos"), int) or not 0 <= specials["eos"] < vocab:
        raise InputDataError(f"{where}: special_ids.eos missing or outside the vocabulary")
    tok_dir = folder / str(meta.get("tokenizer_dir", "tokenizer"))
    if not tok_dir.is_dir():
        raise InputDataError(f"{tok_dir}: tokenizer folder missing; rerun `codegen tokenize`")
    info = TokensInfo(folder, meta, DTYPES[meta["dtype"]], vocab,
                      {k: int(v) for k, v in specials.items() if isinstance(v, int)}, tok_dir)
    for split in ("train", "val"):
        _check_split(info, split)
    return info


def _check_split(info: TokensInfo, split: str) -> None:
    entry = (info.meta.get("splits") or {}).get(split)
    where = f"{info.folder / 'meta.json'}: splits.{split}"
    if not isinstance(entry, dict) or not isinstance(entry.get("shards"), list):
        raise InputDataError(f"{where} missing or without a shard list; rerun `codegen tokenize`")
    total = 0
    for rel in entry["shards"]:
        path = info.folder / rel
        if not path.is_file():
            raise InputDataError(f"{path}: shard listed in meta.json is missing; rerun `codegen tokenize`")
        size = path.stat().st_size
        if size % info.dtype.itemsize:
            raise InputDataError(f"{path}: {size} bytes is not a whole number of {info.meta['dtype']} tokens")
        total += size // info.dtype.itemsize
    if entry.get("tokens") is not None and int(entry["tokens"]) != total:
        raise InputDataError(f"{where}.tokens says {entry['tokens']} but the shards hold {total} tokens "
                             "(truncated or replaced shard); rerun `codegen tokenize`")


def tokenizer_sha256(folder: Path) -> str:
    """The tokenize stage's folder hash (sha256 over each file's name and sha256), as in meta.json."""
    try:
        from codegen_cli.tokenizer.folder import folder_sha256
    except ImportError:  # pragma: no cover - same recipe, for a checkout without the tokenize stage
        import hashlib

        from codegen_cli.atomic import sha256_file

        digest = hashlib.sha256()
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            digest.update(f"{path.relative_to(folder).as_posix()}\t{sha256_file(path)}\n".encode())
        return digest.hexdigest()
    return folder_sha256(folder)


def check_tokenizer(info: TokensInfo) -> int:
    """The tokenizer must be the one the shards were made with: same hash, size and special ids."""
    from transformers import AutoTokenizer

    expected = info.meta.get("tokenizer_sha256")
    if expected and tokenizer_sha256(info.tokenizer_dir) != expected:
        raise InputDataError(f"{info.tokenizer_dir}: its sha256 differs from meta.json tokenizer_sha256; the "
                             "tokenizer was replaced after tokenizing, rerun `codegen tokenize`")

    try:
        tok = AutoTokenizer.from_pretrained(str(info.tokenizer_dir))
    except Exception as exc:
        raise InputDataError(f"{info.tokenizer_dir}: not a loadable tokenizer ({exc})") from exc
    where = f"{info.tokenizer_dir} vs {info.folder / 'meta.json'}"
    if len(tok) != info.vocab_size:
        raise InputDataError(f"{where}: tokenizer has {len(tok)} tokens but meta.json vocab_size is "
                             f"{info.vocab_size}; the tokens were made with another tokenizer")
    names = info.meta.get("special_tokens") or {}
    for key, token_id in info.special_ids.items():
        name = names.get(key)
        if name is not None and tok.convert_tokens_to_ids(name) != token_id:
            raise InputDataError(f"{where}: special token {name} has id {tok.convert_tokens_to_ids(name)} "
                                 f"in the tokenizer but {token_id} in meta.json")
    return len(tok)


def tokens_vocab_sha256(info: TokensInfo) -> str:
    """The vocabulary hash (tokenizer.pretrained.vocab_sha256) of the tokenizer the shards were made with."""
    from transformers import AutoTokenizer

    from codegen_cli.tokenizer.pretrained import vocab_sha256

    return vocab_sha256(AutoTokenizer.from_pretrained(str(info.tokenizer_dir)))


CHECK_TOKENS = 1 << 20  # ids checked at each end of a shard: a foreign vocabulary shows up at once


def _check_ids(data: np.ndarray, vocab_size: int, path: Path) -> None:
    """Cheap sanity check (head and tail of the shard), so a mismatch fails before training starts."""
    if len(data) == 0:
        return
    top = max(int(data[:CHECK_TOKENS].max()), int(data[-CHECK_TOKENS:].max()))
    if top >= vocab_size:
        raise InputDataError(f"{path}: token id {top} >= vocab_size {vocab_size} in meta.json; the shards were "
                             "made with another tokenizer, rerun `codegen tokenize`")


class WindowSource:
    """Fixed-length windows over one split's shards (memory-mapped, read-only)."""

    def __init__(self, info: TokensInfo, split: str, seq_len: int) -> None:
        self.seq_len = seq_len
        self.split = split
        self._maps: list[np.memmap] = []
        starts: list[np.ndarray] = []
        for shard_index, rel in enumerate(info.meta["splits"][split]["shards"]):
            path = info.folder / rel
            if path.stat().st_size == 0:
                continue
            data = np.memmap(path, dtype=info.dtype, mode="r")
            _check_ids(data, info.vocab_size, path)
            self._maps.append(data)
            count = (len(data) - 1) // seq_len  # each window needs seq_len + 1 tokens
            if count > 0:
                offsets = np.arange(count, dtype=np.int64) * seq_len
                starts.append(np.stack([np.full(count, len(self._maps) - 1, np.int64), offsets], axis=1))
        self._index = np.concatenate(starts) if starts else np.zeros((0, 2), np.int64)

    def __len__(self) -> int:
        return len(self._index)

    def window(self, i: int) -> np.ndarray:
        shard, start = self._index[i]
        return np.asarray(self._maps[shard][start:start + self.seq_len + 1], dtype=np.int64)

    def batch(self, indices: np.ndarray) -> np.ndarray:
        """[len(indices), seq_len + 1] int64 windows."""
        return np.stack([self.window(int(i)) for i in indices])


_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a cheap, well-mixing hash of uint64 values (wraps on overflow)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _MIX1
        x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


class Permutation:
    """A seeded pseudo-random permutation of range(n) in O(1) memory: a 4-round Feistel network on the
    smallest even bit width covering n, with cycle walking for values >= n. A table from
    numpy's permutation would need 8 bytes per window (3 GB per process for CodeGeeX's 850B tokens)."""

    def __init__(self, n: int, seed: int, epoch: int, rounds: int = 4) -> None:
        self.n = n
        self.half = (max(2, (n - 1).bit_length()) + 1) // 2
        self.mask = np.uint64((1 << self.half) - 1)
        self.keys = np.random.default_rng([seed, epoch]).integers(0, 2**63, size=rounds, dtype=np.uint64)

    def _encrypt(self, x: np.ndarray) -> np.ndarray:
        shift = np.uint64(self.half)
        left, right = x >> shift, x & self.mask
        for key in self.keys:
            left, right = right, left ^ (_mix(right ^ key) & self.mask)
        return (left << shift) | right

    def __call__(self, index: np.ndarray) -> np.ndarray:
        x = self._encrypt(np.asarray(index, dtype=np.uint64))
        while (outside := x >= np.uint64(self.n)).any():  # walk the cycle back into range(n)
            x[outside] = self._encrypt(x[outside])
        return x.astype(np.int64)


class WindowOrder:
    """Which window comes at global position p: `Permutation(N, seed, epoch)(p % N)` with epoch p // N."""

    def __init__(self, num_windows: int, seed: int) -> None:
        self.num_windows = num_windows
        self.seed = seed
        self._perms: dict[int, Permutation] = {}

    def _permutation(self, epoch: int) -> Permutation:
        if epoch not in self._perms:
            self._perms = {epoch: Permutation(self.num_windows, self.seed, epoch)}  # keep one epoch
        return self._perms[epoch]

    def take(self, position: int, count: int) -> np.ndarray:
        """Window indices for global positions [position, position + count)."""
        positions = position + np.arange(count, dtype=np.int64)
        out = np.empty(count, np.int64)
        for epoch in np.unique(positions // self.num_windows):
            here = positions // self.num_windows == epoch
            out[here] = self._permutation(int(epoch))(positions[here] % self.num_windows)
        return out

    def epoch_of(self, position: int) -> int:
        return position // self.num_windows
