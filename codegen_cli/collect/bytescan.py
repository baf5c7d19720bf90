"""One numpy pass over a file's UTF-8 bytes, shared by the filters and MinHash.

Pure-Python character loops run at a few MB/s; lookup tables over `np.frombuffer` run at hundreds. The
token boundaries found here feed the shingles (minhash.py), the decontamination check and the hex-data
prefilter, so each file is tokenised once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _table(chars: bytes, high: bool = False) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    for c in chars:
        table[c] = True
    if high:
        table[0xC0:] = True  # UTF-8 lead bytes: count each non-ASCII character once
    return table


_LETTERS_DIGITS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
IS_WORD = _table(_LETTERS_DIGITS + b"_")
IS_ALNUM = _table(_LETTERS_DIGITS, high=True)
IS_HEX = _table(b"0123456789abcdefABCDEF")
IS_SPACE = _table(b" \t\n\r\x0b\x0c")
IS_BASE64 = _table(_LETTERS_DIGITS + b"+/=\n")
IS_CHAR_START = _table(bytes(range(0x80)), high=True)  # bytes that start a character


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end indices of the maximal runs of True in `mask`."""
    if not len(mask):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    change = np.flatnonzero(mask[1:] != mask[:-1]) + 1
    head = [0] if mask[0] else []
    tail = [len(mask)] if mask[-1] else []
    edges = np.concatenate((np.array(head, np.int64), change, np.array(tail, np.int64)))
    return edges[0::2], edges[1::2]


@dataclass
class ByteView:
    """Lazily computed byte-level facts about one document."""

    data: bytes
    raw: np.ndarray = field(init=False)
    _tokens: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.raw = np.frombuffer(self.data, dtype=np.uint8)

    @property
    def tokens(self) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends) of the `[A-Za-z_0-9]+` tokens."""
        if self._tokens is None:
            self._tokens = runs(IS_WORD[self.raw])
        return self._tokens

    def num_chars(self) -> int:
        return int(np.count_nonzero(IS_CHAR_START[self.raw]))

    def alnum_chars(self) -> int:
        """ASCII letters and digits plus every non-ASCII character (almost all are letters, e.g. CJK)."""
        return int(np.count_nonzero(IS_ALNUM[self.raw]))

    def base64_runs(self, min_len: int = 64) -> np.ndarray:
        """Lengths of the maximal `[a-zA-Z0-9+/\\n=]{min_len,}` runs (the StarCoder2 base64 pattern)."""
        inside = IS_BASE64[self.raw]
        if len(inside) < min_len:
            return np.empty(0, np.int64)
        outside = np.cumsum(~inside, dtype=np.int64)
        if not (outside[min_len - 1:] - np.concatenate(([0], outside[:-min_len])) == 0).any():
            return np.empty(0, np.int64)  # no window of min_len bytes is all base64: the usual case
        starts, ends = runs(inside)
        lengths = ends - starts
        return lengths[lengths >= min_len]

    def may_have_hex_data(self, min_units: int = 8) -> bool:
        """Necessary condition for the hex-data pattern: `min_units` tokens in a row that look like `ff`,
        `0xff` or `xff`. Cheap, so the slow hex regex runs only on files that pass."""
        starts, ends = self.tokens
        length = ends - starts
        pick = np.flatnonzero((length >= 2) & (length <= 4))  # units are `ff`, `xff` or `0xff`
        if len(pick) < min_units:
            return False
        raw, size = self.raw, len(self.raw)
        starts, ends, length = starts[pick], ends[pick], length[pick]
        at = lambda offset: raw[np.minimum(starts + offset, size - 1)]
        lead = raw[starts]
        unit = (length == 2) & IS_HEX[lead] & IS_HEX[at(1)]
        unit |= (length == 4) & (lead == ord("0")) & (at(1) == ord("x")) & IS_HEX[at(2)] & IS_HEX[at(3)]
        unit |= (length == 3) & (lead == ord("x")) & IS_HEX[at(1)] & IS_HEX[at(2)]
        if np.count_nonzero(unit) < min_units:
            return False
        # Between two units the pattern allows only `,` or whitespace, then an optional `\\` (of `\\x`).
        gap_start, gap_end = ends[:-1], starts[1:]
        gap_end = gap_end - (raw[gap_end - 1] == ord("\\"))
        gap = gap_end - gap_start
        spaces = np.concatenate([[0], np.cumsum(IS_SPACE[raw], dtype=np.int64)])
        fits = (gap <= 0) | ((gap == 1) & (raw[gap_start] == ord(","))) | (spaces[gap_end] - spaces[gap_start] == gap)
        adjacent = pick[1:] == pick[:-1] + 1  # consecutive tokens of the file, not just of the subset
        links = unit[:-1] & unit[1:] & fits & adjacent  # token i and i+1 can be consecutive units of one match
        run_starts, run_ends = runs(links)
        return bool(len(run_starts)) and int((run_ends - run_starts).max()) >= min_units - 1
