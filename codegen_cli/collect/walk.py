"""Walk a directory source: files in a fixed order, vendored paths pruned, symlinks handled safely.

Order is sorted by name at every level, so the same tree always gives the same item sequence (and so the
same chunks and rows). Symlinks are followed only when they stay inside the source; a directory reached
twice (a loop, or two links to one folder) is walked once. Everything skipped here becomes a SkipItem so
the manifest counts it under its reason.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from codegen_cli.collect.items import FileItem, Item, SkipItem
from codegen_cli.collect.licenses import detect_in_folder
from codegen_cli.languages import detect_language

# Stack v2 `is_vendor`-style rules (linguist vendor.yml / generated.rb): folders never worth reading.
VENDORED_DIRS = frozenset({
    ".git", ".hg", ".svn", ".bzr", "node_modules", "bower_components", "vendor", "vendors", "third_party",
    "thirdparty", "3rdparty", "dist", "build", "target", "__pycache__", ".tox", ".nox",
    ".venv", "venv", "site-packages", ".mypy_cache", ".pytest_cache", ".idea", ".vscode", ".gradle",
    "Pods", "Carthage", ".next", ".nuxt", "coverage", ".eggs",
})
LOCK_FILES = frozenset({
    "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "Cargo.lock", "poetry.lock", "Pipfile.lock",
    "Gemfile.lock", "composer.lock", "go.sum", "uv.lock", "bun.lockb",
})
# Minified, bundled and generated-code file names (protobuf, gRPC, Qt moc, ANTLR, ...).
GENERATED_NAME = re.compile(
    r"(?:[.-]min\.(?:js|css)$|\.bundle\.js$|_pb2(?:_grpc)?\.pyi?$|\.pb\.(?:go|cc|h)$|\.pb\.gw\.go$"
    r"|^moc_.*\.cpp$|\.g\.dart$|\.designer\.cs$|\.generated\.\w+$)",
    re.IGNORECASE,
)


def is_vendored_file(name: str) -> bool:
    return name in LOCK_FILES or bool(GENERATED_NAME.search(name))


def clean_path(text: str) -> str:
    """Paths with undecodable bytes (surrogate escapes) become valid UTF-8 for the Parquet column."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class DirWalker:
    """Iterates the items of one directory tree."""

    def __init__(self, root: Path, *, skip_vendored: bool = True) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.skip_vendored = skip_vendored
        self.seen_dirs: set[tuple[int, int]] = set()

    def __iter__(self) -> Iterator[Item]:
        try:
            st = os.stat(self.root)
        except OSError:
            return
        self.seen_dirs.add((st.st_dev, st.st_ino))
        yield from self._walk(self.root, "", None)

    def _inside(self, real: str) -> bool:
        return real == self.real_root or real.startswith(self.real_root.rstrip(os.sep) + os.sep)

    def _walk(self, folder: Path, rel: str, inherited: str | None) -> Iterator[Item]:
        try:
            with os.scandir(folder) as handle:
                entries = sorted(handle, key=lambda e: e.name)
        except OSError:
            yield SkipItem(rel or ".", "unreadable", 0)
            return
        license_id = detect_in_folder(folder, [e.name for e in entries]) or inherited
        for entry in entries:
            rel_path = f"{rel}/{entry.name}" if rel else entry.name
            yield from self._entry(entry, rel_path, license_id)

    def _entry(self, entry: os.DirEntry[str], rel_path: str, license_id: str | None) -> Iterator[Item]:
        shown = clean_path(rel_path)
        try:
            is_link = entry.is_symlink()
            st = os.stat(entry.path)  # follows links
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                yield SkipItem(shown, "symlink_loop", 0)
            else:
                yield SkipItem(shown, "broken_symlink" if _is_link(entry) else "unreadable", 0)
            return
        if is_link and not self._inside(os.path.realpath(entry.path)):
            yield SkipItem(shown, "symlink_outside", 0)
            return
        if stat.S_ISDIR(st.st_mode):
            if self.skip_vendored and entry.name in VENDORED_DIRS:
                return  # pruned without reading: counting every file under node_modules costs a walk
            key = (st.st_dev, st.st_ino)
            if key in self.seen_dirs:
                yield SkipItem(shown, "symlink_loop", 0)
                return
            self.seen_dirs.add(key)
            yield from self._walk(Path(entry.path), rel_path, license_id)
            return
        if not stat.S_ISREG(st.st_mode):
            yield SkipItem(shown, "unreadable", 0)  # FIFO, socket, device: reading could block forever
            return
        yield from self._file(entry, shown, st, license_id)

    def _file(self, entry: os.DirEntry[str], shown: str, st: os.stat_result, license_id: str | None) -> Iterator[Item]:
        size, mtime = st.st_size, st.st_mtime_ns
        if self.skip_vendored and is_vendored_file(entry.name):
            yield SkipItem(shown, "vendored", size, mtime_ns=mtime)
            return
        language = detect_language(entry.name)
        if language is None:
            yield SkipItem(shown, "unknown_language", size, mtime_ns=mtime)
            return
        yield FileItem(shown, entry.path, size, license_id, mtime)


def _is_link(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return False
