"""A StoppingCriteria that ends each sequence of a batch at its own stop point.

transformers (4.39+, and 5.x) lets a criterion return one bool per row: `generate` then pads the rows
that are done (when the model has an eos token) and ends the batch once every row is done. bigcode's
`EndOfFunctionCriteria` instead returns True only when all rows hold a stop word, so finished rows keep
producing tokens that must be cut later; here a finished row is frozen at once and its stop step is
recorded, so token counts and finish reasons are exact.

Rows are decoded only while unfinished, and the brace scan runs only when a `}` arrives (a stop can
only happen there), so the per-step cost stays small next to a forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import StoppingCriteria

from codegen_cli.evaluate.generation.stopping import ScanState, find_stop, rule_family


class PerSequenceStop(StoppingCriteria):
    """Marks row i done when its decoded completion reaches its language's stop point or an eos token."""

    def __init__(
        self,
        tokenizer,
        *,
        prompt_length: int,
        languages: Sequence[str | None],
        states: Sequence[ScanState | None],
        eos_ids: Sequence[int] = (),
    ) -> None:
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length
        self.families = [rule_family(lang) if lang else "none" for lang in languages]
        self.languages = list(languages)
        self.states = list(states)
        self.eos_ids = {int(i) for i in eos_ids}
        rows = len(self.languages)
        self.done = [False] * rows
        self.reason: list[str | None] = [None] * rows  # stop | eos, None while running
        self.stop_tokens: list[int | None] = [None] * rows  # tokens generated when the row ended
        self.cut: list[int | None] = [None] * rows  # character index of the stop point
        self._seen = [0] * rows  # decoded characters already checked for a trigger

    def __call__(self, input_ids: torch.LongTensor, scores=None, **kwargs) -> torch.BoolTensor:
        generated = input_ids[:, self.prompt_length:]
        steps = generated.shape[1]
        last = generated[:, -1].tolist() if steps else []
        check = []
        for row, done in enumerate(self.done):
            if done:
                continue
            if last and last[row] in self.eos_ids:
                self._finish(row, "eos", steps, None)
            elif self.families[row] != "none":
                check.append(row)
        if check:
            texts = self.tokenizer.batch_decode(generated[check].tolist(), skip_special_tokens=True)
            for row, text in zip(check, texts):
                self._check_row(row, text, steps)
        return torch.tensor(self.done, dtype=torch.bool, device=input_ids.device)

    def _check_row(self, row: int, text: str, steps: int) -> None:
        start = max(0, self._seen[row] - 1)
        fresh = text[start:]
        # A stop needs a newline (Python) or a closing brace (brace languages) among the characters that
        # arrived, counting the last one seen before (a newline whose next line just began).
        trigger = ("\n" if self.families[row] == "python" else "}") in fresh
        # A trailing U+FFFD is half a UTF-8 character: look at it again once the rest arrives.
        self._seen[row] = len(text.rstrip("\ufffd"))
        if not trigger:
            return
        cut = find_stop(text, self.languages[row], self.states[row])
        if cut is not None:
            self._finish(row, "stop", steps, cut)

    def _finish(self, row: int, reason: str, steps: int, cut: int | None) -> None:
        self.done[row] = True
        self.reason[row] = reason
        self.stop_tokens[row] = steps
        self.cut[row] = cut
