"""Program assembly rules per language (no toolchain needed): imports, harness, test counts, hashes."""

from __future__ import annotations

import dataclasses
import re

import pytest

from codegen_cli.evaluate.executor import chunks
from codegen_cli.evaluate.languages import get_language
from codegen_cli.evaluate.languages.base import PLACEHOLDER, new_harness_name
from codegen_cli.evaluate.problems import load_problems

from .conftest import HUMANEVAL_X


@pytest.fixture(scope="module")
def problems():
    return {p.task_id: p for p in load_problems(HUMANEVAL_X, tasks=["0", "2", "32", "65", "158"])}


def _imports(source: str) -> list[str]:
    block = re.search(r"import \((.*?)\)", source, re.DOTALL).group(1)
    return re.findall(r'^\s*"([^"]+)"', block, re.MULTILINE)  # unaliased: the harness's own are aliased


def _aliased(source: str) -> str:
    return re.search(r"import \((.*?)\)", source, re.DOTALL).group(1)


def test_go_imports_are_rebuilt_from_use(problems):
    go = get_language("go")
    go65 = problems["Go/65"]
    source = go.assemble(go65, go65.canonical_solution).source
    assert "strconv" in _imports(source)  # Go/65's prompt lacks the import block its solution needs
    plain_test = "func TestX(t *testing.T) {\n    assert.Equal(t, 0.5, TruncateNumber(3.5))\n}\n"
    unused = go.assemble(dataclasses.replace(problems["Go/2"], test=plain_test), "    return 0.5\n}\n").source
    assert "math" not in _imports(unused)  # math imported by the prompt but unused: Go would refuse it
    assert {"testing", "github.com/stretchr/testify/assert"} <= set(_imports(unused))
    assert source.count("import (") == 1 and "func TestMain(m *testing.M)" in source
    assert f'{PLACEHOLDER}os "os"' in _aliased(source)


def test_go_ignores_package_names_in_comments_and_strings(problems):
    go158 = problems["Go/158"]
    source = (
        get_language("go").assemble(go158, '    // list of strings. here\n    return "strings."\n}\n').source
    )
    assert "strings" not in _imports(source)


def test_cpp_helper_includes_and_harness(problems):
    cpp0 = problems["CPP/0"]
    source = get_language("cpp").assemble(cpp0, cpp0.canonical_solution + "#define X 1\n").source
    assert source.count("#include<stdio.h>") == 1  # already in the prompt: not added again
    assert "#include<algorithm>" in source and f"#define main {PLACEHOLDER}_tests" in source
    assert source.index("#define main") > source.index(cpp0.canonical_solution)
    # the verdict routine is defined before any sample code (no sample macro reaches it) and reads fd 0 itself;
    # main calls it only after the test's main returned
    routine = source.index(f"static void {PLACEHOLDER}()")
    assert routine < source.index(cpp0.prompt) and "::read(0" in source[routine:source.index(cpp0.prompt)]
    main = source.split("#undef main", 1)[1]
    assert main.index(f"{PLACEHOLDER}_tests();") < main.index(f"{PLACEHOLDER}();")
    assert "CODEGEN-TESTS-DONE" not in source and "codegen" not in source.lower().replace(PLACEHOLDER.lower(), "")
    # every macro the sample defined is undone before the test; the test's assert is the harness's own
    assert "#undef X\n" in source and "#undef assert\n" in source and "#include<assert.h>" not in main
    assert f"{PLACEHOLDER}_fail(#e)" in source and "__builtin_trap()" in source
    hostile = get_language("cpp").assemble(cpp0, "#define has_close_elements(a, b) true\n" + cpp0.canonical_solution)
    assert "#undef has_close_elements" in hostile.source  # a sample macro over a name the test uses is undone


def test_java_harness_calls_main_then_the_verdict_routine(problems):
    java0 = problems["Java/0"]
    program = get_language("java").assemble(java0, java0.canonical_solution)
    runner = program.source.split("class CodegenRunner", 1)[1]
    assert runner.index("Main.main(args);") < runner.index(f"{PLACEHOLDER}();")
    assert "java.io.FileDescriptor.in" in runner and "System.in" not in runner
    assert get_language("java")._source(program, "hX").startswith(f"package {program.name};\n")
    assert "java.util.Arrays.asList(" in program.source and "java.lang.AssertionError()" in program.source
    assert '"java.util.Arrays"' not in program.source  # string literals are left alone


def test_go_records_each_dataset_test(problems):
    go0 = problems["Go/0"]
    program = get_language("go").assemble(go0, go0.canonical_solution)
    assert program.meta["tests"] == ["TestHasCloseElements"]
    assert f'defer {PLACEHOLDER}record(t, "TestHasCloseElements")' in program.source
    assert f'var {PLACEHOLDER}tests = []string{{"TestHasCloseElements"}}' in program.source
    assert "m.Run()" in program.source and "NewFile(0" in program.source


def test_rust_expects_every_test_function(problems):
    rust = get_language("rust")
    assert rust.assemble(problems["Rust/0"], "").meta["tests"] == ["test_has_close_elements"]
    assert rust.assemble(problems["Rust/32"], "").meta["tests"] == []  # test module commented out
    source = rust.assemble(problems["Rust/0"], "x").source
    assert problems["Rust/0"].declaration in source and source.startswith("#![no_main]")
    assert "::core::assert_eq!(has_close_elements" in source and "#[test]" not in source.split("mod tests")[1]
    entry = source.split(f"fn {PLACEHOLDER}_main", 1)[1]
    assert entry.index("tests::test_has_close_elements()") < entry.index(f"{PLACEHOLDER}(&[")
    assert "stdin()" not in source.split(f"fn {PLACEHOLDER}(names", 1)[0]  # read only in the routine


def test_js_candidate_holds_no_test_and_the_judge_gets_the_prompts_helpers(problems):
    program = get_language("js").assemble(problems["JavaScript/0"], "  return true;\n}\n")
    candidate, job = program.meta["candidate"], program.meta["job"]
    assert "testHasCloseElements" not in candidate and "return true" in candidate
    assert job["names"] == ["hasCloseElements"] and "testHasCloseElements" in job["test"]
    assert "testHasCloseElements" in program.source  # the cache key covers the test too
    helpers = get_language("js").assemble(problems["JavaScript/32"], "").meta["job"]
    assert helpers["names"] == ["findZero"] and "const poly" in helpers["trusted"]


def test_python_candidate_holds_no_test(problems):
    program = get_language("python").assemble(problems["Python/0"], "    return True\n")
    candidate, job = program.meta["candidate"], program.meta["job"]
    assert "def check" not in candidate and "import numpy" not in candidate and "return True" in candidate
    assert job["names"] == ["has_close_elements"] and "def check" in job["test"] and job["check"] is None
    assert "def check" in program.source  # the cache key covers the test too


def test_program_hash_ignores_the_harness_name_but_not_the_code(problems):
    cpp = get_language("cpp")
    a = cpp.assemble(problems["CPP/0"], "    return true;\n}\n")
    b = cpp.assemble(problems["CPP/0"], "    return true;\n}\n")
    c = cpp.assemble(problems["CPP/0"], "    return false;\n}\n")
    assert a.sha256 == b.sha256 != c.sha256
    one, two = new_harness_name(), new_harness_name()
    assert one != two and a.text(one) != a.text(two) and PLACEHOLDER not in a.text(one)
    with pytest.raises(ValueError):
        a.text()  # a program with harness routines needs a name


def test_chunks_are_even_and_bounded():
    items = list(range(164))
    sizes = [len(c) for c in chunks(items, 64, 2)]
    assert sum(sizes) == 164 and max(sizes) <= 64 and len(sizes) % 2 == 0 and max(sizes) - min(sizes) <= 1
    assert [len(c) for c in chunks(items[:5], 1, 2)] == [1] * 5
    assert len(chunks(items, 96, 1)) == 2
    assert chunks([], 64, 2) == []
