"""`codegen collect [SOURCE...] -o CORPUS`: its help text and its report (the options come from CollectConfig)."""

from __future__ import annotations

from typing import Any

from codegen_cli.cli._common import examples
from codegen_cli.output import console

DOC = """Crawl and clean source code into a deduplicated Parquet corpus (OUTPUT/data/*.parquet + manifest.json).

Per file: language from the extension, vendored/binary/oversized files skipped, UTF-8 decoded, quality
filters, secrets redacted, licence detected; then exact and near (MinHash LSH) dedup across everything.
Killed and rerun with the same command, it resumes. Every option is also a recipe key; see
docs/collect.md.
""" + examples(
    "codegen collect -o work/corpus                       # the running Python's standard library",
    "codegen collect ~/src/myproj https://github.com/psf/requests@v2.32.3 -o corpus --languages python",
    "codegen collect data/code.parquet --content-column text -o corpus --workers 8",
    "codegen collect --sources-file sources.txt -o corpus --shard 0/4   # then --merge -o corpus",
    "codegen collect repos/ -o corpus --licenses MIT,Apache-2.0 --decontaminate humaneval-x",
)


def _mb(size: int) -> str:
    return f"{size / 1e6:,.2f}"


def render(summary: Any) -> None:
    from rich.table import Table

    if not summary.complete:
        state = f"shard done: {summary.chunks} chunks, run --merge when every shard is done"
    elif summary.already_complete:
        state = "already complete"
    else:
        state = f"done in {summary.seconds:.1f}s" + (f", {summary.chunks_resumed} chunks resumed"
                                                       if summary.chunks_resumed else "")
    kept = Table(title=f"codegen collect ({state})", box=None)
    for column in ("language", "kept files", "kept MB", "dropped files", "dropped MB"):
        kept.add_column(column, justify="left" if column == "language" else "right")
    empty = {"files": 0, "bytes": 0}
    languages = set(summary.per_language) | set(summary.dropped_per_language)
    # Ties (every language with nothing kept) by name: the same table on every run.
    for lang in sorted(languages, key=lambda name: (-summary.per_language.get(name, empty)["bytes"], name)):
        row, gone = summary.per_language.get(lang, empty), summary.dropped_per_language.get(lang, empty)
        kept.add_row(lang, f"{row['files']:,}", _mb(row["bytes"]), f"{gone['files']:,}", _mb(gone["bytes"]))
    lost = sum(row["files"] for row in summary.dropped.values())
    lost_bytes = sum(row["bytes"] for row in summary.dropped.values())
    kept.add_row("[bold]total", f"[bold]{summary.documents:,}", f"[bold]{_mb(summary.bytes_out)}",
                 f"[bold]{lost:,}", f"[bold]{_mb(lost_bytes)}")
    dropped = Table(title="dropped per reason", box=None)
    for column, justify in (("reason", "left"), ("files", "right"), ("MB", "right")):
        dropped.add_column(column, justify=justify)
    for reason, row in sorted(summary.dropped.items(), key=lambda kv: (-kv[1]["files"], kv[0])):
        dropped.add_row(reason, f"{row['files']:,}", _mb(row["bytes"]))
    out = console()
    out.print(kept)
    out.print(dropped)
    if summary.redactions:
        out.print("redacted: " + ", ".join(f"{kind} {n:,}" for kind, n in summary.redactions.items()))
    failed = [s for s in summary.sources if s.get("error")]
    for source in failed:
        out.print(f"[yellow]source failed:[/yellow] {source['error']}")
    out.print(f"{summary.files_seen:,} files listed ({_mb(summary.bytes_in)} MB), {_mb(summary.bytes_read)} MB read "
              f"-> {summary.documents:,} documents after dedup, "
              f"{_mb(summary.bytes_out)} MB in {summary.output}")
