"""MinHash signatures and LSH: estimates track the true Jaccard; near copies collide; hashing is stable."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np

from codegen_cli.collect import minhash
from codegen_cli.collect.bytescan import ByteView
from codegen_cli.collect.dedup import UnionFind

from .conftest import python_source


def sig(text: str) -> np.ndarray:
    shingles = minhash.document_shingles(ByteView(text.encode()), 5)
    return minhash.signature(shingles, 256)


def true_jaccard(a: str, b: str) -> float:
    def shingles(text: str) -> set[tuple[str, ...]]:
        tokens = [t for t in re.split(r"[^A-Za-z_0-9]+", text) if t]
        return {tuple(tokens[i:i + 5]) for i in range(len(tokens) - 4)}

    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y)


def edit(text: str, every: int) -> str:
    lines = text.split("\n")
    return "\n".join(f"changed_{i} = {i}" if i % every == 0 else line for i, line in enumerate(lines))


def test_estimate_tracks_true_jaccard():
    base = python_source(11, lines=400)
    for every in (3, 5, 10, 40):
        other = edit(base, every)
        assert abs(minhash.estimate_jaccard(sig(base), sig(other)) - true_jaccard(base, other)) < 0.1


def test_near_copy_shares_a_band_and_unrelated_does_not():
    base = python_source(12, lines=200)
    keys = lambda text: minhash.document_bands(text.encode(), ngram_size=5, num_perm=256, bands=25, rows=10)
    assert np.array_equal(keys(base), keys(base))
    assert (keys(base) == keys(edit(base, 40))).any()  # a few lines changed
    assert not (keys(base) == keys(python_source(13, lines=200))).any()


def test_short_and_empty_documents():
    assert minhash.signature(np.empty(0, dtype=np.uint64), 256) is None
    assert not minhash.band_keys(None, 25, 10).any()
    assert sig("one two") is not None  # fewer tokens than a shingle: one shingle of all tokens


def test_hashes_do_not_depend_on_the_process():
    code = ("from codegen_cli.collect import minhash;"
            "print(minhash.document_bands(b'def f(x):\\n    return x + 1\\n' * 3, ngram_size=5, num_perm=256,"
            " bands=25, rows=10).tolist())")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2)}
    assert len(runs) == 1


def test_collision_probability_matches_the_design_threshold():
    assert 0.45 < minhash.collision_probability(0.7, 25, 10) < 0.55
    assert minhash.collision_probability(0.9, 25, 10) > 0.99
    assert minhash.collision_probability(0.4, 25, 10) < 0.01


def test_union_find_keeps_the_smallest_index():
    forest = UnionFind(6)
    forest.union(4, 2)
    forest.union(5, 4)
    forest.union(3, 1)
    assert [forest.find(i) for i in range(6)] == [0, 1, 2, 1, 2, 2]


def test_near_duplicates_follow_links_through_any_band(tmp_path):
    """Document 3 heads its group in band 1 but joins 0's cluster through 5: it must be dropped."""
    from codegen_cli.collect.dedup import near_duplicates

    keys = np.zeros((6, 2 + 2), dtype=np.uint64)
    keys[:, 2] = [11, 12, 13, 14, 15, 11]  # band 0: {0, 5}
    keys[:, 3] = [21, 22, 23, 33, 24, 33]  # band 1: {3, 5}
    path = tmp_path / "keys.npy"
    np.save(path, keys)
    dup, clusters = near_duplicates([path], np.zeros(6, dtype=bool), bands=2)
    assert dup.tolist() == [False, False, False, True, False, True]
    assert clusters == 1
