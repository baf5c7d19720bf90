"""`codegen tokenize CORPUS -o TOKENS`: parse options into a TokenizeConfig, call the engine, render the summary."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from codegen_cli.cli._common import JsonOpt, OutputOpt, SetOpt, WorkersOpt, engine_errors, examples
from codegen_cli.config import apply_overrides, from_mapping, to_dict
from codegen_cli.errors import EXIT_CODES_HELP
from codegen_cli.output import console, emit_json


def _opt(flag: str, text: str) -> Any:
    return typer.Option(flag, help=text, show_default=False)


def tokenize_command(
    corpus: Annotated[Path, typer.Argument(help="Corpus folder written by `codegen collect`.")],
    output: OutputOpt,
    tokenizer: Annotated[Path | None, _opt(
        "--tokenizer", "Reuse this tokenizer folder (its tag style wins) instead of training one.")] = None,
    vocab_size: Annotated[int | None, _opt("--vocab-size", "Vocabulary size, specials and tags included "
                                                              "[default: 32768].")] = None,
    tag_style: Annotated[str | None, _opt("--tag-style", "Language tag: token (<|lang:Python|>) or comment "
                                                            "(# language: Python) [default: token].")] = None,
    val_fraction: Annotated[float | None, _opt("--val-fraction", "Share of documents (by id) put in val/ "
                                                                    "[default: 0.01].")] = None,
    sample_bytes: Annotated[int | None, _opt("--sample-bytes", "Train the tokenizer on at most this many bytes "
                                                                  "[default: 1e9].")] = None,
    languages: Annotated[str | None, _opt("--languages", "Only these languages, e.g. python,cpp "
                                                            "[default: all].")] = None,
    dtype: Annotated[str | None, _opt("--dtype", "auto, uint16 or uint32 [default: auto].")] = None,
    shard_tokens: Annotated[int | None, _opt("--shard-tokens", "Tokens per shard file [default: 1e8].")] = None,
    verify: Annotated[bool, typer.Option("--verify", help="Check decode(encode(doc)) == doc for every "
                                                          "document.")] = False,
    workers: WorkersOpt = None,
    set_: SetOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Train a byte-level BPE for code with language tags, and encode the corpus into token shards.

    Writes TOKENS/tokenizer (Hugging Face folder, loads with AutoTokenizer offline), TOKENS/train/*.bin and
    TOKENS/val/*.bin (flat uint16/uint32 streams, each document = tag + content + <|endoftext|>),
    TOKENS/meta.json and TOKENS/manifest.json. Killed and rerun with the same options, it resumes.
    Other keys (min_frequency, chunk_docs, chunk_bytes) via --set key=value; see docs/tokenize.md.
    """
    flags = {"tokenizer": tokenizer, "vocab_size": vocab_size, "tag_style": tag_style,
             "val_fraction": val_fraction, "sample_bytes": sample_bytes, "languages": languages, "dtype": dtype,
             "shard_tokens": shard_tokens, "workers": workers}
    with engine_errors():
        from codegen_cli.tokenizer.config import TokenizeConfig

        mapping: dict[str, Any] = apply_overrides({}, list(set_ or []))
        mapping.update({k: v for k, v in flags.items() if v is not None})
        mapping.update(corpus=str(corpus), output=str(output), verify=verify or mapping.get("verify", False))
        cfg = from_mapping(TokenizeConfig, mapping, where="tokenize")

        from codegen_cli.tokenizer.build_tokens import tokenize

        summary = tokenize(cfg)
    _render(summary)
    if json_out:
        emit_json(to_dict(summary))


tokenize_command.__doc__ = inspect.cleandoc(tokenize_command.__doc__ or "") + examples(
    "codegen tokenize work/corpus -o work/tokens",
    "codegen tokenize work/corpus -o work/tokens --vocab-size 50000 --tag-style comment --workers 8",
    "codegen tokenize work/corpus -o work/tokens2 --tokenizer work/tokens/tokenizer --val-fraction 0.05",
) + "\n" + EXIT_CODES_HELP


def _render(summary: Any) -> None:
    from rich.table import Table

    state = "already complete" if summary.already_done else ("resumed" if summary.resumed else "done")
    table = Table(title=f"codegen tokenize ({state})", show_header=True, box=None)
    for column in ("language", "train tokens", "val tokens", "bytes/token"):
        table.add_column(column, justify="left" if column == "language" else "right")
    langs = sorted(set(summary.tokens_per_language.get("train", {})) | set(summary.tokens_per_language.get("val", {})))
    for lang in langs:
        table.add_row(lang, f"{summary.tokens_per_language['train'].get(lang, 0):,}",
                      f"{summary.tokens_per_language['val'].get(lang, 0):,}",
                      f"{summary.bytes_per_token.get(lang, 0):.2f}")
    table.add_row("[bold]total", f"[bold]{summary.tokens.get('train', 0):,}", f"[bold]{summary.tokens.get('val', 0):,}", "")
    out = console()
    out.print(table)
    out.print(f"tokenizer {summary.tokenizer_dir} (vocab {summary.vocab_size:,}, tag style {summary.tag_style}, "
              f"{summary.dtype}); documents train {summary.documents.get('train', 0):,} / val "
              f"{summary.documents.get('val', 0):,}")
    if summary.empty_languages:
        out.print(f"[yellow]no documents for: {', '.join(summary.empty_languages)}[/yellow]")
    if summary.round_trip_failures:
        out.print(f"[red]{summary.round_trip_failures} documents failed the round trip[/red]")
