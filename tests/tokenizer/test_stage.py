"""The tokenize stage on a small real corpus: round trip, tags, shard order, meta counts, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tokenizers import Tokenizer

from codegen_cli.languages import with_tag
from codegen_cli.tokenizer.corpus import is_val
from codegen_cli.tokenizer.folder import folder_sha256

from .conftest import read_split, run_stage

STYLES = ["tokens_token", "tokens_comment"]


def _content_tokenizer(folder):
    tok = Tokenizer.from_file(str(folder / "tokenizer" / "tokenizer.json"))
    tok.encode_special_tokens = True  # as the stage encodes: literal "<|endoftext|>" in code is text
    return tok


def _split_documents(folder, split, eos):
    ids = read_split(folder, split)
    ends = np.flatnonzero(ids == eos)
    starts = np.concatenate([[0], ends[:-1] + 1])
    assert len(ends) == 0 or ends[-1] == len(ids) - 1, "every stream ends with <|endoftext|>"
    return [ids[s:e].tolist() for s, e in zip(starts, ends)]


@pytest.mark.parametrize("fixture", STYLES)
def test_round_trip_every_document(fixture, request, corpus_docs):
    summary, folder = request.getfixturevalue(fixture)
    assert summary.round_trip_failures == 0
    tok = _content_tokenizer(folder)
    for path, _, content in corpus_docs:
        assert tok.decode(tok.encode(content).ids, skip_special_tokens=False) == content, path


def test_autotokenizer_reload_round_trips(tokens_token, corpus_docs):
    from transformers import AutoTokenizer

    summary, folder = tokens_token
    hf = AutoTokenizer.from_pretrained(str(folder / "tokenizer"))
    assert len(hf) == summary.vocab_size
    assert (hf.eos_token, hf.pad_token) == ("<|endoftext|>", "<|pad|>")
    for path, lang, content in corpus_docs:
        if "<|" in content:
            continue  # AutoTokenizer maps literal special tokens to their ids (documented)
        text = with_tag(content, lang, "token")
        assert hf.decode(hf(text)["input_ids"]) == text, path


@pytest.mark.parametrize("fixture", STYLES)
def test_shards_decode_to_the_documents_in_order(fixture, request, corpus_docs, corpus_dir):
    _, folder = request.getfixturevalue(fixture)
    meta = json.loads((folder / "meta.json").read_text())
    tok = _content_tokenizer(folder)
    rows = _corpus_rows(corpus_dir)
    for split in ("train", "val"):
        expected = [(lang, content) for doc_id, lang, content in rows if is_val(doc_id, 0.2) == (split == "val")]
        docs = _split_documents(folder, split, meta["special_ids"]["eos"])
        assert len(docs) == len(expected) == meta["splits"][split]["documents"]
        for ids, (lang, content) in zip(docs, expected):
            text = tok.decode(ids, skip_special_tokens=False)
            assert text == with_tag(content, lang, meta["tag_style"])
            if meta["tag_style"] == "token":
                assert ids[0] == tok.token_to_id(f"<|lang:{lang}|>")
            else:
                assert text.startswith(f"{'#' if lang == 'Python' else '//'} language: {lang}\n")


def _corpus_rows(corpus_dir):
    import pyarrow.parquet as pq

    rows = []
    for path in sorted((corpus_dir / "data").glob("*.parquet")):
        table = pq.read_table(path, columns=["id", "language", "content"])
        rows += list(zip(*(table.column(c).to_pylist() for c in ("id", "language", "content"))))
    return rows


@pytest.mark.parametrize("fixture", STYLES)
def test_meta_counts_equal_a_recount(fixture, request, corpus_dir):
    summary, folder = request.getfixturevalue(fixture)
    meta = json.loads((folder / "meta.json").read_text())
    rows = _corpus_rows(corpus_dir)
    eos = meta["special_ids"]["eos"]
    for split in ("train", "val"):
        langs = [lang for doc_id, lang, _ in rows if is_val(doc_id, 0.2) == (split == "val")]
        docs = _split_documents(folder, split, eos)
        recount: dict[str, int] = {}
        for lang, ids in zip(langs, docs):
            recount[lang] = recount.get(lang, 0) + len(ids) + 1  # + its <|endoftext|>
        assert meta["tokens_per_language"][split] == recount
        assert meta["splits"][split]["tokens"] == len(read_split(folder, split)) == sum(recount.values())
    assert meta["tokenizer_sha256"] == folder_sha256(folder / "tokenizer")
    assert meta["vocab_size"] == summary.vocab_size <= 2000 and meta["dtype"] == "uint16"
    assert meta["special_ids"] == {"eos": 0, "pad": 1, "fim_prefix": 2, "fim_middle": 3, "fim_suffix": 4}
    assert json.loads((folder / "manifest.json").read_text())["stage"] == "tokenize"
    assert not (folder / ".work").exists()


def test_tokenizer_config_records_style(tokens_token, tokens_comment):
    for (summary, folder), style in ((tokens_token, "token"), (tokens_comment, "comment")):
        info = json.loads((folder / "tokenizer" / "codegen_tokenizer.json").read_text())
        assert info["tag_style"] == style == summary.tag_style
        assert info["languages"] == ["C", "C++", "Go", "Java", "JavaScript", "Python"]


def test_indentation_is_cheap(tokens_token):
    _, folder = tokens_token
    tok = _content_tokenizer(folder)
    for indent in ("    ", "        ", "\t", "\t\t"):
        pieces = tok.encode(f"x = 1\n{indent}return x\n").tokens
        start, end = pieces.index("1") + 1, pieces.index("return")
        assert "".join(pieces[start:end]) == f"\n{indent}".replace("\n", "Ċ").replace(" ", "Ġ").replace("\t", "ĉ")
        assert end - start <= 2, pieces  # a line break + its indentation: one or two tokens, never one per space


def test_same_bytes_with_other_worker_count_and_reused_tokenizer(tokens_token, corpus_dir, tmp_path):
    _, folder = tokens_token
    again = run_stage(corpus_dir, tmp_path / "again", tag_style="token", workers=1, verify=False)
    reused = run_stage(corpus_dir, tmp_path / "reused", workers=2, tokenizer=folder / "tokenizer")
    assert not reused.trained_tokenizer and again.trained_tokenizer
    for other in (tmp_path / "again", tmp_path / "reused"):
        for rel in ["meta.json", "tokenizer/tokenizer.json", *summary_shards(folder)]:
            assert (other / rel).read_bytes() == (folder / rel).read_bytes(), rel


def summary_shards(folder):
    meta = json.loads((folder / "meta.json").read_text())
    return [rel for split in meta["splits"].values() for rel in split["shards"]]


def test_rerun_is_a_no_op_and_shards_split_on_unit_boundaries(corpus_dir, tmp_path):
    first = run_stage(corpus_dir, tmp_path / "t", shard_tokens=5000, dtype="uint32", val_fraction=0.0)
    meta = json.loads((tmp_path / "t" / "meta.json").read_text())
    assert len(meta["splits"]["train"]["shards"]) > 1 and meta["splits"]["val"] == {
        "tokens": 0, "documents": 0, "shards": []}
    assert meta["dtype"] == "uint32"
    assert (tmp_path / "t" / "train" / "000000.bin").stat().st_size % 4 == 0
    second = run_stage(corpus_dir, tmp_path / "t", shard_tokens=5000, dtype="uint32", val_fraction=0.0, workers=2)
    assert second.already_done and second.tokens == first.tokens


def test_empty_language_is_reported(tmp_path, corpus_docs):
    from .conftest import write_corpus

    corpus = write_corpus(tmp_path / "c", corpus_docs[:30], per_language_extra={"Rust": {"files": 0, "bytes": 0}})
    summary = run_stage(corpus, tmp_path / "t", vocab_size=600)
    assert summary.empty_languages == ["Rust"]
    asked = run_stage(corpus, tmp_path / "t2", vocab_size=600, languages="python,go")
    assert asked.empty_languages == ["Go"] and set(asked.bytes_per_token) == {"Python"}


def test_sample_bytes_bounds_the_training_sample(corpus_dir, tmp_path):
    from codegen_cli.tokenizer.corpus import in_sample

    summary = run_stage(corpus_dir, tmp_path / "t", sample_bytes=30_000, vocab_size=900)
    assert summary.round_trip_failures == 0 and summary.tokens["train"] > 0
    rate = 30_000 / (sum(len(c.encode()) for *_, c in _corpus_rows(corpus_dir)) * 0.8)
    picked = [doc_id for doc_id, *_ in _corpus_rows(corpus_dir) if in_sample(doc_id, rate)]
    assert 0 < len(picked) < 63


def test_work_units_are_bounded_by_rows_and_bytes(corpus_dir):
    from codegen_cli.tokenizer.corpus import parquet_files, work_units

    files = parquet_files(corpus_dir)
    by_rows = work_units(files, 8, 10**12)
    by_bytes = work_units(files, 10**6, 20_000)
    for units in (by_rows, by_bytes):
        assert sum(u.rows for u in units) == 63 and [u.index for u in units] == list(range(len(units)))
    assert max(u.rows for u in by_rows) == 8 and len(by_bytes) > len(work_units(files, 10**6, 10**12))
