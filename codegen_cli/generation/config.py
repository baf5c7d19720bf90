"""Settings of sample generation and the summary it returns.

Field names are the `codegen eval` option names (`max_new_tokens` <-> `--max-new-tokens`). Defaults follow
CodeGeeX's evaluation scripts and bigcode's harness; each has its reason beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen_cli.config import option
from codegen_cli.errors import raise_problems
from codegen_cli.languages import PROMPT_TAG_STYLES, language_problems
from codegen_cli.options import value_problems

BACKENDS = ("hf", "vllm", "openai", "llamacpp")
PROMPT_STYLES = ("completion", "chat")
DTYPES = ("auto", "float32", "bfloat16", "float16")




@dataclass
class SamplingSettings:
    """What `codegen eval --model` and `codegen generate` both set: the model and how to sample from it."""

    model: str = option("", "Causal LM: a folder (RUN/hf), a .gguf file (or a folder holding one) or a hub id (a local path offline).", short="-m",
                        shown_default="none")
    # 0.8 is CodeGeeX's script default (pass@10/100); use 0.2 for pass@1, or 0 for greedy.
    temperature: float = option(0.8, "Sampling temperature; 0 means greedy decoding.",
                                why="CodeGeeX's script (pass@10/100); 0.2 for pass@1", at_least=0)
    top_p: float = option(0.95, "Nucleus sampling threshold.", why="CodeGeeX/CodeGeeX2: 0.95", above=0, at_most=1)
    top_k: int = option(0, "Top-k filter; 0 disables it.", why="CodeGeeX2: 0", at_least=0)
    max_new_tokens: int = option(512, "Most tokens generated per sample.",
                                 why="HumanEval-X solutions fit in ~500 code tokens; stop rules end most "
                                 "samples far earlier (CodeGeeX allows 1024)", at_least=1)
    seed: int = option(1234, "Seed; each batch reseeds from it, so a rerun gives the same samples.")
    tag_style: str | None = option(None, "Language tag before each prompt: comment, token or none.",
                                   shown_default="what the model folder records, else none",
                                   why="prompts look like training documents", choices=PROMPT_TAG_STYLES)
    dtype: str = option("auto", "auto (bfloat16 on GPU, float32 on CPU), float32, bfloat16 or float16.",
                        why="bf16 where the GPU has it; CPUs are slow in half precision", choices=DTYPES)
    device: str | None = option(None, "Torch device.", shown_default="this process's accelerator, else CPU")
    trust_remote_code: bool = option(False, "Allow a hub model's own Python code.",
                                     why="off: it runs arbitrary code")
    token_healing: bool = option(True, "Back off the prompt's last token and let the first generated tokens "
                                 "re-produce it (completion style, hf backend).",
                                 why="a prompt ending in a newline cuts the newline+indent token training "
                                 "used: 0/100 vs 42/100 indented bodies (docs/generation.md)")

    def sampling_problems(self) -> list[str]:
        """Every problem with the values (the caller raises them together)."""
        problems = value_problems(self)
        if not str(self.model):
            problems.append("--model is required (a RUN/hf folder or a hub id)")
        return problems

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass
class GenerationConfig(SamplingSettings):
    """`codegen eval --model`: sample completions of many problems into samples.jsonl."""

    output: Path = option(Path("results"), "Folder that receives samples.jsonl and generation.json.",
                          inherited=True)
    n_samples: int = option(1, "Samples per problem.", short="-n", why="CodeGeeX reports pass@k with n=200", at_least=1)
    batch_size: int = option(16, "Sequences generated together (lower it after an out-of-memory error).",
                             why="fills a CPU or a small GPU", at_least=1)
    backend: str = option("hf", "hf (transformers generate), vllm (when installed), openai (an OpenAI-compatible "
                          "server at --base-url; --model is the server's model name) or llamacpp (a .gguf file run "
                          "by llama.cpp, quantized; the llamacpp extra).", why="always installed",
                          choices=BACKENDS)
    base_url: str | None = option(None, "--backend openai: the server's API root, e.g. http://127.0.0.1:8000/v1 "
                                  "(API key, if any, from OPENAI_API_KEY).")
    concurrency: int = option(4, "--backend openai: requests in flight at once.",
                              why="a server batches concurrent requests; a few keep it busy", at_least=1)
    request_timeout: float = option(300.0, "--backend openai: seconds one request may take.",
                                    why="a long completion on a loaded CPU server", above=0)
    retries: int = option(4, "--backend openai: retries of a failed request (exponential backoff, 1-30 s).",
                          why="rides out a restart or a busy server (HTTP 429/5xx)", at_least=0)
    server_wait: float = option(600.0, "--backend openai: seconds to wait for a server that answers HTTP 503 "
                                "(still loading its model), honouring its Retry-After.",
                                why="llama.cpp's server answers 503 until its model is in memory (a 7B GGUF "
                                "from a cold disk: about a minute)", at_least=0)
    extra_body: str | None = option(None, "--backend openai: a JSON object of extra request fields, e.g. "
                                    "'{\"top_k\": 20}'; it overrides the neutral sampling fields codegen sends.",
                                    shown_default="none")
    force: bool = option(False, "Discard samples made with other settings instead of refusing (exit 4).")
    prompt_style: str | None = option(
        None, "completion (continue the problem's code) or chat (the model's chat template, an instruction, "
        "code taken from the reply and fitted to the problem).", choices=PROMPT_STYLES,
        shown_default="chat for a model whose tokenizer has a chat template (openai backend: chat), "
        "completion for a model trained by codegen or without a template",
        why="an instruct model answers a chat, not a raw prefix (docs/generation.md)")

    def validate(self) -> None:
        """Collect every problem with the values into one UsageError, before a model is loaded."""
        problems = self.sampling_problems()
        if self.backend == "openai" and not self.base_url:
            problems.append("--backend openai needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        if self.base_url and self.backend != "openai":
            problems.append("--base-url is for --backend openai")
        if self.extra_body is not None:
            problems += _extra_body_problems(self.extra_body)
        raise_problems(problems)


def _extra_body_problems(text: str) -> list[str]:
    import json

    try:
        value = json.loads(text)
    except ValueError as exc:
        return [f"--extra-body: not JSON ({exc}); give an object such as '{{\"top_k\": 20}}'"]
    if not isinstance(value, dict):
        return ["--extra-body: give a JSON object such as '{\"top_k\": 20}'"]
    fixed = sorted(set(value) & {"prompt", "messages", "stream"})
    return [f"--extra-body: {', '.join(fixed)} cannot be overridden"] if fixed else []


@dataclass
class GenerateConfig(SamplingSettings):
    """`codegen generate`: one streamed completion, greedy by default (a quick look at a model)."""

    prompt: str = option("", "Code to continue; - reads it from stdin.", positional=True, required=True)
    model: str = option("", "Model folder (RUN/hf), .gguf file or hub id (a local path offline).", short="-m", required=True)
    language: str | None = option(None, "Language of the prompt (python, cpp, java, js, go, rust, ...): adds the "
                                  "tag and the stop rule.", short="-l", shown_default="none: no tag, stop at "
                                  "end-of-text")
    temperature: float = option(0.0, "Sampling temperature; 0 means greedy decoding.",
                                why="the model's most likely continuation")
    max_new_tokens: int = option(256, "Most tokens to generate.", why="a function body or two")
    tag_style: str | None = option(None, "comment, token or none.",
                                   shown_default="what the model folder records, else none")

    def validate(self) -> None:
        raise_problems(self.sampling_problems() + language_problems("--language", self.language))


@dataclass
class GenerationSummary:
    samples_path: Path
    settings_hash: str
    model: str
    backend: str
    device: str
    dtype: str
    tag_style: str
    processes: int
    problems: int
    requested: int  # problems x n_samples
    reused: int  # already in samples.jsonl from an earlier (killed) run
    generated: int  # made by this run
    generated_tokens: int
    seconds: float
    truncated_prompts: int  # prompts cut from the left to fit the model's context
    finish_reasons: dict[str, int] = field(default_factory=dict)  # stop | eos | length
    prompt_style: str = "completion"  # completion | chat
    per_language: dict[str, int] = field(default_factory=dict)  # samples in the file per language

    @property
    def samples_per_s(self) -> float:
        return self.generated / self.seconds if self.seconds > 0 else 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.generated_tokens / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        from codegen_cli.config import to_dict

        data = to_dict(self)
        data["samples_per_s"] = round(self.samples_per_s, 3)
        data["tokens_per_s"] = round(self.tokens_per_s, 1)
        return data
