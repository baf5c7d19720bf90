"""Wrong programs fail in every language; the canonical solution passes (real toolchains, real sandbox).

Problem 2 (truncate_number) in each language with: the canonical body, an empty completion, a wrong
constant, one that raises, one that does not compile, one that prints "passed" and exits 0 BEFORE the tests
run, and one that exits 0 from inside the tested function (sys.exit/os._exit/process.exit/System.exit/
exit/os.Exit/std::process::exit).
"""

from __future__ import annotations

import pytest

from codegen_cli.evaluate.problems import load_problems

from .conftest import ALL_LANGUAGES, require_toolchains, score_completions

COMPILED = {"cpp", "java", "go", "rust"}

WRONG = {
    "python": {
        "empty": "",
        "wrong_constant": "    return 0.5\n",
        "raises": "    raise ValueError('nope')\n",
        "does_not_compile": "    return number %% (\n",
        "fake_pass_then_exit": "    return number % 1.0\n\nprint('passed')\nimport sys\nsys.exit(0)\n",
        "exit_in_function": "    import sys\n    sys.exit(0)\n",
        "os_exit_in_function": "    import os\n    os._exit(0)\n",
    },
    "cpp": {
        "empty": "",
        "wrong_constant": "    return 0.5;\n}\n",
        "raises": "    throw 1;\n}\n",
        "does_not_compile": "    return number -;\n}\n",
        "fake_pass_then_exit": (
            '    return number-int(number);\n}\nstruct Fake { Fake() { puts("passed"); exit(0); } }'
            " fake_instance;\n"
        ),
        "exit_in_function": "    exit(0);\n}\n",
    },
    "java": {
        "empty": "",
        "wrong_constant": "        return 0.5;\n    }\n}",
        "raises": '        throw new RuntimeException("nope");\n    }\n}',
        "does_not_compile": "        return number %;\n    }\n}",
        "fake_pass_then_exit": (
            '        return number % 1.0;\n    }\n    static { System.out.println("passed"); '
            "System.exit(0); }\n}"
        ),
        "exit_in_function": "        System.exit(0);\n        return 0;\n    }\n}",
    },
    "js": {
        "empty": "",
        "wrong_constant": "  return 0.5;\n}\n",
        "raises": "  throw new Error('nope');\n}\n",
        "does_not_compile": "  return number %;\n}\n",
        "fake_pass_then_exit": "  return number % 1.0;\n}\nconsole.log('passed');\nprocess.exit(0);\n",
        "exit_in_function": "  process.exit(0);\n}\n",
    },
    "go": {
        "empty": "",
        "wrong_constant": "    return 0.5\n}\n",
        "raises": '    panic("nope")\n}\n',
        "does_not_compile": "    return number +\n}\n",
        "fake_pass_then_exit": (
            '    return math.Mod(number,1)\n}\nfunc init() { fmt.Println("PASS"); os.Exit(0) }\n'
        ),
        "exit_in_function": "    os.Exit(0)\n    return 0\n}\n",
    },
    "rust": {
        "empty": "",
        "wrong_constant": "    return 0.5;\n}\n",
        "raises": '    panic!("nope");\n}\n',
        "does_not_compile": "    return number %;\n}\n",
        "fake_pass_then_exit": (
            '    println!("test result: ok. 1 passed; 0 failed");\n    std::process::exit(0);\n}\n'
        ),
        "exit_in_function": "    std::process::exit(0);\n}\n",
    },
}


@pytest.fixture(scope="module")
def outcomes():
    """Every language's programs scored in ONE parallel run (javac and go batches included)."""
    from .conftest import HUMANEVAL_X

    languages = [lang for lang in ALL_LANGUAGES if _available(lang)]
    problems = {p.language: p for p in load_problems(HUMANEVAL_X, languages=languages, tasks=["2"])}
    cases = [(lang, "canonical", problems[lang].canonical_solution) for lang in languages]
    cases += [(lang, name, text) for lang in languages for name, text in WRONG[lang].items()]
    results = score_completions([problems[lang] for lang, _, _ in cases], [text for _, _, text in cases])
    return {(lang, name): outcome for (lang, name, _), outcome in zip(cases, results)}


def _available(language: str) -> bool:
    try:
        require_toolchains(language)
    except pytest.skip.Exception:
        return False
    return True


@pytest.mark.parametrize("language", ALL_LANGUAGES)
def test_canonical_passes(outcomes, language):
    require_toolchains(language)
    outcome = outcomes[(language, "canonical")]
    assert outcome.status == "passed", outcome


@pytest.mark.parametrize("language,case", [(lang, case) for lang in ALL_LANGUAGES for case in WRONG[lang]])
def test_wrong_program_fails(outcomes, language, case):
    require_toolchains(language)
    outcome = outcomes[(language, case)]
    assert outcome.status != "passed", outcome
    if case == "does_not_compile" and language in COMPILED:
        assert outcome.status == "compile_error", outcome
    if case in ("wrong_constant", "raises") and language in COMPILED:
        assert outcome.status == "failed", outcome
