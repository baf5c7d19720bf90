"""The records that flow from the walkers to the workers, and the chunks that group them.

A chunk is the unit of parallel work, of resume (one completion marker each) and of sharding
(`--shard I/N` takes chunks k with k % N == I). Chunk boundaries depend only on the inputs (file
order and sizes), never on `--workers`, which is what makes the output identical for any worker count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from codegen_cli.atomic import sha256_json


@dataclass(frozen=True)
class FileItem:
    """A file to read: `path` is relative to its source (what the corpus stores)."""

    path: str
    abs_path: str
    size: int
    license: str | None
    mtime_ns: int = 0  # an edit that keeps the size still changes the chunk fingerprint


@dataclass(frozen=True)
class RowItem:
    """A dataset row, content already in memory."""

    path: str
    content: str | bytes
    license: str | None
    language: str | None = None  # from --language-column when given


@dataclass(frozen=True)
class SkipItem:
    """A file dropped while walking (vendored path, unknown extension, broken symlink, ...)."""

    path: str
    reason: str
    size: int
    language: str | None = None
    mtime_ns: int = 0


Item = FileItem | RowItem | SkipItem


@dataclass
class Chunk:
    index: int
    source_index: int
    source_name: str
    items: list[Item] = field(default_factory=list)

    def fingerprint(self) -> str:
        """Hash of what the chunk holds, so a rerun notices a chunk whose inputs changed."""
        summary = []
        for item in self.items:
            if isinstance(item, FileItem):
                summary.append(["f", item.path, item.size, item.mtime_ns, item.license])
            elif isinstance(item, RowItem):
                summary.append(["r", item.path, len(item.content), item.license, item.language])
            else:
                summary.append(["s", item.path, item.reason, item.size])
        return sha256_json([self.index, self.source_name, summary])


def item_weight(item: Item) -> int:
    """Approximate bytes of work an item costs (characters for in-memory rows): sizes the chunks."""
    if isinstance(item, RowItem):
        return len(item.content)
    if isinstance(item, SkipItem):
        return 0
    return item.size
