"""Tag helpers and the public train_tokenizer(): what eval and train use to build prompts and test tokenizers."""

from __future__ import annotations

import json

import pytest

from codegen_cli.errors import InputDataError, UsageError
from codegen_cli.tokenizer import add_language_tag, add_tag_for_path, read_tag_style, train_tokenizer

DOCS = [
    ("def add(a, b):\n    return a + b\n\n\nclass A:\n    def f(self):\n        return 1\n", "Python"),
    ("package main\n\nfunc main() {\n\tprintln(\"hi\")\n}\n", "Go"),
    ("#include <cstdio>\nint main() {\n    std::printf(\"%d\\n\", 1);\n}\n", "C++"),
] * 20


@pytest.fixture(scope="module", params=["token", "comment"])
def small_tokenizer(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("tok") / "tokenizer"
    return train_tokenizer(DOCS, out, vocab_size=400, tag_style=request.param), request.param


def test_add_language_tag_styles():
    assert add_language_tag("x", "Python", "comment") == "# language: Python\nx"
    assert add_language_tag("x", "cpp", "comment") == "// language: C++\nx"
    assert add_language_tag("x", "js", "token") == "<|lang:JavaScript|>x"
    assert add_language_tag("x", "Go", None) == "x"
    assert add_tag_for_path("x", "src/main.rs", "comment") == "// language: Rust\nx"
    with pytest.raises(ValueError):
        add_tag_for_path("x", "notes.unknownext", "comment")


def test_folder_records_style_and_loads_with_autotokenizer(small_tokenizer):
    from transformers import AutoTokenizer

    folder, style = small_tokenizer
    assert read_tag_style(folder) == style
    info = json.loads((folder / "codegen_tokenizer.json").read_text())
    assert info == {"format_version": 1, "tag_style": style, "languages": ["C++", "Go", "Python"]}
    tok = AutoTokenizer.from_pretrained(str(folder))
    assert tok.eos_token == "<|endoftext|>" and tok.pad_token == "<|pad|>"
    assert tok.convert_tokens_to_ids("<|fim_middle|>") == 3
    text = add_language_tag("def f():\n\treturn '中文 😀'\r\n", "Python", style)
    ids = tok(text)["input_ids"]
    assert tok.decode(ids) == text
    if style == "token":
        assert ids[0] == tok.convert_tokens_to_ids("<|lang:Python|>")


def test_chat_template_adds_the_same_tag(small_tokenizer):
    from transformers import AutoTokenizer

    folder, style = small_tokenizer
    tok = AutoTokenizer.from_pretrained(str(folder))
    message = [{"role": "user", "content": "x = 1\n"}]
    rendered = tok.apply_chat_template(message, language="python", tokenize=False)
    assert rendered == add_language_tag("x = 1\n", "Python", style)
    for path in ("src/pkg/main.go", "a/b/stack.HPP", "lib.py"):
        by_name = tok.apply_chat_template(message, filename=path, tokenize=False)
        assert by_name == add_tag_for_path("x = 1\n", path, style), path
    assert tok.apply_chat_template(message, filename="notes.unknownext", tokenize=False) == "x = 1\n"
    assert tok.apply_chat_template(message, tokenize=False) == "x = 1\n"


def test_read_tag_style_absent_and_broken(tmp_path):
    assert read_tag_style(tmp_path) is None
    (tmp_path / "codegen_tokenizer.json").write_text("{not json")
    with pytest.raises(InputDataError):
        read_tag_style(tmp_path)


def test_vocab_too_small_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="too small"):
        train_tokenizer(DOCS, tmp_path / "t", vocab_size=200, tag_style="token")


@pytest.mark.parametrize("text", [" " * 200_000 + "x", "\t" * 200_000, "(" * 100_000, " \n" * 50_000,
                                  " \t\r" * 50_000 + "\n", "\r" * 100_000, "( " * 50_000])
def test_pathological_runs_pre_tokenize_fast_and_round_trip(text, small_tokenizer):
    """Oniguruma aborts a match after too many retries; the code pattern must never backtrack that much."""
    from tokenizers import Tokenizer

    folder, _ = small_tokenizer
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    assert tok.decode(tok.encode(text).ids) == text


def test_training_is_deterministic_across_thread_counts(tmp_path):
    """Same docs, 1 thread in-process vs 2 rayon threads in a subprocess: byte-identical tokenizer.json."""
    import os
    import subprocess
    import sys

    one = train_tokenizer(DOCS, tmp_path / "one", vocab_size=400, tag_style="token")
    script = ("import sys; from tests.tokenizer.test_tagging import DOCS; from codegen_cli.tokenizer import "
              "train_tokenizer; train_tokenizer(DOCS, sys.argv[1], vocab_size=400, tag_style='token')")
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "true", "RAYON_NUM_THREADS": "2"}
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "two")], check=True, env=env, timeout=300)
    assert (one / "tokenizer.json").read_bytes() == (tmp_path / "two" / "tokenizer.json").read_bytes()
