"""CodeGeeX's HumanEval-X translation prompt, and where a translated program's completion starts.

The prompt (CodeGeeX `read_translation_dataset`, same text byte for byte):

    code translation
    <Source>:
    <source declaration>
    <source canonical solution, trailing whitespace stripped>
    <Target>:
    <target declaration>

with the names C++, JavaScript, Python, Java, Go, Rust. The model continues after the target's
declaration (the signature, without the docstring), so its completion is the target function's body,
exactly what a generation completion is. It is scored like one: the target problem's prompt (with its
docstring) + completion + the target's tests, which is also how CodeGeeX assembles translated programs.

With `--prompt-style chat` the model gets an instruction instead (chat.py: the source function in a fence,
the target's declaration, "write the whole function"), and its reply is fitted to the target problem
like any chat reply (reconcile.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from codegen_cli.evaluate.problems import Problem
from codegen_cli.generation.chat import instruction
from codegen_cli.generation.prompts import PromptFormat
from codegen_cli.languages import HUMANEVAL_X_KEYS

# CodeGeeX writes the language by its name (`C++`, `JavaScript`, `Python`): the language table's names.
PROMPT_NAMES = HUMANEVAL_X_KEYS
FORMAT_VERSION = 1  # bump when the prompt text changes: it is part of the samples' settings hash


def translation_prompt(source: Problem, target: Problem) -> str:
    """The exact text the model sees to translate `source`'s canonical solution into `target`'s language."""
    return (
        "code translation\n"
        f"{PROMPT_NAMES[source.language]}:\n"
        + source.declaration
        + "\n"
        + source.canonical_solution.rstrip()
        + "\n"
        + f"{PROMPT_NAMES[target.language]}:\n"
        + target.declaration
    )


def translation_format(source_language: str, sources: Mapping[int, Problem]) -> PromptFormat:
    """A generation PromptFormat: target problem -> translation prompt from the same-numbered source problem.

    The model's language-tag style is not used: CodeGeeX's translation prompt names both languages in
    its own `Python:` lines instead. The brace stop rule scans only the target declaration, so quotes or
    braces in the source program (another language's syntax) cannot throw it off.
    """

    def build(target: Problem, tag_style: str) -> str:
        return translation_prompt(sources[target.number], target)

    def scan_text(target: Problem) -> str:
        return target.declaration

    def chat_user(target: Problem) -> str:
        source = sources[target.number]
        return instruction(target.language, target.declaration, task="translate",
                           source=(source.language, source.declaration + source.canonical_solution))

    return PromptFormat(
        name=f"codegeex-translation/v{FORMAT_VERSION}/from-{source_language}",
        build=build,
        scan_text=scan_text,
        row_fields={"source_language": source_language},
        chat_user=chat_user,
    )


def pair_name(source: str, target: str) -> str:
    """The results subfolder of one pair, e.g. `python-to-cpp` (CodeGeeX names its files the same way)."""
    return f"{source}-to-{target}"
