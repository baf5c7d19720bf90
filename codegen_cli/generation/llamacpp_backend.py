"""`--backend llamacpp`: a GGUF file sampled by llama.cpp itself (through `llama-cpp-python`, the `llamacpp`
extra), in its own quantized format.

Why: transformers reads a GGUF by dequantizing every tensor to float32 (sources.py), so a 7B Q4 file (~4 GB)
becomes ~28 GB in memory and runs at float32 speed; llama.cpp runs the quantized weights as they are. The
transformers route stays for small models and for token healing (it needs the logits).

Same samples as the other backends: the prompt is built by the engine (tag + problem, or the chat
instruction), the chat template is the GGUF's own (`tokenizer.chat_template`, rendered as transformers does,
with the open fence appended as the hf backend does), each sample is streamed token by token and cut at the
same `find_stop` point (brace languages stop when the function closes, chat replies at the fence that closes
their block), and batches, seeds and resume are the engine's. Sampling is exactly what was asked: llama.cpp's
own defaults (`repeat_penalty`, `top_k` 40, `min_p` 0.05) are set to neutral values, as for a server
(openai_backend.neutral_fields). Samples run one after another (one sequence per context); each finished
sample is handed to the engine at once, so an interrupt loses only the one being made.

A prompt longer than the context minus `--max-new-tokens` is cut from the left, as in the hf backend.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any

from codegen_cli.cpus import usable_cpus
from codegen_cli.errors import InputDataError, UsageError
from codegen_cli.generation.chat import response_prefix
from codegen_cli.generation.config import GenerationConfig
from codegen_cli.generation.sampler import Completion
from codegen_cli.generation.stopping import CHAT, find_stop, prompt_state, rule_family

INSTALL = "pip install 'codegen-cli[llamacpp]' (builds llama.cpp from source: ~15 min on 2 cores, once)"


def require_llama_cpp() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        raise UsageError(f"--backend llamacpp needs llama-cpp-python: {INSTALL}; or use --backend hf")


def gguf_chat_template(spec: str) -> str | None:
    """The chat template a GGUF holds (`tokenizer.chat_template`), read by llama.cpp from the vocabulary and
    metadata alone (no weights loaded); None when it has none."""
    from codegen_cli.generation.sources import resolve_source

    require_llama_cpp()
    source = resolve_source(spec)
    if source.kind != "gguf" or source.path is None:
        raise UsageError(f"--backend llamacpp runs GGUF files; {spec} is a {source.kind} (give a .gguf file, or "
                         "use --backend hf)")
    from llama_cpp import Llama

    try:
        vocab = Llama(model_path=str(source.path), vocab_only=True, verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:
        from codegen_cli.generation.sources import check_gguf

        check_gguf(source.path)
        raise InputDataError(f"{source.path}: llama.cpp cannot read it ({exc})") from exc
    return vocab.metadata.get("tokenizer.chat_template") or None


class LlamaCppRunner:
    streamed_methods = ("on_result",)  # generate/generate_chat hand each sample over as it is finished

    def __init__(self, config: GenerationConfig, *, announce: Callable[[str], None] | None = None) -> None:
        from codegen_cli.generation.sources import resolve_source

        require_llama_cpp()
        source = resolve_source(config.model)
        if source.kind != "gguf" or source.path is None:
            raise UsageError(f"--backend llamacpp runs GGUF files; {config.model} is a {source.kind} "
                             "(give a .gguf file, or use --backend hf)")
        from llama_cpp import Llama

        self.config, self.source = config, source
        self.on_step: Callable[[int], None] | None = None
        threads = _threads()
        (announce or (lambda message: None))(f"loading {source.path} with llama.cpp ({threads} threads)")
        try:
            self.llm = Llama(model_path=str(source.path), n_ctx=0, n_threads=threads, n_threads_batch=threads,
                             seed=config.seed, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            from codegen_cli.generation.sources import check_gguf

            check_gguf(source.path)  # a cut-off file says so
            raise InputDataError(f"{source.path}: llama.cpp cannot load it ({exc}); check that the file is a "
                                 "GGUF language model") from exc
        self.device, self.dtype = "cpu", _file_type(self.llm)
        self.context_length = self.llm.n_ctx()

    # ------------------------------------------------------------ generation

    def generate(self, prompts: list[str], languages: list[str], *, seed: int,
                 scan_texts: list[str] | None = None,
                 on_result: Callable[[int, Completion], None] | None = None) -> list[Completion]:
        scans = scan_texts if scan_texts is not None else prompts
        results = []
        for row, (prompt, lang) in enumerate(zip(prompts, languages)):
            state = prompt_state(scans[row], lang) if rule_family(lang) == "brace" else None
            tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False)
            completion = self._sample(tokens, lang, state, seed=seed + row)
            results.append(completion)
            if on_result is not None:
                on_result(row, completion)
        return results

    def generate_chat(self, users: list[str], languages: list[str], *, seed: int,
                      on_result: Callable[[int, Completion], None] | None = None) -> list[Completion]:
        """Replies through the GGUF's chat template, the assistant turn opened with the fence (as the hf
        backend does); `text` starts with that fence so the reply reads as the model wrote it."""
        results = []
        for row, (user, lang) in enumerate(zip(users, languages)):
            prefix = response_prefix(lang)
            text = self.chat_text(user) + prefix
            tokens = self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
            completion = self._sample(tokens, CHAT, None, seed=seed + row, prefix=prefix)
            results.append(completion)
            if on_result is not None:
                on_result(row, completion)
        return results

    def chat_text(self, user: str) -> str:
        """One user turn through the GGUF's chat template (jinja, as transformers renders it), with the
        generation prompt; exit 2 for a GGUF without a template."""
        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise UsageError(f"--prompt-style chat: {self.source.path} has no chat template "
                             "(tokenizer.chat_template); use --prompt-style completion")
        from transformers.utils.chat_template_utils import render_jinja_template

        rendered, _ = render_jinja_template(conversations=[[{"role": "user", "content": user}]],
                                            chat_template=template, add_generation_prompt=True,
                                            bos_token=self._token_text(self.llm.token_bos()),
                                            eos_token=self._token_text(self.llm.token_eos()))
        return rendered[0]

    def describe(self) -> dict[str, Any]:
        import llama_cpp

        return {"backend": "llamacpp", "model": self.config.model, **self.source.describe(),
                "llama_cpp_python": llama_cpp.__version__, "n_ctx": self.context_length,
                "file_type": self.dtype, "sampling": self._sampling(0)}

    # ------------------------------------------------------------ one sample

    def _sampling(self, seed: int) -> dict[str, Any]:
        c = self.config
        greedy = c.temperature == 0
        return {"temperature": c.temperature, "top_p": 1.0 if greedy else c.top_p,
                "top_k": c.top_k if c.top_k > 0 and not greedy else 0, "min_p": 0.0, "typical_p": 1.0,
                "repeat_penalty": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0, "seed": seed}

    def _sample(self, tokens: list[int], language: str, state: Any, *, seed: int, prefix: str = "") -> Completion:
        """Stream one completion of `tokens`, cut at the stop point of what was generated (llama.cpp stops
        when the stream is closed); `prefix`, text the prompt ends with that belongs to the reply (chat's
        open fence), is put in front of the result, as the hf backend does."""
        limit = self.context_length - self.config.max_new_tokens
        if limit < 1:
            raise UsageError(f"--max-new-tokens {self.config.max_new_tokens} leaves no room for a prompt in "
                             f"{self.source.path}'s context of {self.context_length} tokens; lower it")
        truncated = len(tokens) > limit
        if truncated:  # keep the end (the signature being completed), as the hf backend does
            bos = self.llm.token_bos()
            keep_bos = bos >= 0 and tokens and tokens[0] == bos
            tokens = ([bos] if keep_bos else []) + tokens[len(tokens) - limit + (1 if keep_bos else 0):]
        text, made, cut, finish = "", 0, None, "eos"
        stream = self.llm.create_completion(tokens, max_tokens=self.config.max_new_tokens, stream=True,
                                            **self._sampling(seed))
        try:
            for chunk in stream:
                choice = chunk["choices"][0]
                text += choice.get("text") or ""
                if choice.get("finish_reason") is None:  # one chunk per generated token; the last one only ends
                    made += 1
                    if self.on_step is not None:
                        self.on_step(1)
                cut = find_stop(text, language, state)
                if cut is not None:
                    break
                if choice.get("finish_reason") == "length":
                    finish = "length"
        finally:
            stream.close()
        if cut is not None:
            return Completion(text=prefix + text[:cut], finish_reason="stop", num_tokens=made,
                              truncated_prompt=truncated)
        if made >= self.config.max_new_tokens:
            finish = "length"
        return Completion(text=prefix + text, finish_reason=finish, num_tokens=made, truncated_prompt=truncated)

    def _token_text(self, token: int) -> str:
        if token is None or token < 0:
            return ""
        return self.llm.detokenize([token], special=True).decode("utf-8", "replace")


def _threads() -> int:
    """llama.cpp's threads: OMP_NUM_THREADS when set (the same knob that sizes torch's pool), else the CPUs
    this process may run on. Its threads spin while they wait, so more threads than free cores is far
    slower, not a little: 64 tokens of SmolLM2 took 2.0 s on 1 thread and 6.2 s on 2 with the 2 cores
    busy with other work (load 7)."""
    given = os.environ.get("OMP_NUM_THREADS", "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    return usable_cpus()


def _file_type(llm: Any) -> str:
    """The GGUF's quantization as llama.cpp names it (general.file_type), e.g. "Q4_1"."""
    names = {"0": "F32", "1": "F16", "2": "Q4_0", "3": "Q4_1", "7": "Q8_0", "8": "Q5_0", "9": "Q5_1",
             "10": "Q2_K", "11": "Q3_K_S", "12": "Q3_K_M", "13": "Q3_K_L", "14": "Q4_K_S", "15": "Q4_K_M",
             "16": "Q5_K_S", "17": "Q5_K_M", "18": "Q6_K", "32": "BF16"}
    value = str(llm.metadata.get("general.file_type", ""))
    return names.get(value, f"gguf file type {value}" if value else "gguf")
