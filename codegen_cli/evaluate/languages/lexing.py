"""Comments out, literals kept: the text the tamper check (tamper.py) searches, as the compiler would see it.

The check must never miss code that the compiler compiles, so the dangerous mistake is taking code for a
comment (a naive `//...` regex does that to `"//"; std::cin >> x;`). This lexer therefore tracks every
literal form that can hold a comment opener: C++ raw strings, char literals vs. digit separators (`1'000`),
Java text blocks and `\\uXXXX` escapes (decoded first, as javac does: `\\u000a` ends a `//` comment), Go raw
strings, Rust raw/byte strings, nested block comments and lifetimes, JavaScript templates and regex literals,
Python prefixes and triple quotes. C and C++ line splices (backslash-newline) are joined first.
JavaScript regex literals can only be told from division by a parser; the usual heuristic is used, which is why
tamper.py also searches JavaScript's raw text.
"""

from __future__ import annotations

import re

_JAVA_UNICODE = re.compile(r"(?<!\\)((?:\\\\)*)\\u+([0-9A-Fa-f]{4})")
_IDENT_CHAR = re.compile(r"[A-Za-z0-9_$]")
_CPP_RAW = re.compile(r'(?:u8|u|U|L)?R"([^ ()\\\t\n]{0,16})\(')
_RUST_RAW = re.compile(r'b?r(#*)"')
_PY_PREFIX = re.compile(r"(?i)(?:rb|br|fr|rf|r|b|u|f)?('''|\"\"\"|'|\")")
# After one of these a `/` starts a regex literal in JavaScript (else it divides).
_JS_REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^") | {""}
_JS_REGEX_WORDS = {
    "return",
    "typeof",
    "instanceof",
    "in",
    "of",
    "new",
    "delete",
    "void",
    "throw",
    "case",
    "do",
    "else",
    "yield",
    "await",
}


def decode_java_unicode(code: str) -> str:
    """Java translates `\\uXXXX` before anything else; an escaped backslash (`\\\\u`) is left alone."""
    return _JAVA_UNICODE.sub(lambda m: m.group(1) + chr(int(m.group(2), 16)), code)


def normalize(code: str, language: str) -> str:
    """The source as the compiler's lexer starts on it (splices joined, Java escapes decoded)."""
    code = code.replace("\r\n", "\n")
    if language == "cpp":
        code = re.sub(r"\\[ \t]*\n", "", code)  # GCC also joins a backslash followed by trailing blanks
    if language == "java":
        code = decode_java_unicode(code)
    return code


def tokens(code: str, language: str):
    """(start, end, kind) over `code` (already normalized): kind is "comment", "literal" or "code"."""
    i, n = 0, len(code)
    prev = ""  # last significant token (for JavaScript's regex-or-divide decision)
    while i < n:
        end, kind = _next_token(code, i, language, prev)
        if kind != "comment":
            token = code[i:end].strip()
            if token:
                prev = token if _IDENT_CHAR.match(token[-1]) and kind == "code" else token[-1]
        yield i, end, kind
        i = end


def strip_comments(code: str, language: str) -> str:
    """`code` with every comment replaced by a space (newlines inside block comments kept), literals intact."""
    code = normalize(code, language)
    return "".join(
        " " + "\n" * code.count("\n", i, j) if kind == "comment" else code[i:j]
        for i, j, kind in tokens(code, language)
    )


def blank_literals(code: str, language: str) -> str:
    """Comments removed and every literal's inside blanked (its length kept): for counting braces."""
    code = normalize(code, language)
    parts = []
    for i, j, kind in tokens(code, language):
        if kind == "comment":
            parts.append(" " + "\n" * code.count("\n", i, j))
        elif kind == "literal":
            parts.append(
                code[i] + re.sub(r"[^\n]", " ", code[i + 1 : j - 1]) + code[j - 1] if j - i > 1 else code[i:j]
            )
        else:
            parts.append(code[i:j])
    return "".join(parts)


def _next_token(code: str, i: int, language: str, prev: str) -> tuple[int, str]:
    """(end, kind) of the token at i: "comment", "literal" or "code" (one character or an identifier)."""
    c = code[i]
    if language == "python":
        if c == "#":
            return _line_end(code, i), "comment"
        if c in "\"'rRbBuUfF":
            end = _python_string(code, i)
            if end:
                return end, "literal"
    else:
        if code.startswith("//", i):
            return _line_end(code, i), "comment"
        if code.startswith("/*", i):
            return _block_comment_end(code, i, nested=language == "rust"), "comment"
        end = _c_family_literal(code, i, language, prev)
        if end:
            return end, "literal"
    if _IDENT_CHAR.match(c):
        j = i
        while j < len(code) and _IDENT_CHAR.match(code[j]):
            j += 1
        return j, "code"
    return i + 1, "code"


def _line_end(code: str, i: int) -> int:
    j = code.find("\n", i)
    return len(code) if j < 0 else j


def _block_comment_end(code: str, i: int, nested: bool) -> int:
    depth, j = 0, i
    while j < len(code):
        if code.startswith("/*", j):
            depth += 1 if nested or depth == 0 else 0
            j += 2
        elif code.startswith("*/", j):
            depth -= 1
            j += 2
            if depth <= 0:
                return j
        else:
            j += 1
    return len(code)


def _quoted_end(code: str, i: int, quote: str, multiline: bool = False) -> int:
    """End of a quoted literal starting at i (the opening quote), honouring backslash escapes."""
    j = i + len(quote)
    while j < len(code):
        if code[j] == "\\":
            j += 2
            continue
        if code.startswith(quote, j):
            return j + len(quote)
        if code[j] == "\n" and not multiline:
            return j  # unterminated: the compiler rejects it; stop at the line end
        j += 1
    return len(code)


def _c_family_literal(code: str, i: int, language: str, prev: str) -> int:
    """End of a string/char/template/regex literal starting at i, or 0."""
    c = code[i]
    before = code[i - 1] if i else ""
    if language == "cpp" and c in "uULR" and not _IDENT_CHAR.match(before):
        raw = _CPP_RAW.match(code, i)
        if raw:
            close = code.find(")" + raw.group(1) + '"', raw.end())
            return len(code) if close < 0 else close + len(raw.group(1)) + 2
    if language == "rust" and c in "br" and not _IDENT_CHAR.match(before):
        raw = _RUST_RAW.match(code, i)
        if raw:
            close = code.find('"' + raw.group(1), raw.end())
            return len(code) if close < 0 else close + 1 + len(raw.group(1))
        if code.startswith("b'", i):
            return _quoted_end(code, i + 1, "'")
    if c == '"':
        if language == "java" and code.startswith('"""', i):
            return _quoted_end(code, i, '"""', multiline=True)
        return _quoted_end(code, i, '"', multiline=language == "rust")
    if c == "`" and language in ("go", "js"):
        return _template_end(code, i) if language == "js" else _go_raw_end(code, i)
    if c == "'":
        return _quote_char(code, i, language, before)
    if c == "/" and language == "js" and not code.startswith(("//", "/*"), i) and _js_regex_here(prev):
        return _js_regex_end(code, i)
    return 0


def _quote_char(code: str, i: int, language: str, before: str) -> int:
    if language == "js":
        return _quoted_end(code, i, "'")
    if language == "cpp" and before and _IDENT_CHAR.match(before):
        start = i - 1
        while start > 0 and _IDENT_CHAR.match(code[start - 1]):
            start -= 1
        if code[start].isdigit():
            return 0  # a digit separator (1'000'000), not a char literal
    if language == "rust":
        # 'a' or '\n' or '\u{1F600}' is a char; 'a (no closing quote right after) is a lifetime or label
        char = re.match(r"'(?:\\(?:u\{[0-9A-Fa-f]{1,6}\}|x[0-9A-Fa-f]{2}|.)|[^\\'\n])'", code[i:])
        return i + char.end() if char else 0
    return _quoted_end(code, i, "'")


def _go_raw_end(code: str, i: int) -> int:
    close = code.find("`", i + 1)
    return len(code) if close < 0 else close + 1


def _template_end(code: str, i: int) -> int:
    """End of a JavaScript template literal, with `${ ... }` parts lexed as code (they may nest templates)."""
    j = i + 1
    while j < len(code):
        if code[j] == "\\":
            j += 2
        elif code[j] == "`":
            return j + 1
        elif code.startswith("${", j):
            j = _js_substitution_end(code, j + 2)
        else:
            j += 1
    return len(code)


def _js_substitution_end(code: str, j: int) -> int:
    depth, prev = 1, "("
    while j < len(code) and depth:
        end, kind = _next_token(code, j, "js", prev)
        piece = code[j:end]
        if kind == "code":
            depth += piece == "{"
            depth -= piece == "}"
            if piece.strip():
                prev = piece if _IDENT_CHAR.match(piece[-1]) else piece[-1]
        j = end
    return j


def _js_regex_here(prev: str) -> bool:
    return prev in _JS_REGEX_AFTER or prev in _JS_REGEX_WORDS


def _js_regex_end(code: str, i: int) -> int:
    j, in_class = i + 1, False
    while j < len(code) and code[j] != "\n":
        ch = code[j]
        if ch == "\\":
            j += 2
            continue
        if ch == "[":
            in_class = True
        elif ch == "]":
            in_class = False
        elif ch == "/" and not in_class:
            j += 1
            while j < len(code) and _IDENT_CHAR.match(code[j]):
                j += 1  # flags
            return j
        j += 1
    return 0  # no closing slash on this line: it was a division after all


def _python_string(code: str, i: int) -> int:
    before = code[i - 1] if i else ""
    if _IDENT_CHAR.match(before):
        return 0
    match = _PY_PREFIX.match(code, i)
    if not match:
        return 0
    quote = match.group(1)
    return _quoted_end(code, match.start(1), quote, multiline=len(quote) == 3)
