"""What the sources hold right now, as a fingerprint: the corpus is rebuilt when an input file changes.

A rerun of collect (or `codegen run`) must never hand back a corpus made from other inputs. The options
alone do not say that: a file added to a source folder changes the corpus too. So each prepared source is
listed the way collect walks it (same pruning, same order) and every entry's path, size and mtime (ns) go
into a digest; a git source is also pinned by its commit, a dataset file by its size and mtime, a hub
dataset by its id (its revision is not checked: pin one with `hf:NAME` plus a local copy if that matters).

Hashing every file's content would cost as much as collecting it; size + mtime_ns is what rsync and make
trust, and a content edit that keeps both (rare: a tool that restores mtime) is the documented blind spot.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen_cli.collect.datasets_src import dataset_files
from codegen_cli.collect.items import FileItem, SkipItem
from codegen_cli.collect.sources import Source
from codegen_cli.collect.walk import DirWalker


@dataclass(frozen=True)
class SourceListing:
    """One source's entry: how many entries and bytes it lists, and the digest of the listing."""

    name: str
    files: int
    bytes: int
    digest: str


def _walk(root: Path, skip_vendored: bool) -> SourceListing:
    digest, files, size = hashlib.sha256(), 0, 0
    for item in DirWalker(root, skip_vendored=skip_vendored):
        if isinstance(item, FileItem):
            entry = f"f\0{item.path}\0{item.size}\0{item.mtime_ns}\0{item.license}\n"
        elif isinstance(item, SkipItem):
            entry = f"s\0{item.path}\0{item.reason}\0{item.size}\0{item.mtime_ns}\n"
        else:  # pragma: no cover - a walker yields files and skips only
            continue
        digest.update(entry.encode("utf-8", "surrogatepass"))
        files += 1
        size += item.size
    return SourceListing(str(root), files, size, digest.hexdigest())


def _dataset(location: str) -> SourceListing:
    digest, size = hashlib.sha256(), 0
    paths = dataset_files(location)
    for path in paths:
        st = os.stat(path)
        digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        size += st.st_size
    return SourceListing(location, len(paths), size, digest.hexdigest())


def list_source(source: Source, *, skip_vendored: bool) -> SourceListing:
    """The listing of one prepared source (git sources must be checked out: `sources.prepare`)."""
    if source.error:
        return SourceListing(source.spec, 0, 0, hashlib.sha256(f"error\0{source.error}".encode()).hexdigest())
    if source.kind in ("dir", "git"):
        listing = _walk(Path(source.extra.get("checkout", source.location)), skip_vendored)
        tag = f"{source.kind}\0{source.commit or ''}\0{listing.digest}"
        return SourceListing(source.spec, listing.files, listing.bytes, hashlib.sha256(tag.encode()).hexdigest())
    if source.kind == "dataset":
        listing = _dataset(source.location)
        return SourceListing(source.spec, listing.files, listing.bytes, listing.digest)
    return SourceListing(source.spec, 0, 0, hashlib.sha256(f"hf\0{source.location}".encode()).hexdigest())


def listing_digest(source_info: list[dict[str, Any]]) -> str:
    """One digest over every source's listing, in source order (the `codegen run` fingerprint of collect)."""
    text = "\n".join(f"{item.get('spec')}\0{(item.get('listing') or {}).get('digest')}" for item in source_info)
    return hashlib.sha256(text.encode()).hexdigest()


def describe_change(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> str | None:
    """None when both source descriptions list the same files, else one line saying what changed,
    e.g. "src: 1 file added". `old`/`new` are the manifest's `inputs` (build_corpus.described_sources)."""
    if listing_digest(old) == listing_digest(new):
        return None
    before = {item.get("spec"): item.get("listing") for item in old}
    parts = []
    for item in new:
        spec, now = item["spec"], item["listing"]
        prior = before.pop(spec, None)
        if prior is None:
            parts.append(f"{spec}: " + ("new source" if spec not in before else "listing not recorded"))
        elif prior["digest"] != now["digest"]:
            delta = now["files"] - prior["files"]
            if delta:
                parts.append(f"{spec}: {abs(delta)} file{'s' * (abs(delta) != 1)} {'added' if delta > 0 else 'removed'}")
            else:
                parts.append(f"{spec}: files edited")
    parts += [f"{spec}: source removed" for spec in before]
    return "; ".join(parts) or "source order changed"
