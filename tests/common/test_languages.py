"""The shared language table: detection, `.h` by content, CodeGeeX tags."""

import pytest

from codegen_cli import languages as L


def test_codegeex_23_languages_present():
    for name in ("C++", "Python", "Java", "JavaScript", "C", "Go", "HTML", "Shell", "PHP", "CSS", "TypeScript",
                 "Rust", "Ruby", "C#", "Kotlin", "Scala", "Swift", "Lua", "SQL", "Objective-C", "R", "Perl",
                 "Fortran"):
        assert name in L.BY_NAME


@pytest.mark.parametrize("path,content,expected", [
    ("src/a.py", None, "Python"), ("x/Y.java", None, "Java"), ("m.rs", None, "Rust"),
    ("CMakeLists.txt", None, "CMake"), ("dir/Makefile", None, "Makefile"), ("README", None, None),
    ("a.h", "int f(void);", "C"), ("a.h", "namespace x { class A {}; }", "C++"),
    ("a.h", "@interface Foo : NSObject\n@end", "Objective-C"), ("A.PY", None, "Python"),
])
def test_detect(path, content, expected):
    assert L.detect_language(path, content) == expected


def test_tags_match_codegeex():
    assert L.language_tag("python") == "# language: Python"
    assert L.language_tag("cpp") == "// language: C++"
    assert L.language_tag("HTML") == "<!--language: HTML-->"
    assert L.with_tag("x = 1\n", "Python") == "# language: Python\nx = 1\n"
    assert L.with_tag("x", "js", "token") == "<|lang:JavaScript|>x"
    assert L.parse_language_list("py, Go") == ["Python", "Go"]
    with pytest.raises(KeyError):
        L.parse_language_list("klingon")


@pytest.mark.parametrize("alias,key", [("py", "python"), ("golang", "go"), ("rs", "rust"), ("node", "js"),
                                       ("C++", "cpp"), ("JavaScript", "js"), ("CPP", "cpp")])
def test_every_stage_reads_the_same_aliases(alias, key):
    """One table: an alias collect accepts is one eval accepts (it was rejected by eval with exit 2)."""
    from codegen_cli.evaluate.config import ScoringConfig

    assert L.language_key(alias) == key
    assert L.resolve(alias).name == L.HUMANEVAL_X_KEYS[key]
    assert L.parse_language_list(alias) == [L.HUMANEVAL_X_KEYS[key]]
    assert ScoringConfig(languages=[alias]).languages == [key]


def test_non_eval_language_is_a_usage_error_naming_the_keys():
    from codegen_cli.errors import UsageError

    with pytest.raises(UsageError, match="python, cpp, java, js, go, rust"):
        L.language_key("kotlin")


def test_block_styles_come_from_the_table():
    from codegen_cli.generation.stopping import rule_family

    assert rule_family("py") == "python" and rule_family("golang") == "brace" and rule_family("SQL") == "none"
