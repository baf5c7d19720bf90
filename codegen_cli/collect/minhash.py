"""MinHash signatures and LSH band keys, vectorised with numpy (DESIGN.md §3 near dedup).

Why not datasketch: it hashes every shingle with a Python-level sha1 call and then applies 256
`(a*h + b) mod p` permutations to every shingle, so a 18 KB file costs ~3 ms. Here:

1. Tokens are the runs of `[A-Za-z_0-9]` in the UTF-8 bytes (non-ASCII bytes are separators, as in the
   `[^A-Za-z_0-9]+` split of bigcode). Each token's 64-bit hash is a polynomial over its bytes, computed
   for all tokens at once from one prefix sum (uint64 arithmetic wraps, i.e. works mod 2**64).
2. A shingle is `ngram_size` consecutive tokens; its hash combines the token hashes polynomially and goes
   through the splitmix64 finaliser, so equal shingles get equal, well-mixed 64-bit values.
3. The signature uses one-permutation hashing with optimal densification (Li, Owen & Zhang 2012;
   Shrivastava 2017): the top 8 bits of a shingle hash pick one of `num_perm` bins, the rest is its value,
   and each bin keeps its minimum. Empty bins borrow from a non-empty bin picked by a fixed pseudo-random
   probe sequence. The `num_perm` values estimate Jaccard similarity like `num_perm` independent
   permutations, at the cost of one hash per shingle instead of `num_perm`.
4. Bands of `rows` values are hashed to one 64-bit key each; two documents are near-duplicate candidates
   when any band key is equal. Only these keys reach the dedup index, never file contents.

Everything is deterministic: fixed constants, no Python `hash()` (which is salted per process).
"""

from __future__ import annotations

import numpy as np

from codegen_cli.collect.bytescan import ByteView

_U64 = np.uint64
_MASK56 = _U64((1 << 56) - 1)
_BASE = _U64(0x100000001B3)  # odd, so it is invertible mod 2**64
_BASE_INV = _U64(pow(0x100000001B3, -1, 1 << 64))
_SHINGLE_MUL = _U64(0x9E3779B97F4A7C15)
_EMPTY = np.iinfo(np.uint64).max

_pow_cache: dict[str, np.ndarray] = {}


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """BASE**i and BASE**-i mod 2**64 for i < n (grown on demand and cached per process)."""
    have = _pow_cache.get("pow")
    if have is None or len(have) < n:
        size = max(n, 1 << 16, 2 * (0 if have is None else len(have)))
        with np.errstate(over="ignore"):
            pw = np.full(size, _BASE, dtype=np.uint64)
            pw[0] = 1
            np.cumprod(pw, out=pw)
            inv = np.full(size, _BASE_INV, dtype=np.uint64)
            inv[0] = 1
            np.cumprod(inv, out=inv)
        _pow_cache["pow"], _pow_cache["inv"] = pw, inv
    return _pow_cache["pow"], _pow_cache["inv"]


def _fmix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads every input bit over the whole 64-bit output."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> _U64(30))
        x = x * _U64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> _U64(27))
        x = x * _U64(0x94D049BB133111EB)
        return x ^ (x >> _U64(31))


def token_hashes(raw: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """64-bit hash of each token `raw[start:end]` (bytes as uint8), in order."""
    if len(starts) == 0:
        return np.empty(0, dtype=np.uint64)
    pw, inv = _powers(len(raw) + 1)
    with np.errstate(over="ignore"):
        terms = (raw.astype(np.uint64) + _U64(1)) * pw[: len(raw)]
        prefix = np.empty(len(raw) + 1, dtype=np.uint64)
        prefix[0] = 0
        np.cumsum(terms, out=prefix[1:])
        # sum_{j in token} c_j * B**(j - start): the same value wherever the token occurs
        return (prefix[ends] - prefix[starts]) * inv[starts]


def shingle_hashes(tokens: np.ndarray, ngram_size: int) -> np.ndarray:
    """Sorted unique 64-bit hashes of the `ngram_size`-token shingles (one shingle if fewer tokens)."""
    n = len(tokens)
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    width = min(ngram_size, n)
    count = n - width + 1
    with np.errstate(over="ignore"):
        acc = tokens[:count].copy()
        for offset in range(1, width):
            acc = acc * _SHINGLE_MUL + tokens[offset : offset + count]
        hashed = np.sort(_fmix64(acc + _U64(width)))
    return hashed[np.concatenate([[True], hashed[1:] != hashed[:-1]])]  # sorted unique, no hash table


def _probe_table(num_perm: int, probes: int = 64) -> np.ndarray:
    """Fixed pseudo-random bins each empty bin tries in turn (optimal densification)."""
    key = ("probe", num_perm, probes)
    table = _pow_cache.get(str(key))
    if table is None:
        grid = np.arange(num_perm * probes, dtype=np.uint64) + _U64(0x632BE59BD9B4E019)
        table = (_fmix64(grid) % _U64(num_perm)).astype(np.int64).reshape(num_perm, probes)
        _pow_cache[str(key)] = table
    return table


def signature(shingles: np.ndarray, num_perm: int) -> np.ndarray | None:
    """`num_perm` MinHash values by one-permutation hashing with densification; None without shingles."""
    if len(shingles) == 0:
        return None
    bits = int(num_perm - 1).bit_length()
    if 1 << bits != num_perm:
        raise ValueError(f"num_perm must be a power of two, got {num_perm}")
    # `shingles` is sorted, so the first hash of each bin (top bits) is that bin's minimum.
    bins = (shingles >> _U64(64 - bits)).astype(np.int64)
    first = np.flatnonzero(np.diff(bins, prepend=-1))
    sig = np.full(num_perm, _EMPTY, dtype=np.uint64)
    sig[bins[first]] = shingles[first] & _MASK56
    empty = np.flatnonzero(sig == _EMPTY)
    if len(empty):
        filled = sig != _EMPTY
        probes = _probe_table(num_perm)[empty]
        ok = filled[probes]
        pick = ok.argmax(axis=1)
        chosen = probes[np.arange(len(empty)), pick]
        missed = np.flatnonzero(~ok.any(axis=1))  # few shingles: all probes of these bins missed
        if len(missed):
            have = np.flatnonzero(filled)
            chosen[missed] = have[empty[missed] % len(have)]
        # mix the bin number in, so two empty bins that borrow the same value still differ
        sig[empty] = (_fmix64(sig[chosen] ^ empty.astype(np.uint64)) & _MASK56)
    return sig


def band_keys(sig: np.ndarray | None, bands: int, rows: int) -> np.ndarray:
    """One non-zero 64-bit key per band; all zeros means 'no signature' (skipped by the LSH index)."""
    if sig is None:
        return np.zeros(bands, dtype=np.uint64)
    block = sig[: bands * rows].reshape(bands, rows)
    with np.errstate(over="ignore"):
        weights = _SHINGLE_MUL ** np.arange(1, rows + 1, dtype=np.uint64)  # wraps mod 2**64
        acc = (block * weights).sum(axis=1, dtype=np.uint64)  # a polynomial over the band's values
        salt = np.arange(bands, dtype=np.uint64) * _U64(0xD6E8FEB86659FD93)  # equal rows in two bands differ
        return _fmix64(acc ^ salt) | _U64(1)


def document_shingles(view: ByteView, ngram_size: int) -> np.ndarray:
    """Sorted unique shingle hashes of a document (its tokens come from the shared ByteView)."""
    starts, ends = view.tokens
    return shingle_hashes(token_hashes(view.raw, starts, ends), ngram_size)


def document_bands(data: bytes, *, ngram_size: int, num_perm: int, bands: int, rows: int) -> np.ndarray:
    """Band keys of one document's UTF-8 bytes (what the near-dedup index stores per document)."""
    shingles = document_shingles(ByteView(data), ngram_size)
    return band_keys(signature(shingles, num_perm), bands, rows)


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Share of equal MinHash values: an unbiased estimate of the shingle-set Jaccard similarity."""
    return float(np.mean(sig_a == sig_b))


def collision_probability(similarity: float, bands: int, rows: int) -> float:
    """P(two documents with this Jaccard similarity share at least one band): 1 - (1 - s**r)**b."""
    return 1.0 - (1.0 - similarity**rows) ** bands
