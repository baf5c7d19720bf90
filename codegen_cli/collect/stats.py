"""Counters of kept and dropped files and bytes, per language and per reason, that add up across chunks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

UNKNOWN = "(unknown)"  # the language column of the table for files we never classified


@dataclass
class Stats:
    """`bytes_in` counts every listed file's size (what the sources hold); `bytes_read` only the bytes
    actually opened and read (files skipped by name, size or language before opening are not read)."""

    files_seen: int = 0
    bytes_in: int = 0
    kept: dict[str, list[int]] = field(default_factory=dict)  # language -> [files, bytes]
    dropped: dict[str, list[int]] = field(default_factory=dict)  # reason -> [files, bytes]
    dropped_by_language: dict[str, list[int]] = field(default_factory=dict)
    redactions: Counter[str] = field(default_factory=Counter)
    bytes_read: int = 0

    def seen(self, size: int) -> None:
        self.files_seen += 1
        self.bytes_in += size

    def read(self, size: int) -> None:
        self.bytes_read += size

    def keep(self, language: str, size: int) -> None:
        slot = self.kept.setdefault(language, [0, 0])
        slot[0] += 1
        slot[1] += size

    def drop(self, reason: str, language: str | None, size: int) -> None:
        for table, key in ((self.dropped, reason), (self.dropped_by_language, language or UNKNOWN)):
            slot = table.setdefault(key, [0, 0])
            slot[0] += 1
            slot[1] += size

    def unkeep(self, reason: str, language: str, size: int) -> None:
        """Move a kept document to `reason` (the dedup step runs after the per-file counts)."""
        slot = self.kept[language]
        slot[0] -= 1
        slot[1] -= size
        if slot[0] == 0:
            del self.kept[language]
        self.drop(reason, language, size)

    def add(self, other: Stats) -> None:
        self.files_seen += other.files_seen
        self.bytes_in += other.bytes_in
        self.bytes_read += other.bytes_read
        for mine, theirs in ((self.kept, other.kept), (self.dropped, other.dropped),
                             (self.dropped_by_language, other.dropped_by_language)):
            for key, (files, size) in theirs.items():
                slot = mine.setdefault(key, [0, 0])
                slot[0] += files
                slot[1] += size
        self.redactions.update(other.redactions)

    def to_dict(self) -> dict[str, Any]:
        return {"files_seen": self.files_seen, "bytes_in": self.bytes_in, "kept": self.kept,
                "dropped": self.dropped, "dropped_by_language": self.dropped_by_language,
                "redactions": dict(self.redactions), "bytes_read": self.bytes_read}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Stats:
        return cls(data["files_seen"], data["bytes_in"], {k: list(v) for k, v in data["kept"].items()},
                   {k: list(v) for k, v in data["dropped"].items()},
                   {k: list(v) for k, v in data["dropped_by_language"].items()}, Counter(data["redactions"]),
                   data.get("bytes_read", 0))

    def per_language_dropped(self) -> dict[str, dict[str, int]]:
        return {lang: {"files": n, "bytes": b} for lang, (n, b) in sorted(self.dropped_by_language.items())}

    def dropped_table(self) -> dict[str, dict[str, int]]:
        return {reason: {"files": n, "bytes": b} for reason, (n, b) in sorted(self.dropped.items())}
