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


# A wrong first attempt in every language: it fails every test if it were the one scored.
DRAFT_BODIES = {"python": '    raise RuntimeError("draft")\n', "cpp": "    throw 1;\n}\n",
                "java": '        throw new RuntimeException("draft");\n    }\n}\n',
                "js": '  throw new Error("draft");\n}\n', "go": '    panic("draft")\n}\n',
                "rust": '    panic!("draft")\n}\n'}
# A call of the function in a block of its own, as replies restate the example before the code.
CALLS = {"python": "print({entry}([]))", "cpp": "cout << {entry}({{}}) << endl;",
         "java": "System.out.println(new Solution().{entry}(null));", "js": "console.log({entry}([]));",
         "go": "fmt.Println({entry}(nil))", "rust": 'println!("{{:?}}", {entry}(&vec![]));'}
# Usage and test lines after the function (the Python ones rebind the first parameter: moved into the
# function they would overwrite the argument, the old reading's fault).
USAGE = {"python": "\n{param} = None\nprint({entry}({param}))\nassert {entry}({param}) is not None\n",
         "cpp": "\ncout << {entry}({{}}) << endl;\nassert({entry}({{}}) == {entry}({{}}));\n",
         "java": "\nSystem.out.println(new Solution().{entry}(null));\n",
         "js": "\nconst result = {entry}(null);\nconsole.log(result);\n{entry}(null);\n",
         "go": "\nfmt.Println({entry}(nil))\nresult := {entry}(nil)\n",
         "rust": '\nprintln!("{{:?}}", {entry}());\nassert_eq!({entry}(), {entry}());\nlet x = {entry}();\n'}


def _draft(problem) -> str:
    head = problem.prompt if problem.language == "python" else problem.declaration
    return head + DRAFT_BODIES[problem.language]


def _first_parameter(problem) -> str:
    import ast

    tree = ast.parse(problem.prompt + "    pass\n")
    function = [n for n in tree.body if isinstance(n, ast.FunctionDef)][-1]
    return function.args.args[0].arg


def _function(problem) -> str:
    """The whole target function as a reply repeats it (with the prompt's own imports)."""
    if problem.language == "python":
        return problem.prompt + problem.canonical_solution
    if problem.language == "rust":
        return problem.declaration + problem.canonical_solution
    return problem.declaration + problem.canonical_solution


def replies(problem) -> dict[str, str]:
    lang, entry = problem.language, entry_name(problem)
    param = _first_parameter(problem) if lang == "python" else ""
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
        # reasoning is never the answer (DeepSeek-R1/Qwen3 `<think>`; evalplus #297)
        "reasoning": f"<think>\nA first try:\n```{fence}\n{_draft(problem)}```\nNo, that fails.\n</think>\n"
                     f"```{fence}\n{whole}```",
        "reasoning, template-opened": f"A first try:\n```{fence}\n{_draft(problem)}```\n</think>\n```{fence}\n{whole}```",
        # the last complete definition wins (LiveCodeBench's rule)
        "self-correction": f"```{fence}\n{_draft(problem)}```\nWait, that is wrong. Fixed:\n```{fence}\n{whole}```",
        "corrected in one block": f"```{fence}\n{_draft(problem)}\n{whole}```",
        "cut-off second try": f"```{fence}\n{whole}```\nOr shorter:\n```{fence}\n{_draft(problem)[:-12]}",
        "call block first": f"For example:\n```{fence}\n{CALLS[lang].format(entry=entry)}\n```\n```{fence}\n{whole}```",
        # usage lines after the function are dropped, never moved into it
        "usage after": f"```{fence}\n{whole}{USAGE[lang].format(entry=entry, param=param)}```",
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
    from tests.conftest import require_toolchains

    require_toolchains(*LANGS)
    monkeypatch.setenv("CODEGEN_ALLOW_CODE_EXECUTION", "1")
    rows, shapes = [], []
    for problem in problems:
        for index, (shape, reply) in enumerate(replies(problem).items()):
            code = extract_code(reply, entry_name(problem), problem.language)
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


JAVA_STREAMS = {  # replies that need an import the prompt lacks (java.util.stream), scored for real
    "Java/28": "import java.util.*;\nimport java.util.stream.*;\n\nclass Solution {\n"
               "    public String concatenate(List<String> strings) {\n"
               "        return strings.stream().collect(Collectors.joining());\n    }\n}\n",
    "Java/34": "import java.util.stream.Collectors;\n\nclass Solution {\n"
               "    public List<Integer> unique(List<Integer> l) {\n"
               "        return l.stream().distinct().sorted().collect(Collectors.toList());\n    }\n}\n",
}


CPP_INCLUDES = {  # replies that need a header the scorer does not add (<numeric>, <set>)
    "CPP/28": "#include <numeric>\n#include <string>\n#include <vector>\nusing namespace std;\n"
              "string concatenate(vector<string> strings){\n"
              "    return accumulate(strings.begin(), strings.end(), string(\"\"));\n}\n",
    "CPP/34": "#include <set>\n#include <vector>\nusing namespace std;\nvector<int> unique(vector<int> l){\n"
              "    set<int> s(l.begin(), l.end());\n    return vector<int>(s.begin(), s.end());\n}\n",
}


def test_java_imports_are_kept_and_moved_to_the_top():
    from codegen_cli.evaluate.languages.java import hoist_imports

    java = {p.task_id: p for p in load_problems(HUMANEVAL_X, languages=["java"], tasks=["28", "34"])}
    completion = reconcile(java["Java/28"], extract_code(f"```java\n{JAVA_STREAMS['Java/28']}```", "concatenate",
                                                         "java"))
    assert completion.startswith("import java.util.stream.*;\n")  # java.util.* is the prompt's own: not repeated
    imports, rest = hoist_imports(completion + "/*\nimport a.b;\n*/\n")
    assert imports == "import java.util.stream.*;\n" and "import a.b;" in rest  # a comment's line stays


@pytest.mark.slow
def test_imports_a_reply_needs_compile(tmp_path):
    """Java/28 and /34 written with Collectors (java.util.stream), C++/28 and /34 with std::accumulate
    (<numeric>) and std::set (<set>): all pass (the Java import was dropped, the C++ include came after the
    function that needs it)."""
    from tests.evaluate.conftest import require_toolchains, score_completions

    require_toolchains("java", "cpp")
    chosen = load_problems(HUMANEVAL_X, languages=["java", "cpp"], tasks=["28", "34"])
    replies = {**JAVA_STREAMS, **CPP_INCLUDES}
    completions = [reconcile(p, extract_code(f"```{p.language}\n{replies[p.task_id]}```", entry_name(p),
                                             p.language)) for p in chosen]
    outcomes = score_completions(chosen, completions)
    assert [o.status for o in outcomes] == ["passed"] * 4, [(p.task_id, o.status, o.reason)
                                                            for p, o in zip(chosen, outcomes)]


def test_python_usage_lines_never_enter_the_function(problems):
    """`n = 15` / `print(f(n))` after the function (the case the issue measured) and a constant the
    function reads before it."""
    py = next(p for p in problems if p.task_id == "Python/2")
    reply = ("```python\nSHIFT = 0.0\n\ndef truncate_number(number: float) -> float:\n    return number % 1.0 + SHIFT\n"
             "\n\nnumber = 15\nprint(truncate_number(number))\nresult = truncate_number(2.5)\n```")
    completion = reconcile(py, extract_code(reply, "truncate_number", "python"))
    assert "number = 15" not in completion and "result" not in completion and "SHIFT = 0.0" in completion
    namespace: dict = {}
    exec(py.prompt + completion, namespace)  # noqa: S102 - our own text
    assert namespace["truncate_number"](3.5) == 0.5


def test_reasoning_is_never_the_answer():
    from codegen_cli.generation.chat import strip_reasoning

    assert strip_reasoning("<think>```python\ndef f(): 1\n```</think>\nanswer") == "\nanswer"
    assert strip_reasoning("drafting ... </think>answer") == "answer"  # the template opened the block
    assert strip_reasoning("answer<think>cut off by max-tokens") == "answer"
    assert extract_code("<think>\n```python\ndef f(x):\n    return 0\n```\n</think>\nno code after", "f",
                        "python") == "no code after"
