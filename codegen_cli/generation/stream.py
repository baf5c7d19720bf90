"""`complete()`: one completion streamed as it is generated, for `codegen generate`.

The same tag and stop rules as the batch engine. Text is handed out as soon as no later token can cut
it away: for Python a trailing newline waits until the next line shows whether it is still indented.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codegen_cli.generation.config import GenerateConfig
from codegen_cli.generation.prompts import resolve_tag_style, tagged_prompt
from codegen_cli.generation.sampler import Completion, LoadedModel, generate_batch, load_model
from codegen_cli.generation.stopping import find_stop, held_back, prompt_state, rule_family
from codegen_cli.output import log


class CompletionStream:
    """Iterate to get text pieces; afterwards `.result` holds the whole Completion."""

    def __init__(self, lm: LoadedModel, prompt: str, language: str | None, *, tag_style: str,
                 settings: dict[str, Any]) -> None:
        self.lm = lm
        self.language = language
        self.prompt = tagged_prompt(prompt, language, tag_style)
        self.settings = settings
        # the healed prefix (healing.py): generated first, then hidden again
        self.prefix = ""
        if settings.get("heal"):
            from codegen_cli.generation.healing import back_off

            _, self.prefix = back_off(lm.tokenizer, lm.tokenizer(self.prompt)["input_ids"])
        self.result: Completion | None = None
        self._error: BaseException | None = None

    def _run(self, streamer: Any) -> None:
        try:
            self.result = generate_batch(self.lm, [self.prompt], [self.language], streamer=streamer,
                                         **self.settings)[0]
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self._error = exc
            streamer.end()

    def __iter__(self) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        streamer = TextIteratorStreamer(self.lm.tokenizer, skip_prompt=True, skip_special_tokens=True)
        worker = threading.Thread(target=self._run, args=(streamer,), daemon=True)
        worker.start()
        state = prompt_state(self.prompt, self.language) if self.language and \
            rule_family(self.language) == "brace" else None
        raw, text, sent, stopped = "", "", 0, False
        for piece in streamer:
            if stopped:
                continue  # drain: generation ends within a step of the stop
            raw += piece
            if not raw.startswith(self.prefix):
                continue  # still re-producing the healed prefix
            text = raw[len(self.prefix):]
            cut = find_stop(text, self.language, state) if self.language else None
            end = cut if cut is not None else len(text) - held_back(text, self.language or "")
            if end > sent:
                yield text[sent:end]
                sent = end
            stopped = cut is not None
        worker.join()
        if self._error is not None:
            raise self._error
        final = self.result.text if self.result else text
        if len(final) > sent and final.startswith(text[:sent]):
            yield final[sent:]


def stream_completion(cfg: GenerateConfig) -> CompletionStream:
    """`codegen generate`: check every setting, load the model, and return the stream of `cfg.prompt`."""
    cfg.validate()
    lm = load_model(cfg.model, device=cfg.device, dtype=cfg.dtype, trust_remote_code=cfg.trust_remote_code,
                    announce=log)
    return complete(lm, cfg.prompt, cfg.language, tag_style=cfg.tag_style, temperature=cfg.temperature,
                    top_p=cfg.top_p, top_k=cfg.top_k, max_new_tokens=cfg.max_new_tokens, seed=cfg.seed,
                    token_healing=cfg.token_healing)


def complete(
    model: str | Path | LoadedModel,
    prompt: str,
    language: str | None = None,
    *,
    tag_style: str | None = None,
    temperature: float = 0.0,
    top_p: float = 0.95,
    top_k: int = 0,
    max_new_tokens: int = 256,
    seed: int = 1234,
    device: str | None = None,
    dtype: str = "auto",
    token_healing: bool = True,
) -> CompletionStream:
    """A streamed completion of `prompt` (tagged for `language`; no tag and no stop rule without one)."""
    lm = model if isinstance(model, LoadedModel) else load_model(str(model), device=device, dtype=dtype)
    style = resolve_tag_style(lm.name, tag_style)
    settings = {"temperature": temperature, "top_p": top_p, "top_k": top_k, "max_new_tokens": max_new_tokens,
                "seed": seed, "heal": token_healing}
    return CompletionStream(lm, prompt, language, tag_style=style, settings=settings)
