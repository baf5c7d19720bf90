"""Source specs -> resolved sources -> item iterators (directories, git repositories, datasets).

Spec forms (docs/collect.md has the full table):
  DIR                      a local folder, walked in place (its HEAD commit is recorded when it is a repo)
  URL | URL@REF            a git repository (https://, ssh://, git://, file://, user@host:path)
  PATH@REF                 a local git repository at a branch, tag or commit (cloned into the cache)
  FILE.parquet|.jsonl[.gz] a local dataset file (a folder of them: prefix with `dataset:`)
  hf:OWNER/NAME[:CONFIG]   a Hugging Face dataset, streamed with `datasets`
"""

from __future__ import annotations

import re
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from codegen_cli.collect import datasets_src, gitrepo
from codegen_cli.collect.items import Item
from codegen_cli.collect.walk import DirWalker
from codegen_cli.errors import UsageError

_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)
_DATASET_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz", ".json", ".ndjson")


@dataclass
class Source:
    spec: str
    kind: str  # dir | git | dataset | hf
    name: str  # what the `source` column says
    location: str  # folder to walk, file/folder of dataset files, or hub id
    ref: str | None = None
    commit: str | None = None
    error: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, str | None]:
        return {"spec": self.spec, "kind": self.kind, "name": self.name, "commit": self.commit,
                "error": self.error, **self.extra}


def stdlib_dir() -> Path:
    """The running interpreter's standard library: the embedded default source (always present)."""
    return Path(sysconfig.get_paths()["stdlib"])


def read_sources_file(path: Path) -> list[str]:
    """One spec per line; blank lines and `#` comments ignored."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"--sources-file {path}: cannot read it ({exc.strerror or exc})") from exc
    specs = [line.split(" #", 1)[0].strip() for line in lines]
    return [spec for spec in specs if spec and not spec.startswith("#")]


def _split_ref(spec: str) -> tuple[str, str | None]:
    """`repo@REF` -> (repo, REF); the `user@` of an scp-style URL is not a ref."""
    base, sep, ref = spec.rpartition("@")
    if not sep or not base or not ref or "/" in ref or ":" in ref:
        return spec, None
    return base, ref


def parse_spec(spec: str) -> Source:
    """Classify one spec without touching the network; raises UsageError for a path that does not exist."""
    if spec.startswith("hf:"):
        return Source(spec, "hf", spec[3:], spec[3:])
    if spec.startswith("dataset:"):
        path = Path(spec[len("dataset:"):])
        if not path.exists():
            raise UsageError(f"source {spec!r}: {path} does not exist")
        return Source(spec, "dataset", path.name, str(path))
    base, ref = _split_ref(spec)
    if _URL.match(spec):
        return Source(spec, "git", base, base, ref=ref)
    path = Path(spec)
    if path.is_file() and spec.lower().endswith(_DATASET_SUFFIXES):
        return Source(spec, "dataset", path.name, str(path))
    if path.is_dir():
        return Source(spec, "dir", spec.rstrip("/") or "/", spec)
    if ref and Path(base).is_dir():
        return Source(spec, "git", base, str(Path(base).resolve()), ref=ref)
    if path.exists():
        raise UsageError(f"source {spec!r}: not a folder, git repository or .parquet/.jsonl dataset file")
    raise UsageError(f"source {spec!r}: no such file or folder (git URLs need a scheme such as https:// or file://)")


def prepare(source: Source, *, cache_dir: Path) -> Source:
    """Clone git sources and record commits; a failed clone is recorded in `source.error`, not raised."""
    if source.kind == "git":
        url = source.location if _URL.match(source.location) else f"file://{source.location}"
        try:
            done = gitrepo.checkout(url, source.ref, cache_dir)
        except gitrepo.GitError as exc:
            source.error = f"git clone of {source.spec} failed: {exc}"
            return source
        source.commit = done.commit
        source.name = f"{source.name}@{done.commit}"
        source.extra["checkout"] = str(done.path)
    elif source.kind == "dir":
        source.commit = gitrepo.head_commit(Path(source.location))
    return source


def iter_items(source: Source, *, skip_vendored: bool, content_column: str, path_column: str,
               language_column: str | None, chunk_files: int = 1000) -> Iterator[Item] | datasets_src.LocalRows:
    """The items of one prepared source, in a fixed order: an iterator, or for local dataset files rows
    that can be read by range (`LocalRows`, cut into chunks of `chunk_files` rows)."""
    if source.error:
        return iter(())
    if source.kind in ("dir", "git"):
        root = Path(source.extra.get("checkout", source.location))
        return iter(DirWalker(root, skip_vendored=skip_vendored))
    if source.kind == "dataset":
        return datasets_src.LocalRows(source.location, content_column=content_column, path_column=path_column,
                                      language_column=language_column, stride=chunk_files)
    return datasets_src.iter_rows(source.location, hub=source.kind == "hf", content_column=content_column,
                                  path_column=path_column, language_column=language_column)


def check_dataset(source: Source, *, content_column: str) -> None:
    """Fail early (exit 3) when a dataset source lacks the content column, before any work starts."""
    if source.kind in ("dataset", "hf"):
        datasets_src.check_columns(source.location, hub=source.kind == "hf", content_column=content_column)
