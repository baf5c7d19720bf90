"""`--prompt-style chat`: ask an instruct model for the function, then take the code out of its reply.

How the field does it (facts from their repositories, no code taken):
- evalplus asks "Please provide a self-contained Python script that solves the following problem in a
  markdown code block", shows the prompt in a fence, starts the assistant turn with a sentence and an open
  ```` ```python ```` fence, then "sanitizes" the reply: code taken out of the fences, only the entry point
  and what it depends on (imports, helpers) kept, `if __name__` blocks dropped; the solution replaces the
  prompt.
- bigcode-evaluation-harness's humanevalsynthesize writes "Write a {language} function `{signature}` to
  solve the following problem:" + the docstring, and starts the answer with the function's signature, so
  the model continues the body as in a completion.

Here the instruction shows the whole prompt (signature and docstring, as evalplus does) in a fence and asks
for the whole function in one fenced block; the HF backend opens that fence in the assistant turn (a
small instruct model then writes code at once instead of prose). The reply is then reduced to code
(`extract_code`) and fitted to the problem (`reconcile.py`), so the sample is still scored as
prompt + completion + tests, like every other sample.

Default style (`resolve_prompt_style`): `completion` for a model trained by codegen (its folder records a
tag style) and for a tokenizer without a chat template; `chat` for any other model whose tokenizer has a
chat template (an instruct model: it answers a chat, not a raw prefix); with `--backend openai`, where no
tokenizer is visible, `chat`; with `--backend llamacpp`, `chat` when the GGUF holds a chat template.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen_cli.errors import UsageError
from codegen_cli.evaluate.problems import Problem
from codegen_cli.generation.config import PROMPT_STYLES

CHAT_FORMAT_VERSION = 2  # bump when an instruction or the extraction changes: part of the settings hash

LANGUAGE_NAMES = {"python": "Python", "cpp": "C++", "java": "Java", "js": "JavaScript", "go": "Go",
                  "rust": "Rust"}
FENCE_TAGS = {"python": "python", "cpp": "cpp", "java": "java", "js": "javascript", "go": "go", "rust": "rust"}

_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[ \t]*$", re.MULTILINE)


def resolve_prompt_style(override: str | None, *, tokenizer: Any = None, model: str | Path | None = None,
                         backend: str = "hf") -> str:
    """`override`, else the rule in the module docstring; `chat` without a template is a usage error."""
    has_template = bool(getattr(tokenizer, "chat_template", None)) if tokenizer is not None else None
    if override is not None:
        if override not in PROMPT_STYLES:
            raise UsageError(f"--prompt-style {override!r}: use one of {', '.join(PROMPT_STYLES)}")
        if override == "chat" and has_template is False:
            raise UsageError(f"--prompt-style chat: {model}'s tokenizer has no chat template; use "
                             "--prompt-style completion")
        return override
    if backend == "openai":
        return "chat"
    if backend == "llamacpp" and model is not None:
        from codegen_cli.generation.llamacpp_backend import gguf_chat_template

        return "chat" if gguf_chat_template(str(model)) else "completion"
    if model is not None and _trained_here(model):
        return "completion"
    if has_template is None and model is not None:
        has_template = source_has_chat_template(str(model))
    return "chat" if has_template else "completion"


def source_has_chat_template(spec: str) -> bool:
    """Whether a model source's tokenizer has a chat template, without loading the model: the folder's
    tokenizer files (for a GGUF, those of its dequantized folder), or a hub id's tokenizer (cached)."""
    from codegen_cli.generation.sources import loadable, resolve_source
    from codegen_cli.output import log

    source = resolve_source(spec)
    folder = source.path if source.kind == "folder" else None
    if source.kind == "gguf":  # its dequantized folder, made now (the model is loaded from it next)
        folder = Path(loadable(source, announce=log))
    if folder is not None:
        if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
            return True
        config = folder / "tokenizer_config.json"
        return config.is_file() and bool(json.loads(config.read_text(encoding="utf-8")).get("chat_template"))
    try:
        from transformers import AutoTokenizer

        return bool(AutoTokenizer.from_pretrained(spec).chat_template)
    except (OSError, ValueError):
        return False  # the load that follows reports the problem


def _trained_here(model: str | Path) -> bool:
    from codegen_cli.tokenizer.tagging import read_tag_style

    folder = Path(model)
    return folder.is_dir() and read_tag_style(folder) is not None


def instruction(language: str, code: str, *, task: str = "complete", source: tuple[str, str] | None = None) -> str:
    """The user turn: the code to finish (or to translate `source` = (language, code) into) in a fence."""
    name, tag = LANGUAGE_NAMES.get(language, language), FENCE_TAGS.get(language, language)
    asked = (f"Write the whole function, with any imports or helper functions it needs, in one ```{tag} "
             "code block.")
    if task == "translate" and source is not None:
        src_name, src_code = LANGUAGE_NAMES.get(source[0], source[0]), source[1]
        return (f"Translate this {src_name} function into {name}.\n```{FENCE_TAGS.get(source[0], source[0])}\n"
                f"{src_code.strip()}\n```\nThe {name} function starts like this:\n```{tag}\n{code.strip()}\n```\n"
                + asked)
    return f"Complete the following {name} function. {asked}\n```{tag}\n{code.strip()}\n```"


def response_prefix(language: str) -> str:
    """What the assistant turn starts with (HF backend): an open fence, so the reply is code from token one."""
    return f"```{FENCE_TAGS.get(language, language)}\n"


@dataclass(frozen=True)
class ChatPrompt:
    text: str  # the templated conversation, ending with the response prefix
    prefix: str  # the response prefix (part of the reply when extracting code)


def chat_prompt(tokenizer: Any, user: str, language: str) -> ChatPrompt:
    """The model's chat template around one user turn, with the generation prompt and the response prefix."""
    text = tokenizer.apply_chat_template([{"role": "user", "content": user}], tokenize=False,
                                         add_generation_prompt=True)
    prefix = response_prefix(language)
    return ChatPrompt(text + prefix, prefix)


def problem_instruction(problem: Problem, code: str) -> str:
    return instruction(problem.language, code)


def find_chat_stop(reply: str) -> int | None:
    """Where a reply can stop: just past the fence that closes its first code block (None while open).

    `reply` includes the response prefix (an opening fence), so the second fence line closes the first
    block; the rest of a reply is explanation or usage examples, which `extract_code` would drop anyway.
    Only whole lines count as fences (a fence in the middle of a line is text).
    """
    fences = list(_FENCE.finditer(reply))
    return fences[1].end() if len(fences) >= 2 else None


# Reasoning a model shows before its answer: DeepSeek-R1, Qwen3 and QwQ write `<think>...</think>`, others
# `<thinking>`/`<reasoning>`/`<thought>`. The answer is what follows the last closing tag (a chat template
# that opens the block in the prompt leaves only the closing tag in the reply); a block never closed (cut
# off by max-tokens) holds no answer.
_REASONING_TAGS = ("think", "thinking", "reasoning", "thought")
_REASONING_CLOSE = re.compile(rf"</(?:{'|'.join(_REASONING_TAGS)})>", re.IGNORECASE)
_REASONING_OPEN = re.compile(rf"<(?:{'|'.join(_REASONING_TAGS)})>", re.IGNORECASE)


def strip_reasoning(reply: str) -> str:
    """The answer part of a reply: what follows the last closing reasoning tag; before an unclosed opening
    tag only; the whole reply when it has no such tags."""
    closes = list(_REASONING_CLOSE.finditer(reply))
    if closes:
        reply = reply[closes[-1].end():]
    opened = _REASONING_OPEN.search(reply)
    return reply[:opened.start()] if opened else reply


def extract_code(reply: str, entry: str | None = None, language: str | None = None) -> str:
    """The code of a reply, reasoning blocks removed (`strip_reasoning`): the LAST fenced block that holds a
    complete definition of `entry` (a reply that corrects itself ends with the version it stands by, as
    LiveCodeBench reads replies), else the last that defines it at all, else the first that mentions it
    (else the longest block). A reply without fences is taken whole; an unclosed last block runs to the
    end of the reply."""
    reply = strip_reasoning(reply)
    blocks = _blocks(reply)
    if not blocks:
        return reply.strip("\n")
    if entry:
        defining = [(block, closed) for block, closed in blocks if defines(block, entry, language)]
        complete = [block for block, closed in defining if closed and is_complete(block, language)]
        if complete or defining:
            return complete[-1] if complete else defining[-1][0]
        for block, _ in blocks:
            if re.search(rf"\b{re.escape(entry)}\b", block):
                return block
    return max((block for block, _ in blocks), key=len)


def defines(code: str, entry: str, language: str | None = None) -> bool:
    """Whether `code` has a line that declares a function named `entry` (in `language`; any of the six when
    None)."""
    name = re.escape(entry)
    forms = {
        "python": rf"(?:async\s+)?def\s+{name}\s*\(",
        "rust": rf"(?:pub(?:\([\w:]+\))?\s+)?(?:async\s+)?fn\s+{name}\b",
        "go": rf"func\s+(?:\([^)]*\)\s*)?{name}\s*\(",
        "js": rf"(?:export\s+)?(?:(?:async\s+)?function\s*\*?\s*{name}\s*\(|(?:const|let|var)\s+{name}\s*=)",
        # C++/Java: a return type (and modifiers) before the name, a parameter list, no `;` (a call or a
        # prototype) and no keyword such as `return` in front
        "cpp": rf"(?!(?:return|else|new|throw|case)\b)\w[\w<>\[\],:*&\s]*?[\w>\]*&]\s+\*?&?{name}\s*\([^;]*$",
    }
    forms["java"] = forms["cpp"]
    chosen = [forms[language]] if language in forms else list(forms.values())
    return re.search(rf"^[ \t]*(?:{'|'.join(chosen)})", code, re.MULTILINE) is not None


def is_complete(code: str, language: str | None) -> bool:
    """Whether a block of code is whole: Python parses; braces close (the other languages). A block cut off
    by the token limit is not."""
    if language == "python":
        import ast

        try:
            ast.parse(code)
        except (SyntaxError, ValueError):
            return False
        return True
    from codegen_cli.generation.stopping import scan_braces

    state, _ = scan_braces(code + "\n", language or "cpp")
    return state.depth <= 0 and "{" in code


def _blocks(reply: str) -> list[tuple[str, bool]]:
    """(code, closed) of each fenced block; the last block is not closed when the reply ends inside it."""
    fences = list(_FENCE.finditer(reply))
    blocks = []
    for i in range(0, len(fences), 2):
        start = fences[i].end() + 1
        closed = i + 1 < len(fences)
        end = fences[i + 1].start() if closed else len(reply)
        block = reply[start:end].strip("\n")
        if block.strip():
            blocks.append((block, closed))
    return blocks
