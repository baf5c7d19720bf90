"""Optional vLLM backend (`--backend vllm`): continuous batching and paged attention, ~3x transformers.

vLLM cannot run our brace-balance rule while generating, so it stops Python samples on the newline +
non-indented-line stop strings it can express and leaves brace languages to max-new-tokens or eos; every
completion is then cut with the same `find_stop` as the transformers backend, so both backends write the
same kind of sample. Not exercised by the test suite (vLLM is not installed there); a missing install is
a one-line usage error.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from codegen_cli.errors import UsageError
from codegen_cli.generation.config import GenerationConfig
from codegen_cli.generation.sampler import Completion
from codegen_cli.generation.stopping import find_stop, prompt_state, rule_family

# Python stop strings vLLM can check: a newline followed by the start of a non-indented line.
_PY_STOPS = ["\ndef ", "\nclass ", "\nif ", "\nprint(", "\n#", "\n@", "\nassert ", "\n```", "\nfrom ", "\nimport "]


def require_vllm() -> None:
    if importlib.util.find_spec("vllm") is None:
        raise UsageError("--backend vllm needs the vllm package (pip install vllm, GPU only); or use --backend hf")


class VLLMRunner:
    def __init__(self, config: GenerationConfig) -> None:
        require_vllm()
        from vllm import LLM

        self.config = config
        dtype = "auto" if config.dtype == "auto" else config.dtype
        self.llm = LLM(model=config.model, dtype=dtype, seed=config.seed,
                       trust_remote_code=config.trust_remote_code)
        self.device, self.dtype = "cuda", dtype

    def generate(self, prompts: list[str], languages: list[str], *, seed: int,
                 scan_texts: list[str] | None = None) -> list[Completion]:
        from vllm import SamplingParams

        c = self.config
        results = []
        outputs = self.llm.generate(prompts, [
            SamplingParams(n=1, temperature=c.temperature, top_p=c.top_p if c.temperature else 1.0,
                           top_k=c.top_k or -1, max_tokens=c.max_new_tokens, seed=seed + row,
                           stop=_PY_STOPS if rule_family(lang) == "python" else None)
            for row, lang in enumerate(languages)
        ], use_tqdm=False)
        for prompt, lang, out in zip(scan_texts if scan_texts is not None else prompts, languages, outputs):
            piece = out.outputs[0]
            state = prompt_state(prompt, lang) if rule_family(lang) == "brace" else None
            cut = find_stop(piece.text, lang, state)
            reason = "stop" if cut is not None or piece.finish_reason == "stop" and piece.stop_reason else (
                "eos" if piece.finish_reason == "stop" else "length")
            text = piece.text[:cut] if cut is not None else piece.text
            results.append(Completion(text=text, finish_reason=reason, num_tokens=len(piece.token_ids)))
        return results

    def describe(self) -> dict[str, Any]:
        return {"model": self.config.model, "backend": "vllm"}
