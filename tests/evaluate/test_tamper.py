"""The static tamper check and its lexer (no toolchain needed): what it refuses, what it must let through."""

from __future__ import annotations

import pytest

from codegen_cli.evaluate.languages import tamper
from codegen_cli.evaluate.languages.lexing import blank_literals, strip_comments
from codegen_cli.evaluate.problems import load_problems

from .conftest import HUMANEVAL_X


@pytest.mark.parametrize(
    "language,code,kept,dropped",
    [
        ("cpp", 'a = "//"; std::cin >> x; // note', "std::cin", "note"),
        ("cpp", "int y = 1'000; /* c */ z", "1'000", "/* c */"),
        ("cpp", 'auto s = R"x(// not a comment)x"; f(); // gone', "f();", "gone"),
        ("cpp", "ci\\\nn >> x;", "cin", ""),  # a line splice joins the identifier, as the compiler does
        ("java", "// hidden \\u000a System.in.read();", "System.in.read()", "hidden"),
        ("java", 'String t = """\n// text block\n"""; g();', "// text block", ""),
        ("go", 'x := `//` + "/*"; os.Stdin // c', "os.Stdin", "// c"),
        ("rust", 'let s = r#"//"#; /* /* nested */ still */ y', "y", "still"),
        ("rust", "fn f<'a>(x: &'a str) -> char { '/' } // c", "'/'", "// c"),
        ("js", "x = `a${ `b` /* c */ }d`; process.stdin // e", "process.stdin", "// e"),
        ("js", "let r = /[/*]/; process.stdin // */", "process.stdin", ""),
        ("python", "s = '#'; f'''#x''' # c\nz", "f'''#x'''", "# c"),
    ],
)
def test_lexer_keeps_code_and_literals(language, code, kept, dropped):
    plain = strip_comments(code, language)
    assert kept in plain
    if dropped:
        assert dropped not in plain


def test_blank_literals_keeps_lengths_for_brace_counting():
    flat = blank_literals('f("{{"); // }\n{ x }', "cpp")
    assert flat.count("{") - flat.count("}") == 0 and '"  "' in flat


def test_every_canonical_solution_passes_the_check():
    """984 honest solutions: no false alarm (the check must never cost an honest sample its pass)."""
    flagged = {}
    for problem in load_problems(HUMANEVAL_X):
        reason = tamper.check(
            problem.language, problem.canonical_solution, problem.test, tamper.allowed_names(problem)
        )
        if reason:
            flagged[problem.task_id] = reason
    assert flagged == {}


@pytest.mark.parametrize(
    "language,sample",
    [
        ("cpp", "    // read the input from stdin? no: we compute\n    return x;\n}\n"),
        ("cpp", '    string s = "cin and stdin are just words here"; return s.size();\n}\n'),
        ("cpp", "    long long big = 1'000'000; return __gcd(a, b) + __builtin_popcount(big);\n}\n"),
        (
            "java",
            (
                "        Collections.sort(list, new Comparator<Integer>() {\n"
                "            public int compare(Integer a, Integer b) { return b - a; }\n        });\n"
            ),
        ),
        ("go", '    return fmt.Sprintf("%d", x)\n}\n\nfunc helper(s string) int {\n    return len(s)\n}\n'),
        (
            "rust",
            "    let v: Vec<i32> = vec![1, 2]; v.iter().sum()\n}\n\n#[derive(Debug)]\nstruct Pair(i32, i32);\n",
        ),
        (
            "js",
            (
                "  const counts = {};\n  for (const c of s) counts[c] = (counts[c] || 0) + 1;\n"
                "  process.stdout.write('');\n  return counts;\n}\nmodule.exports = f;\n"
            ),
        ),
    ],
)
def test_honest_code_is_not_flagged(language, sample):
    assert tamper.check(language, sample, "") is None


@pytest.mark.parametrize(
    "language,sample,reason",
    [
        ("cpp", "  char b[9]; read(0, b, 9);\n}\n", tamper.STDIN),
        ("cpp", '  FILE* f = popen("cat", "r");\n}\n', tamper.PROCESS),  # a child inherits fd 0
        ("cpp", "  #define J(a, b) a##b\n  J(ci, n) >> x;\n}\n", tamper.NAMES),
        ("cpp", '}\n#include "/proc/self/fd/0"\n', tamper.FILES),
        ("cpp", '}\nextern "C" void abort() {}\n', tamper.BELOW),
        ("java", "  int c = System.in.read();\n", tamper.STDIN),
        ("java", '  Class.forName("p.X").getMethods();\n', tamper.PROCESS),
        ("go", "}\n\nfunc init() {\n    os.Args = nil\n}\n", tamper.ARGS),
        ("go", "    var s string\n    fmt.Scanln(&s)\n", tamper.STDIN),
        ("go", "}\n\n//go:linkname f runtime.x\nfunc f()\n", tamper.BELOW),
        ("rust", "    let mut s = String::new(); std::io::stdin().read_line(&mut s);\n", tamper.STDIN),
        ("rust", "    std::panic::set_hook(Box::new(|_| {}));\n", tamper.HOOK),
    ],
)
def test_attacks_are_flagged_with_their_reason(language, sample, reason):
    found = tamper.check(language, sample, "")
    assert found is not None and found.startswith(reason), found


def test_redefining_a_name_the_test_uses_counts_only_where_the_test_sees_it():
    test = "assert(abs(f(1)) < 1);"
    assert "abs" in tamper.check("cpp", "  return 1;\n}\nfloat abs(float x) { return 0; }\n", test)
    # a local variable of the same name inside the function under test changes nothing for the test
    assert tamper.check("cpp", "  int abs = 3; return abs;\n}\n", test) is None


def test_allowed_names_include_what_the_canonical_solution_defines():
    rust10 = load_problems(HUMANEVAL_X, tasks=["Rust/10"])[0]
    assert "make_palindrome" in tamper.allowed_names(rust10)
