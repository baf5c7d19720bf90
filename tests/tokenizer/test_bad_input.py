"""Bad input gives one line and exit 2 (usage) or 3 (data), never a traceback; a mismatch gives 4."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codegen_cli.manifest import Manifest, write_manifest

from .conftest import write_corpus


def _assert_one_line_error(result, code):
    assert result.exit_code == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert result.stdout == ""


@pytest.fixture
def tiny_corpus(tmp_path, corpus_docs):
    return write_corpus(tmp_path / "corpus", corpus_docs[20:45], files=1)


def test_not_a_corpus(cli, tmp_path):
    (tmp_path / "plain").mkdir()
    _assert_one_line_error(cli("tokenize", tmp_path / "plain", "-o", tmp_path / "t"), 3)
    _assert_one_line_error(cli("tokenize", tmp_path / "missing", "-o", tmp_path / "t"), 2)  # no such path: usage


def test_corpus_without_shards_or_with_wrong_columns(cli, tmp_path):
    empty = tmp_path / "empty"
    (empty / "data").mkdir(parents=True)
    write_manifest(empty, Manifest(stage="collect"))
    _assert_one_line_error(cli("tokenize", empty, "-o", tmp_path / "t"), 3)
    pq.write_table(pa.table({"text": ["x"], "lang": ["Python"]}), empty / "data" / "part-00000.parquet")
    _assert_one_line_error(cli("tokenize", empty, "-o", tmp_path / "t"), 3)


def test_unknown_language_value(cli, tmp_path):
    corpus = write_corpus(tmp_path / "c", [("a.xyz", "Klingon", "qapla'\n")])
    _assert_one_line_error(cli("tokenize", corpus, "-o", tmp_path / "t"), 3)


def test_usage_errors(cli, tiny_corpus, tmp_path):
    out = tmp_path / "t"
    _assert_one_line_error(cli("tokenize", tiny_corpus, "-o", out, "--vocab-size", "200"), 2)
    _assert_one_line_error(cli("tokenize", tiny_corpus, "-o", out, "--tag-style", "xml"), 2)
    _assert_one_line_error(cli("tokenize", tiny_corpus, "-o", out, "--val-fraction", "1.5"), 2)
    _assert_one_line_error(cli("tokenize", tiny_corpus, "-o", out, "--languages", "klingon"), 2)
    _assert_one_line_error(cli("tokenize", tiny_corpus, "-o", out, "--set", "nope=1"), 2)
    _assert_one_line_error(cli("tokenize", tiny_corpus, "-o", out, "--tokenizer", tmp_path / "nope"), 2)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    _assert_one_line_error(cli("tokenize", tiny_corpus, "-o", busy, "--vocab-size", "600"), 2)


def test_only_absent_languages_is_bad_input(cli, tiny_corpus, tmp_path):
    _assert_one_line_error(cli("tokenize", tiny_corpus, "-o", tmp_path / "t", "--languages", "rust"), 3)


def test_broken_tokenizer_folders(cli, tiny_corpus, tmp_path):
    good = tmp_path / "good"
    assert cli("tokenize", tiny_corpus, "-o", good, "--vocab-size", "600").exit_code == 0
    broken = tmp_path / "broken"
    broken.mkdir()
    _assert_one_line_error(cli("tokenize", tiny_corpus, "-o", tmp_path / "t1", "--tokenizer", broken), 3)
    (broken / "codegen_tokenizer.json").write_text(json.dumps({"format_version": 1, "tag_style": "token"}))
    (broken / "tokenizer.json").write_text("{\"truncated\": ")
    _assert_one_line_error(cli("tokenize", tiny_corpus, "-o", tmp_path / "t2", "--tokenizer", broken), 3)
    # a token-style tokenizer without a tag for a language of the corpus
    other = write_corpus(tmp_path / "other", [("x.rs", "Rust", "fn main() {}\n")])
    _assert_one_line_error(cli("tokenize", other, "-o", tmp_path / "t3", "--tokenizer", good / "tokenizer"), 3)


def test_vocabulary_too_big_for_uint16(cli, tiny_corpus, tmp_path):
    from tokenizers import Tokenizer

    from codegen_cli.tokenizer.train_bpe import save_tokenizer_folder

    assert cli("tokenize", tiny_corpus, "-o", tmp_path / "small", "--vocab-size", "600").exit_code == 0
    tok = Tokenizer.from_file(str(tmp_path / "small" / "tokenizer" / "tokenizer.json"))
    tok.add_tokens([f"<extra_{i}>" for i in range(66_000)])
    languages = json.loads((tmp_path / "small" / "tokenizer" / "codegen_tokenizer.json").read_text())["languages"]
    big = save_tokenizer_folder(tok, tmp_path / "big", tag_style="token", languages=languages)
    _assert_one_line_error(cli("tokenize", tiny_corpus, "-o", tmp_path / "t", "--tokenizer", big,
                               "--dtype", "uint16"), 2)
    result = cli("tokenize", tiny_corpus, "-o", tmp_path / "t", "--tokenizer", big, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["dtype"] == "uint32"


def test_rerun_with_other_options_is_a_mismatch(cli, tiny_corpus, tmp_path):
    out = tmp_path / "t"
    assert cli("tokenize", tiny_corpus, "-o", out, "--vocab-size", "600").exit_code == 0
    _assert_one_line_error(cli("tokenize", tiny_corpus, "-o", out, "--vocab-size", "700"), 4)
