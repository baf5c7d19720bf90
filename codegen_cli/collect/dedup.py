"""Global exact and near dedup over all chunks, from the key arrays only (never the contents).

Documents are numbered by their global position (chunk order, then row order). That order does not
depend on `--workers` or `--shard`, so "keep the smallest position" is a deterministic rule that gives
the same corpus for any worker count and for sharded + merged runs.

Memory: the exact step sorts the 16-byte id prefixes (~40 bytes a document with the sort order); the
near step holds one band column (8 bytes a document) at a time plus the union-find parent array (8 bytes
a document). A corpus of 10 M files needs about half a GB here.
"""

from __future__ import annotations

from array import array
from pathlib import Path

import numpy as np


def load_column(key_files: list[Path], column: int) -> np.ndarray:
    """One column of every chunk's key array, concatenated in chunk order (memory-mapped reads)."""
    parts = [np.load(path, mmap_mode="r")[:, column] for path in key_files]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)


def exact_duplicates(key_files: list[Path]) -> np.ndarray:
    """Boolean mask: True for every document whose id was already seen at a smaller position."""
    hi, lo = load_column(key_files, 0), load_column(key_files, 1)
    dup = np.zeros(len(hi), dtype=bool)
    if len(hi) < 2:
        return dup
    order = np.lexsort((np.arange(len(hi)), lo, hi))  # by id, then position
    same = (hi[order][1:] == hi[order][:-1]) & (lo[order][1:] == lo[order][:-1])
    dup[order[1:][same]] = True
    return dup


class UnionFind:
    """Union by smaller index with path halving: each root is its component's smallest position."""

    def __init__(self, size: int) -> None:
        self.parent = array("q", range(size))  # 8 bytes a document, unlike a list of int objects

    def find(self, node: int) -> int:
        parent = self.parent
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if ra < rb:
                self.parent[rb] = ra
            else:
                self.parent[ra] = rb


def _band_edges(values: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (first member, other member) of each group of candidates sharing a band key."""
    vals = values[candidates]
    live = vals != 0  # 0 = no signature (e.g. a file without tokens)
    members, vals = candidates[live], vals[live]
    order = np.argsort(vals, kind="stable")
    members, vals = members[order], vals[order]
    if len(vals) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    new_group = np.concatenate([[True], vals[1:] != vals[:-1]])
    group_first = members[np.flatnonzero(new_group)]
    group_id = np.cumsum(new_group) - 1
    others = ~new_group
    return group_first[group_id[others]], members[others]


def near_duplicates(key_files: list[Path], skip: np.ndarray, bands: int) -> tuple[np.ndarray, int]:
    """Mask of near duplicates among documents not in `skip`, plus the number of clusters found.

    Two documents are linked when any band key matches (LSH); linked documents form clusters
    (union-find), and every cluster keeps only its smallest position.
    """
    size = len(skip)
    candidates = np.flatnonzero(~skip)
    forest = UnionFind(size)
    touched: set[int] = set()
    for band in range(bands):
        firsts, others = _band_edges(load_column(key_files, 2 + band), candidates)
        for a, b in zip(firsts.tolist(), others.tolist()):
            forest.union(a, b)
        touched.update(firsts.tolist())  # a group's first member can join a smaller root elsewhere
        touched.update(others.tolist())
    dup = np.zeros(size, dtype=bool)
    if not touched:
        return dup, 0
    roots = np.arange(size)
    for node in touched:  # only linked documents can have another root than themselves
        roots[node] = forest.find(node)
    dup = roots != np.arange(size)
    dup &= ~skip
    clusters = len(np.unique(roots[dup]))
    return dup, clusters
