"""Chat replies of every shape fit the problem: code out of the reply, then the completion after the prompt.

The replies are built from the canonical solutions in the shapes instruct models answer with: the whole
function again (signature + docstring or declaration, with imports), the body alone, the function plus a
`main` and extra imports, and helper functions around the target. The slow test scores all of them with
the real toolchains: every shape of every language must pass.
"""

from __future__ import annotations

import json

import pytest

from codegen_cli.evaluate.problems import load_problems
from codegen_cli.generation.chat import extract_code, find_chat_stop, instruction, resolve_prompt_style
from codegen_cli.generation.prompts import problem_text
from codegen_cli.generation.reconcile import entry_name, reconcile

from .conftest import HUMANEVAL_X

LANGS = ("python", "cpp", "java", "js", "go", "rust")
TASKS = ["0", "2", "12"]

MAINS = {
    "python": '\n\nif __name__ == "__main__":\n    print({entry}([]))\n',
    "cpp": "\nint main() {{\n    return 0;\n}}\n",
    "java": "\npublic class Main {{\n    public static void main(String[] args) {{\n    }}\n}}\n",
    "js": "\nconsole.log({entry});\nmodule.exports = {{ {entry} }};\n",
    "go": "\nfunc main() {{\n}}\n",
    "rust": "\nfn main() {{\n}}\n",
}
IMPORTS = {"python": "import math\nfrom typing import List\n", "cpp": "#include <vector>\n#include <string>\n",
           "java": "import java.util.*;\n", "js": "'use strict';\nconst LIMIT = 10;\n",
           "go": 'package main\n\nimport (\n    "math"\n    "strings"\n)\n',
           "rust": "use std::collections::HashMap;\nuse std::cmp::max;\n"}
HELPERS = {"python": "def _unused_helper(x):\n    return x + 1\n\n",
           "cpp": "int unused_helper(int x) {\n    return x + 1;\n}\n",
           "java": "", "js": "function unusedHelper(x) {\n  return x + 1;\n}\n",
           "go": "func unusedHelper(x int) int {\n    return x + 1\n}\n",
           "rust": "fn unused_helper(x: i32) -> i32 {\n    x + 1\n}\n"}


def _function(problem) -> str:
    """The whole target function as a reply repeats it (with the prompt's own imports)."""
    if problem.language == "python":
        return problem.prompt + problem.canonical_solution
    if problem.language == "rust":
        return problem.declaration + problem.canonical_solution
    return problem.declaration + problem.canonical_solution


def replies(problem) -> dict[str, str]:
    lang, entry = problem.language, entry_name(problem)
    fence = {"js": "javascript"}.get(lang, lang)
    whole = _function(problem)
    java_helper = ""
    if lang == "java":  # a helper method inside the class, a helper class after it
        whole = whole.rstrip().removesuffix("}") + "    private int unusedHelper(int x) {\n        return x;\n    }\n}\n"
        java_helper = "\nclass Helper {\n    int twice(int x) { return 2 * x; }\n}\n"
    return {
        "whole": f"Here is the function:\n```{fence}\n{whole}\n```\nIt works by ...",
        "body": problem.canonical_solution,
        "fenced body": f"```{fence}\n{problem.canonical_solution}```",
        "main+imports": f"```{fence}\n{IMPORTS[lang]}{whole}{java_helper}{MAINS[lang].format(entry=entry)}```\n"
                        f"Usage:\n```{fence}\n{entry}(1)\n```",
        "helpers first": f"```{fence}\n{HELPERS[lang]}{whole}```",
        "unclosed": f"```{fence}\n{whole}",
    }


@pytest.fixture(scope="module")
def problems():
    return load_problems(HUMANEVAL_X, languages=list(LANGS), tasks=TASKS)


def test_entry_names(problems):
    names = {p.task_id: entry_name(p) for p in problems if p.number == 2}
    assert names == {"Python/2": "truncate_number", "CPP/2": "truncate_number", "Java/2": "truncateNumber",
                     "JavaScript/2": "truncateNumber", "Go/2": "TruncateNumber", "Rust/2": "truncate_number"}
    assert all(entry_name(p) for p in load_problems(HUMANEVAL_X, languages=list(LANGS)))  # every problem


def test_extract_code_picks_the_block_with_the_function():
    reply = "Sure.\n```python\nprint(1)\n```\nand\n```python\ndef f(x):\n    return x\n```\nDone."
    assert extract_code(reply, "f") == "def f(x):\n    return x"
    assert extract_code("no fences\n    return 1\n", "f") == "no fences\n    return 1"
    assert extract_code("```go\nfunc F() {\n", "F") == "func F() {"  # unclosed: to the end
    assert find_chat_stop("```python\n    return 1\n```\nmore") == len("```python\n    return 1\n```")
    assert find_chat_stop("```python\n    x = '```'\n") is None  # not a fence line


def test_python_helpers_move_into_the_function(problems):
    problem = next(p for p in problems if p.task_id == "Python/2")
    code = "import math\n\ndef helper(x):\n    return x % 1.0\n\n" + problem.prompt + "    return helper(number)\n" \
           + "\nprint(truncate_number(3.5))\nassert truncate_number(1.0) == 0\n"
    completion = reconcile(problem, code)
    assert all(line.startswith("    ") or not line for line in completion.splitlines())  # nothing at column 0
    assert "print(" not in completion and "assert" not in completion and '"""' not in completion
    namespace: dict = {}
    exec(problem.prompt + completion, namespace)  # noqa: S102 - our own text
    assert namespace["truncate_number"](3.5) == 0.5


def test_default_prompt_style(random_model):
    class Templated:
        chat_template = "{{ messages }}"

    class Plain:
        chat_template = None

    assert resolve_prompt_style(None, tokenizer=Templated(), model="org/x") == "chat"
    assert resolve_prompt_style(None, tokenizer=Plain(), model="org/x") == "completion"
    assert resolve_prompt_style(None, tokenizer=Templated(), model=random_model) == "completion"  # trained here
    assert resolve_prompt_style(None, backend="openai") == "chat"
    with pytest.raises(Exception, match="no chat template"):
        resolve_prompt_style("chat", tokenizer=Plain(), model="org/x")
    assert "```cpp" in instruction("cpp", "int f(){")


@pytest.mark.slow
def test_every_reply_shape_passes_in_every_language(problems, tmp_path, monkeypatch):
    """Every (language, problem, shape) completion, assembled by the real scorer and run: all pass."""
    from codegen_cli.config import from_mapping
    from codegen_cli.evaluate.config import ScoringConfig
    from codegen_cli.evaluate.scoring import score

    monkeypatch.setenv("CODEGEN_ALLOW_CODE_EXECUTION", "1")
    rows, shapes = [], []
    for problem in problems:
        for index, (shape, reply) in enumerate(replies(problem).items()):
            code = extract_code(reply, entry_name(problem))
            rows.append({"task_id": problem.task_id, "completion": reconcile(problem, code)})
            shapes.append((problem.task_id, index, shape))
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = from_mapping(ScoringConfig, {"samples": samples, "output": tmp_path / "out", "k": [1],
                                       "languages": list(LANGS), "tasks": TASKS})
    summary = score(cfg)
    results = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    failed = [(r["task_id"], r["sample_idx"], r["status"]) for r in results if r["status"] != "passed"]
    named = {(t, i): s for t, i, s in shapes}
    assert not failed, [(t, named[(t, i)], status) for t, i, status in failed]
    assert summary.samples == len(rows)
    assert problem_text  # imported for the shapes' docs


def test_cut_off_replies_still_give_a_body(problems):
    """Replies cut by max-new-tokens: a Python reply that does not parse keeps the lines after its `def`;
    an unclosed C++ function is closed; a second definition of the target is dropped."""
    py = next(p for p in problems if p.task_id == "Python/2")
    cut = 'def truncate_number(number: float) -> float:\n    """Doc."""\n    return number % 1.0\n    x = ('
    assert reconcile(py, cut).startswith("    return number % 1.0\n")
    cpp = next(p for p in problems if p.task_id == "CPP/2")
    unclosed = "float truncate_number(float number){\n    if (number > 0) {\n        return 1;\n    }\n    return 0"
    assert reconcile(cpp, unclosed).rstrip().endswith("return 0\n}")
    twice = "float truncate_number(float number){\n    return 1;\n}\nfloat truncate_number(float number){\n}\n"
    assert reconcile(cpp, twice).count("truncate_number") == 0
