"""Model loading errors, padding, truncation and per-row stopping with real tiny models."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from codegen_cli.errors import InputDataError, UsageError
from codegen_cli.generation.criteria import PerSequenceStop
from codegen_cli.generation.prompts import problem_text, tagged_prompt
from codegen_cli.generation.sampler import encode_prompts, generate_batch, load_model
from codegen_cli.generation.stopping import cut_completion, prompt_state

SETTINGS = {"temperature": 1.0, "top_p": 1.0, "top_k": 0, "max_new_tokens": 40}


def test_bad_model_paths_are_one_line_errors(tmp_path, random_model):
    with pytest.raises(UsageError, match="no such model folder"):
        load_model(str(tmp_path / "missing"))
    with pytest.raises(UsageError, match="hub id"):
        load_model("no-such-org/no-such-model")  # HF_HUB_OFFLINE=1 in tests
    with pytest.raises(InputDataError, match="no config.json"):
        load_model(str(tmp_path))
    (tmp_path / "weights.bin").write_text("x")
    with pytest.raises(InputDataError, match="is a file"):
        load_model(str(tmp_path / "weights.bin"))
    no_weights = tmp_path / "no-weights"
    shutil.copytree(random_model, no_weights)
    (no_weights / "model.safetensors").unlink()
    with pytest.raises(InputDataError, match="weights missing"):
        load_model(str(no_weights))


def test_a_model_that_is_not_a_causal_lm_is_refused(tmp_path, random_model):
    from transformers import T5Config

    folder = tmp_path / "t5"
    shutil.copytree(random_model, folder)
    T5Config(vocab_size=600, d_model=16, d_ff=32, num_layers=1, num_heads=2).save_pretrained(folder)
    with pytest.raises(InputDataError, match="not a causal language model"):
        load_model(str(folder))


def test_tokenizer_without_pad_token_pads_with_eos(tmp_path, random_model):
    folder = tmp_path / "nopad"
    shutil.copytree(random_model, folder)
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config.pop("pad_token", None)
    config_path.write_text(json.dumps(config))
    lm = load_model(str(folder))
    assert lm.tokenizer.pad_token_id == lm.tokenizer.eos_token_id
    ids, mask, _, _ = encode_prompts(lm, ["def f():\n", "x"], 8)
    assert ids.shape == mask.shape and mask[1, 0] == 0 and mask[0].all()
    assert ids[1, 0] == lm.tokenizer.eos_token_id  # left padding


def test_long_prompts_are_cut_from_the_left(tmp_path, tokenizer_dir):
    from tests.generation.conftest import build_model

    lm = load_model(str(build_model(tokenizer_dir, tmp_path / "short", context=64)))
    long_prompt = "def f(x):\n" + "    x = x + 1\n" * 60
    ids, _, truncated, _ = encode_prompts(lm, [long_prompt, "def g():\n"], 16)
    assert truncated == [True, False] and ids.shape[1] == 64 - 16
    assert lm.tokenizer.decode(ids[0]).endswith("    x = x + 1\n")
    out = generate_batch(lm, [long_prompt], ["python"], seed=0, **{**SETTINGS, "max_new_tokens": 16})
    assert out[0].truncated_prompt and out[0].num_tokens <= 16
    with pytest.raises(UsageError, match="max-new-tokens 64 leaves no room"):
        encode_prompts(lm, ["x"], 64)


def test_each_row_stops_at_its_own_point_and_is_cut_there(stopper_model, two_language_problems):
    lm = load_model(str(stopper_model))
    rows = [p for p in two_language_problems for _ in range(3)]
    prompts = [tagged_prompt(problem_text(p), p.language, "comment") for p in rows]
    out = generate_batch(lm, prompts, [p.language for p in rows], seed=7, **SETTINGS)
    assert all(c.finish_reason == "stop" for c in out)
    assert len({c.num_tokens for c in out}) > 1  # rows ended at different steps
    assert max(c.num_tokens for c in out) < SETTINGS["max_new_tokens"]
    for prompt, problem, completion in zip(prompts, rows, out):
        if problem.language == "cpp":  # the cut keeps the closing brace, and nothing before it closes
            assert cut_completion(completion.text, "cpp", prompt) == (completion.text, True)
            assert completion.text.endswith("}")
            assert cut_completion(completion.text[:-1], "cpp", prompt)[1] is False
        else:  # the cut drops the newline before the top-level line: no stop is left inside
            assert cut_completion(completion.text, "python", prompt) == (completion.text, False)


def test_same_seed_same_samples_and_greedy_is_deterministic(stopper_model, two_language_problems):
    lm = load_model(str(stopper_model))
    prompts = [problem_text(p) for p in two_language_problems]
    languages = [p.language for p in two_language_problems]
    first = generate_batch(lm, prompts, languages, seed=3, **SETTINGS)
    again = generate_batch(lm, prompts, languages, seed=3, **SETTINGS)
    assert [c.text for c in first] == [c.text for c in again]
    greedy = {**SETTINGS, "temperature": 0.0}
    assert [c.text for c in generate_batch(lm, prompts, languages, seed=1, **greedy)] == \
        [c.text for c in generate_batch(lm, prompts, languages, seed=2, **greedy)]


def test_criterion_marks_rows_done_one_by_one(random_model):
    """Feed the criterion growing sequences by hand: a row is done from the step its stop appears."""
    lm = load_model(str(random_model))
    tok = lm.tokenizer
    prompt_ids = tok.encode("int f() {\n")
    completions = ["    return 1;\n}\nint g", "    if (x) {\n        y;\n    }\n    return 2;\n}", "  x = 1\nprint"]
    languages = ["cpp", "cpp", "python"]
    ids = [tok.encode(text) for text in completions]
    width = max(len(i) for i in ids)
    states = [prompt_state("int f() {\n", "cpp"), prompt_state("int f() {\n", "cpp"), None]
    criterion = PerSequenceStop(tok, prompt_length=len(prompt_ids), languages=languages, states=states,
                                eos_ids=[tok.eos_token_id])
    done_at = [None] * 3
    for step in range(1, width + 1):
        batch = torch.tensor([prompt_ids + (row + [tok.pad_token_id] * width)[:step] for row in ids])
        done = criterion(batch, None).tolist()
        for row, flag in enumerate(done):
            if flag and done_at[row] is None:
                done_at[row] = step
    texts = [tok.decode(row[:step]) for row, step in zip(ids, done_at)]
    assert [criterion.reason[r] for r in range(3)] == ["stop", "stop", "stop"]
    assert texts[0][:criterion.cut[0]] == "    return 1;\n}"
    assert texts[1][:criterion.cut[1]] == completions[1]
    assert texts[2][:criterion.cut[2]] == "  x = 1"
    assert done_at[0] < done_at[1]


def test_out_of_memory_is_a_one_line_error_with_a_smaller_batch(random_model, monkeypatch):
    """The device is not under test here: `generate` raising torch's OOM error stands in for a full GPU."""
    lm = load_model(str(random_model))

    def full_device(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(lm.model, "generate", full_device)
    with pytest.raises(UsageError, match="out of memory generating 6 sequences.*--batch-size 3") as info:
        generate_batch(lm, ["x"] * 6, ["python"] * 6, seed=0, **SETTINGS)
    assert info.value.exit_code == 2


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_left_padding_does_not_change_a_greedy_completion(arch, random_model, tmp_path):
    """A short prompt batched with a long one (so it is left-padded) completes as it does alone; GPT-2
    needs position ids from the attention mask for that, which `generate` must provide."""
    if arch == "gpt2":
        from transformers import GPT2Config, GPT2LMHeadModel

        folder = tmp_path / "gpt2"
        shutil.copytree(random_model, folder)
        (folder / "model.safetensors").unlink()
        torch.manual_seed(0)
        config = GPT2Config(vocab_size=640, n_positions=256, n_embd=32, n_layer=2, n_head=4,
                            eos_token_id=0, pad_token_id=1, bos_token_id=0)  # vocab padded past the tokenizer
        GPT2LMHeadModel(config).save_pretrained(folder)
    else:
        folder = random_model
    lm = load_model(str(folder))
    short = "def f(x):\n    return"
    long = 'from typing import List\n\n\ndef g(numbers: List[float]) -> float:\n    """Mean."""\n    return'
    greedy = {**SETTINGS, "temperature": 0.0, "max_new_tokens": 12}
    alone = generate_batch(lm, [short], [None], seed=0, **greedy)[0]
    together = generate_batch(lm, [long, short], [None, None], seed=0, **greedy)[1]
    assert together.text == alone.text and together.num_tokens == alone.num_tokens


def test_finished_rows_leave_the_batch_without_changing_the_others(stopper_model, monkeypatch):
    """Greedy, the stopper model ends a C++ row after 1 token, a Java row after 2 and never a Python row.
    Compacting after every token, or whenever a share of the rows has ended (finished rows and their
    KV-cache rows dropped), gives the same samples as never compacting."""
    from codegen_cli.generation import sampler

    lm = load_model(str(stopper_model))
    prompts = ["int f() {\n", "class A {\n    int f() {\n", "def f():\n    x = 1\n"]
    languages = ["cpp", "java", "python"]
    greedy = {**SETTINGS, "temperature": 0.0, "max_new_tokens": 8}
    monkeypatch.setattr(sampler, "COMPACT_EVERY", 1000)
    monkeypatch.setattr(sampler, "COMPACT_SHARE", None)
    whole = generate_batch(lm, prompts, languages, seed=0, **greedy)
    # after every token; and as soon as a row ends (a share of 1/3 of 3 rows: the call ends at steps 1 and 2)
    for every, share in ((1, None), (1000, 0.3)):
        monkeypatch.setattr(sampler, "COMPACT_EVERY", every)
        monkeypatch.setattr(sampler, "COMPACT_SHARE", share)
        compacted = generate_batch(lm, prompts, languages, seed=0, **greedy)
        assert [(c.text, c.finish_reason, c.num_tokens) for c in compacted] == \
            [(c.text, c.finish_reason, c.num_tokens) for c in whole]
    assert [c.finish_reason for c in whole] == ["stop", "stop", "length"]
    assert [c.num_tokens for c in whole] == [1, 2, 8]
