"""`codegen generate` and the streaming `complete()` it is built on."""

from __future__ import annotations

import json

import pytest

from codegen_cli.generation import complete
from codegen_cli.generation.sampler import load_model
from codegen_cli.generation.stopping import cut_completion


@pytest.mark.parametrize("language,prompt", [("cpp", "int add(int a, int b) {\n"),
                                             ("python", "def add(a, b):\n"), (None, "x = ")])
def test_streamed_pieces_add_up_to_the_cut_completion(stopper_model, language, prompt):
    lm = load_model(str(stopper_model))
    stream = complete(lm, prompt, language, temperature=1.0, top_p=1.0, max_new_tokens=30, seed=4)
    pieces = list(stream)
    assert "".join(pieces) == stream.result.text
    if language == "cpp":
        tagged = "// language: C++\n" + prompt
        assert stream.result.finish_reason == "stop"
        assert cut_completion("".join(pieces), "cpp", tagged) == ("".join(pieces), True)
    if language is None:  # no language: no stop rule, only eos or the token limit
        assert stream.result.finish_reason in ("eos", "length")


def test_generate_prints_a_completion(cli, stopper_model):
    result = cli("generate", "--model", stopper_model, "--language", "cpp", "int f() {\n",
                 "--temperature", "1.0", "--top-p", "1.0", "--max-new-tokens", "30")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.rstrip("\n").endswith("}")
    assert "ended by stop" in result.stderr


def test_generate_json_is_one_object(cli, stopper_model):
    result = cli("generate", "-m", stopper_model, "-l", "python", "def f(x):\n", "--max-new-tokens", "20", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"completion", "finish_reason", "num_tokens"} and data["language"] == "python"


def test_generate_reads_the_prompt_from_stdin(cli, stopper_model):
    result = cli("generate", "-m", stopper_model, "-l", "go", "-", "--max-new-tokens", "20", "--json",
                 input="func F() int {\n")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["num_tokens"] >= 1


def test_generate_bad_input_exit_codes(cli, tmp_path, stopper_model):
    missing = cli("generate", "--model", tmp_path / "nope", "x")
    assert missing.exit_code == 2 and "no such model folder" in missing.stderr
    not_a_model = cli("generate", "--model", tmp_path, "x")
    assert not_a_model.exit_code == 3 and "config.json" in not_a_model.stderr
    bad_language = cli("generate", "--model", stopper_model, "--language", "klingon", "x")
    assert bad_language.exit_code == 2 and "klingon" in bad_language.stderr
    bad_style = cli("generate", "--model", stopper_model, "--tag-style", "emoji", "x")
    assert bad_style.exit_code == 2


def test_generate_help_shows_an_example(cli):
    result = cli("generate", "--help")
    assert result.exit_code == 0 and "codegen generate --model run/hf" in result.stdout
