"""`codegen tokenize CORPUS -o TOKENS`: its help text and its report (the options come from TokenizeConfig)."""

from __future__ import annotations

from typing import Any

from codegen_cli.cli._common import examples
from codegen_cli.output import console

DOC = """Train a byte-level BPE for code with language tags (or use a pretrained model's tokenizer: --tokenizer
MODEL), and encode the corpus into token shards.

Writes TOKENS/tokenizer (Hugging Face folder, loads with AutoTokenizer offline), TOKENS/train/*.bin and
TOKENS/val/*.bin (flat uint16/uint32 streams, each document = tag + content + <|endoftext|>),
TOKENS/meta.json and TOKENS/manifest.json. Killed and rerun with the same options, it resumes.
See docs/tokenize.md.
""" + examples(
    "codegen tokenize work/corpus -o work/tokens",
    "codegen tokenize work/corpus -o work/tokens --vocab-size 50000 --tag-style comment --workers 8",
    "codegen tokenize work/corpus -o work/tokens2 --tokenizer work/tokens/tokenizer --val-fraction 0.05",
    "codegen tokenize work/corpus -o work/tokens-smol --tokenizer HuggingFaceTB/SmolLM2-135M --eos-token '<|endoftext|>'",
)


def render(summary: Any) -> None:
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
    base = getattr(summary, "base_tokenizer", None)
    if base:
        grow = base.get("embeddings")
        out.print(f"pretrained tokenizer of {base.get('spec')}" + (
            f"; {len(base.get('added_tokens') or [])} tag tokens added: the model's embeddings must grow from "
            f"{grow['from']:,} to {grow['to']:,} rows (codegen train --init-from does it)" if grow else
            "; vocabulary unchanged"))
    if summary.empty_languages:
        out.print(f"[yellow]no documents for: {', '.join(summary.empty_languages)}[/yellow]")
    if summary.round_trip_failures:
        out.print(f"[red]{summary.round_trip_failures} documents failed the round trip[/red]")
