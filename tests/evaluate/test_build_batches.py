"""Issue 16's build paths: batches of compiler calls in one sandbox call (C++, Rust), Go built by the
compiler and linker directly, the C++ header's extern instantiations. Real toolchains, real sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen_cli.evaluate.languages import go_toolchain
from codegen_cli.evaluate.languages.batch import Step, script
from codegen_cli.evaluate.languages.cpp import header_text
from codegen_cli.evaluate.languages.cpp_instances import EXTERN, TIERS
from codegen_cli.evaluate.problems import load_problems
from tests.evaluate.conftest import HUMANEVAL_X, require_toolchains, score_completions


def test_go_test_names_follow_go_test():
    source = (
        "func TestA(t *testing.T) {}\nfunc Testlower(t *testing.T) {}\nfunc Test(t *testing.T) {}\n"
        "// func TestInComment(t *testing.T) {}\nvar s = `\nfunc TestInString(t *testing.T) {}\n`\n"
        "func TestMain(m *testing.M) {}\nfunc Test_x(tt * testing.T) {}\n"
    )
    assert go_toolchain.test_names(source) == ["TestA", "Test", "Test_x"]


def test_go_testmain_lists_every_test():
    text = go_toolchain.testmain(["TestA", "TestB"])
    assert '{"TestA", _test.TestA}' in text and '{"TestB", _test.TestB}' in text
    assert "_test.TestMain(m)" in text and "testdeps.TestDeps{}" in text


def test_testify_trim_drops_only_http(tmp_path: Path):
    (tmp_path / "http_assertions.go").write_text("package assert\n")
    (tmp_path / "forward.go").write_text(
        'package assert\n\nimport (\n\thttp "net/http"\n\t"net/url"\n\t"fmt"\n)\n\n'
        "// HTTPBody asserts things.\nfunc HTTPBody(h http.HandlerFunc, v url.Values) bool {\n\treturn true\n}\n\n"
        "// Equal asserts equality.\nfunc Equal(a, b int) bool {\n\treturn fmt.Sprint(a) == fmt.Sprint(b)\n}\n"
    )
    kept = go_toolchain.trimmed_sources(tmp_path, ["forward.go", "http_assertions.go"])
    assert list(kept) == ["forward.go"]
    text = kept["forward.go"]
    assert "HTTPBody" not in text and "net/http" not in text and "net/url" not in text
    assert "// Equal asserts equality.\nfunc Equal" in text and '"fmt"' in text


def test_batch_script_quotes_and_records_each_step():
    text = script([Step("p1", ["g++", "a b.cpp", "-o", "p1"]), Step("p2", ["rustc", "x;y"])])
    assert "g++ 'a b.cpp' -o p1 > p1.errors 2>&1; echo $? > p1.status" in text
    assert "rustc 'x;y' > p2.errors 2>&1; echo $? > p2.status" in text


def test_cpp_header_declares_what_the_archive_defines():
    assert all(f"extern template {e};" in header_text() for e in EXTERN)
    assert "extern template" not in header_text(())
    assert "#undef _GLIBCXX_USE_STD_SPEC_FUNCS" in header_text(())
    assert TIERS[-1] == () and set(TIERS[1]) <= set(EXTERN)


def _problem(language: str, number: int):
    return next(p for p in load_problems(HUMANEVAL_X, languages=[language]) if p.number == number)


@pytest.mark.slow
def test_go_like_go_test_main_func_and_extra_tests():
    """What `go test` accepts still builds: a completion with its own `func main` (the static check refuses
    that, so it is bypassed here: this is about the build) and its own test; an extra test that fails fails
    the sample, as under `go test`."""
    require_toolchains("go")
    problem = _problem("go", 0)
    good = problem.canonical_solution + "\nfunc main() {}\n\nfunc TestExtra(t *testing.T) {}\n"
    bad = problem.canonical_solution + '\nfunc TestExtraFails(t *testing.T) { t.Fatal("no") }\n'
    syntax = "return }}}\n"
    outcomes = score_completions([problem, problem, problem], [good, bad, syntax], static_check=False)
    assert [o.status for o in outcomes] == ["passed", "failed", "compile_error"]
    assert "syntax error" in outcomes[2].stderr


@pytest.mark.slow
def test_cpp_and_rust_batches_blame_only_the_broken_program():
    """In one batch, a program that does not compile is a compile_error with its own compiler message, and
    the others of the batch pass; C++ programs that use the extern-declared vectors and strings link."""
    require_toolchains("cpp", "rust")
    cpp, rust = _problem("cpp", 0), _problem("rust", 0)
    uses = cpp.canonical_solution + (
        "\nstd::vector<std::vector<int>> grid_of_two() { std::vector<std::vector<int>> g(2, std::vector<int>(2));"
        ' std::vector<std::string> s{"a"}; std::vector<double> d{1.0}; std::vector<long long> l{1};'
        " std::vector<char> c{'x'}; std::wstring w = L\"w\"; return g[0][0] + std::stoi(\"0\") + (int)std::stold(\"0\")"
        " + (int)std::stoull(\"0\") + (int)w.size() - 1 == 0 ? g : g; }\n")
    outcomes = score_completions(
        [cpp, cpp, rust, rust],
        [uses, "this is not C++\n", rust.canonical_solution, "fn broken( {\n"],
    )
    assert [o.status for o in outcomes] == ["passed", "compile_error", "passed", "compile_error"]
    assert "error" in outcomes[1].stderr and "error" in outcomes[3].stderr
