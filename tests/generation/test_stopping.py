"""The per-language stop/cut rules on hand-written strings, and on every HumanEval-X canonical solution."""

from __future__ import annotations

import pytest

from codegen_cli.evaluate.problems import load_problems
from codegen_cli.generation.prompts import problem_text
from codegen_cli.generation.stopping import (
    ScanState,
    cut_completion,
    find_stop,
    held_back,
    prompt_state,
    rule_family,
)

PY_PROMPT = 'def add(a, b):\n    """Add."""\n'


@pytest.mark.parametrize("after", ["def g():\n    pass\n", "class A:\n", "if __name__ == '__main__':\n",
                                   "print(add(1, 2))\n", "# tests\n", "assert add(1, 2) == 3\n", "```\n",
                                   "@decorator\n"])
def test_python_stops_at_any_new_top_level_line(after):
    body = "    x = a + b\n\n    return x\n"
    assert cut_completion(body + after, "python", PY_PROMPT) == (body.rstrip("\n"), True)


def test_python_keeps_indented_lines_blank_lines_and_open_endings():
    text = "    if a:\n        return b\n\n    return a\n  \n"
    assert cut_completion(text, "python") == (text, False)
    assert find_stop("    return a", "Python") is None
    assert find_stop("def helper():\n    return 1\nprint(1)", "py") == len("def helper():\n    return 1")


def test_python_tab_indentation_is_indentation():
    assert find_stop("\treturn a\n\treturn b", "python") is None


@pytest.mark.parametrize("language", ["cpp", "js", "go", "rust", "C", "TypeScript"])
def test_brace_languages_stop_when_the_function_closes(language):
    body = "    if (a) {\n        return b;\n    }\n    return a;\n}"
    assert cut_completion(body + "\n\nint main() {\n}\n", language) == (body, True)


def test_java_closes_the_method_and_the_class():
    prompt = "class Solution {\n    public int f(int a) {\n"
    assert prompt_state(prompt, "java").depth == 2
    body = "        return a;\n    }\n"
    text = body + "}\npublic class Main {\n}\n"
    assert cut_completion(text, "java", prompt) == (body + "}", True)
    assert find_stop(body, "java", prompt_state(prompt, "java")) is None


@pytest.mark.parametrize("language,noise", [
    ("cpp", '    string s = "}}}"; // } }\n    /* } */ char c = \'}\';\n'),
    ("java", '        String s = "a}b\\"}"; // }\n        char c = \'\\\'\'; char d = \'}\';\n'),
    ("js", "  const s = '}' + \"}\" + `}${x}`; // }\n  /* }\n } */\n"),
    ("go", "    s := `}\\` + \"}\" // }\n    r := '}'\n"),
    ("rust", "    let s = \"}\"; let c = '}'; // }\n    fn f<'a>(x: &'a str) -> &'a str { x }\n"),
])
def test_braces_in_strings_comments_and_chars_do_not_count(language, noise):
    prompt = "class Solution {\n    int f() {\n" if language == "java" else "int f() {\n"
    close = "    }\n}" if language == "java" else "}"
    text = noise + "    return 1;\n" + close + "\nafter();\n}\n"
    assert cut_completion(text, language, prompt) == (noise + "    return 1;\n" + close, True)


def test_a_prompt_that_opens_nothing_stops_after_the_first_complete_item():
    prompt = "// add two numbers\n"
    assert prompt_state(prompt, "cpp") == ScanState()
    text = "int add(int a, int b) {\n    return a + b;\n}\nint main() {}"
    assert cut_completion(text, "cpp", prompt) == ("int add(int a, int b) {\n    return a + b;\n}", True)


def test_unfinished_function_has_no_stop_and_other_languages_have_no_rule():
    assert find_stop("    if (x) {\n        return 1;\n    }\n", "cpp") is None
    assert rule_family("Shell") == "none" and rule_family("klingon") == "none"
    assert cut_completion("echo hi\n}\n", "Shell") == ("echo hi\n}\n", False)


def test_streaming_holds_back_only_what_a_later_token_can_cut():
    assert held_back("    x = 1\n", "python") == 1
    assert held_back("    x = 1\n    ", "python") == 5
    assert held_back("    x = 1\n    y", "python") == 0
    assert held_back("    x;\n", "cpp") == 0


def test_every_canonical_solution_is_kept_whole(humaneval_x_dir):
    """Appending junk after each canonical solution: the cut returns the solution (known exceptions aside).

    The exceptions define a helper after the target function (Go/72, six Rust tasks) or carry test code
    in the solution (CPP/94): CodeGeeX's brace count cuts them the same way.
    """
    expected_cut = {"CPP/94", "Go/72", "Rust/10", "Rust/32", "Rust/38", "Rust/50", "Rust/137", "Rust/145"}
    for problem in load_problems(humaneval_x_dir):
        prompt = problem_text(problem)
        junk = "\nprint('junk')\n" if problem.language == "python" else "\nint junk() {\n}\n"
        cut, stopped = cut_completion(problem.canonical_solution + junk, problem.language, prompt)
        assert stopped, problem.task_id
        if problem.task_id not in expected_cut:
            assert cut.rstrip() == problem.canonical_solution.rstrip(), problem.task_id
        depth = prompt_state(prompt, problem.language).depth
        assert depth == (2 if problem.language == "java" else 0 if problem.language == "python" else 1)
