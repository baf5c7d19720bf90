"""Token healing: the prompt's last token is backed off and re-produced by the first generated tokens."""

from __future__ import annotations

import torch

from codegen_cli.generation.healing import HealingProcessor, back_off, vocabulary_texts
from codegen_cli.generation.sampler import generate_batch, load_model


def test_back_off_and_the_mask(random_model):
    lm = load_model(str(random_model))
    tok = lm.tokenizer
    ids = tok("def f(x):\n")["input_ids"]
    kept, cut = back_off(tok, ids)
    assert kept == ids[:-1] and cut and ("def f(x):\n").endswith(cut)
    assert back_off(tok, ids[:1]) == (ids[:1], "")  # never an empty prompt
    texts = vocabulary_texts(tok)
    processor = HealingProcessor(tok, prompt_length=3, prefixes=["\n", ""])
    scores = processor(torch.tensor([[1, 2, 3], [1, 2, 3]]), torch.zeros(2, len(texts)))
    allowed = [texts[i] for i in torch.nonzero(scores[0] == 0).flatten().tolist()]
    assert allowed and all(t.startswith("\n") for t in allowed)  # "\n", "\n    ", "\n\n", ...
    assert any(t.startswith("\n ") for t in allowed)  # the newline+indent pieces of the code pre-tokenizer
    assert (scores[1] == 0).all()  # an unhealed row is free


def test_healed_completion_starts_after_the_prompt(stopper_model):
    """The completion never repeats the backed-off text, and rows with and without healing coexist."""
    lm = load_model(str(stopper_model))
    prompts = ["def f(x):\n", "int f() {\n"]
    settings = {"temperature": 0.8, "top_p": 0.95, "top_k": 0, "max_new_tokens": 24, "seed": 3}
    healed = generate_batch(lm, prompts, ["python", "cpp"], heal=True, **settings)
    for prompt, out in zip(prompts, healed):
        assert out.num_tokens >= 1
        full = prompt + out.text
        assert full.startswith(prompt)
    first = lm.tokenizer(prompts[0] + healed[0].text)["input_ids"]
    assert first  # whole text tokenizes back
