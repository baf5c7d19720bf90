"""Token healing: start generation from a token state the model saw in training.

A prompt that ends in the middle of what training text would have held as ONE token leaves the model at
a boundary it never saw. The clearest case is codegen's own code pre-tokenizer: "newline + the next
line's indentation" is one piece, so in training a token ending in a newline is followed by an
indentation token 0.6 % of the time, yet almost every HumanEval-X prompt ends with a bare newline token
and needs exactly that indentation next (issue 13: 0/100 bodies indented as-is, 42/100 when re-tokenized
like training text). BPE tokenizers of other models have the same seam at spaces and newlines.

The fix (Microsoft guidance's "token healing"): drop the prompt's last token, and let the model choose
the first generated tokens under one constraint: together they must re-produce the dropped text (each
token's text is either a prefix of what is left of it, or starts with all of it). The model can then
pick "\\n    " where the prompt ended in "\\n", i.e. the token training text would have had. The dropped
text is removed from the completion again, so a completion still starts right after the prompt.

Only the last token is backed off: that is the token whose merge with the continuation the prompt cut;
a longer back-off would re-decide text the user wrote. Special tokens (a tag token, BOS) are never
backed off, nor a token whose text is not whole characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import LogitsProcessor

HEALING_VERSION = 1  # part of the samples' settings hash when healing is on


def back_off(tokenizer: Any, ids: list[int]) -> tuple[list[int], str]:
    """(ids without the last token, that token's text), or (ids, "") when it must stay."""
    if len(ids) < 2:
        return ids, ""
    last = ids[-1]
    if last in set(tokenizer.all_special_ids):
        return ids, ""
    text = tokenizer.decode([last], skip_special_tokens=False)
    if not text or "\ufffd" in text:
        return ids, ""
    return ids[:-1], text


def vocabulary_texts(tokenizer: Any) -> list[str]:
    """Every token id's text (special tokens: empty, never allowed while healing); computed once per
    tokenizer (~1 s for 50k tokens) and kept on it."""
    cached = getattr(tokenizer, "_codegen_token_texts", None)
    if cached is not None:
        return cached
    size = len(tokenizer)
    texts = tokenizer.batch_decode([[i] for i in range(size)], skip_special_tokens=False)
    for special in tokenizer.all_special_ids:
        if 0 <= special < size:
            texts[special] = ""
    tokenizer._codegen_token_texts = texts
    return texts


class HealingProcessor(LogitsProcessor):
    """Masks, per row, every token that cannot continue re-producing that row's backed-off text.

    `prefixes[i]` is the text row i must generate first ("" = unconstrained). A row is constrained while
    the text generated so far (decoded from `prompt_length` on) is shorter than its prefix.
    """

    def __init__(self, tokenizer: Any, *, prompt_length: int, prefixes: Sequence[str]) -> None:
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length
        self.prefixes = list(prefixes)
        self.texts = vocabulary_texts(tokenizer) if any(self.prefixes) else []
        self._allowed: dict[str, torch.Tensor] = {}

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for row, prefix in enumerate(self.prefixes):
            if not prefix:
                continue
            generated = input_ids[row, self.prompt_length:].tolist()
            done = self.tokenizer.decode(generated, skip_special_tokens=False) if generated else ""
            if len(done) >= len(prefix):
                self.prefixes[row] = ""  # healed: free from now on
                continue
            allowed = self._mask(prefix[len(done):], scores.shape[-1]).to(scores.device)
            scores[row] = scores[row].masked_fill(~allowed, float("-inf"))
        return scores

    def _mask(self, rest: str, width: int) -> torch.Tensor:
        if rest not in self._allowed:
            mask = torch.zeros(width, dtype=torch.bool)
            ok = [i for i, text in enumerate(self.texts[:width]) if text and (text.startswith(rest)
                                                                             or rest.startswith(text))]
            mask[ok] = True
            self._allowed[rest] = mask
        return self._allowed[rest]


def strip_prefix(text: str, prefix: str) -> str | None:
    """`text` after the healed prefix; None while the prefix is not complete yet."""
    if not prefix:
        return text
    return text[len(prefix):] if text.startswith(prefix) else None
