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
