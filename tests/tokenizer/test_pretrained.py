"""`codegen tokenize --tokenizer MODEL` with a real pretrained tokenizer (SmolLM2-135M's, from its GGUF):
exact round trip on the edge-case corpus, comment tags leave the vocabulary alone, token tags are added and
recorded as embedding rows to grow, the identity is recorded, reruns are no-ops, bad sources are one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tokenizers import Tokenizer

from codegen_cli.errors import InputDataError
from codegen_cli.languages import tag_token, with_tag
from codegen_cli.tokenizer.corpus import is_val
from tests.pretrained import smollm2_tokenizer_folder, unloadable_gguf

from .conftest import read_split, run_stage

SMOLLM2_VOCAB = 49152


@pytest.fixture(scope="module")
def smollm2_tokenizer(tmp_path_factory):
    return smollm2_tokenizer_folder(tmp_path_factory.mktemp("smollm2") / "tokenizer")


@pytest.fixture(scope="module")
def tokens_pretrained(tmp_path_factory, corpus_dir, smollm2_tokenizer):
    """Default tags (comment) with SmolLM2's tokenizer, its pretraining separator as eos, verify on."""
    out = tmp_path_factory.mktemp("pretrained") / "tokens"
    return run_stage(corpus_dir, out, tokenizer=str(smollm2_tokenizer), eos_token="<|endoftext|>"), out


def test_comment_tags_round_trip_and_leave_the_vocabulary(tokens_pretrained, corpus_docs, smollm2_tokenizer):
    summary, folder = tokens_pretrained
    assert summary.round_trip_failures == 0 and not summary.trained_tokenizer
    assert summary.tag_style == "comment" and summary.vocab_size == SMOLLM2_VOCAB
    meta = json.loads((folder / "meta.json").read_text())
    info = json.loads((folder / "tokenizer" / "codegen_tokenizer.json").read_text())
    assert meta["special_tokens"]["eos"] == "<|endoftext|>" and meta["special_ids"]["eos"] == 0
    base = meta["tokenizer_base"]
    assert base["spec"] == str(smollm2_tokenizer) and base["vocab_size"] == SMOLLM2_VOCAB
    assert base["added_tokens"] == [] and base["embeddings"] is None
    assert info["vocab_sha256"] == base["vocab_sha256"] == summary.base_tokenizer["vocab_sha256"]
    # every document of the train split decodes back to its tagged text, the separator after it
    tok = Tokenizer.from_file(str(folder / "tokenizer" / "tokenizer.json"))
    ids = read_split(folder, "train")
    ends = np.flatnonzero(ids == 0)
    starts = np.concatenate([[0], ends[:-1] + 1])
    expected = [with_tag(content, lang, "comment") for path, lang, content in corpus_docs
                if not is_val(_doc_id(content), 0.2)]
    decoded = [tok.decode(ids[s:e].tolist(), skip_special_tokens=False) for s, e in zip(starts, ends)]
    assert decoded == expected


def _doc_id(content: str) -> str:
    import hashlib

    return hashlib.sha256(content.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def test_token_tags_are_added_and_the_growth_recorded(tmp_path, corpus_dir, smollm2_tokenizer):
    summary = run_stage(corpus_dir, tmp_path / "tokens", tokenizer=str(smollm2_tokenizer), tag_style="token")
    languages = sorted(summary.tokens_per_language["train"])
    assert summary.round_trip_failures == 0
    assert summary.vocab_size == SMOLLM2_VOCAB + len(languages)
    base = json.loads((tmp_path / "tokens" / "meta.json").read_text())["tokenizer_base"]
    assert base["added_tokens"] == [tag_token(lang) for lang in languages]
    assert base["embeddings"] == {"from": SMOLLM2_VOCAB, "to": SMOLLM2_VOCAB + len(languages)}
    from transformers import AutoTokenizer

    reloaded = AutoTokenizer.from_pretrained(str(tmp_path / "tokens" / "tokenizer"))
    assert len(reloaded) == summary.vocab_size
    assert reloaded.convert_tokens_to_ids(tag_token("Go")) == SMOLLM2_VOCAB + languages.index("Go")


def test_rerun_is_a_no_op(tokens_pretrained, corpus_dir, smollm2_tokenizer):
    _, folder = tokens_pretrained
    again = run_stage(corpus_dir, folder, tokenizer=str(smollm2_tokenizer), eos_token="<|endoftext|>")
    assert again.already_done


def test_bad_sources_are_one_line(tmp_path, corpus_dir, cli):
    bad = unloadable_gguf(tmp_path / "bad.gguf")
    result = cli("tokenize", corpus_dir, "-o", tmp_path / "t1", "--tokenizer", bad,
                 env={"CODEGEN_MODEL_CACHE": str(tmp_path / "cache")})
    assert result.exit_code == 3, result.stderr
    assert "bad.gguf: not loadable as a GGUF causal LM" in result.stderr and "nosucharch" in result.stderr
    assert len(result.stderr.strip().splitlines()[-1]) < 300 and not (tmp_path / "t1").exists()
    result = cli("tokenize", corpus_dir, "-o", tmp_path / "t2", "--tokenizer", "./no/such/folder")
    assert result.exit_code == 2 and "no such folder or file" in result.stderr
    with pytest.raises(InputDataError, match="no-such-org/no-such-model"):
        run_stage(corpus_dir, tmp_path / "t3", tokenizer="no-such-org/no-such-model")  # offline: no cache


def test_eos_token_must_exist(tmp_path, corpus_dir, smollm2_tokenizer, cli):
    result = cli("tokenize", corpus_dir, "-o", tmp_path / "t", "--tokenizer", smollm2_tokenizer,
                 "--eos-token", "<|no-such-token|>")
    assert result.exit_code == 2 and "--eos-token '<|no-such-token|>'" in result.stderr
    assert not (tmp_path / "t").exists()
