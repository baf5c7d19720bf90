"""The static check that gives status `tampered`: sample source that reaches for the harness instead of
solving the problem.

In C++, Java, JavaScript, Go and Rust the tests run in the sample's own process, so whatever proof the
harness prints could in principle be imitated by code in that process. The harness's proof is a secret the
program reads from stdin before any sample code runs (docs/sandbox.md); this check refuses, before
anything is compiled, the ways a sample could get at that secret or switch the tests off:
- naming the harness (`codegen...` identifiers), or redefining a name the test uses (a macro, class,
  function or variable the test calls, e.g. `#define assert`, a Java class `Arrays`, JS `console.assert = `);
- reading stdin, its own program/binary (`/proc/self`, `__FILE__`, `__filename`, resources), or editing
  its arguments (`os.Args`, `process.argv`);
- hooks that run outside the tests (exit/shutdown hooks, signal handlers, constructors before main, heap
  dumps and debuggers), and `unsafe`/`eval`-style escapes from the language's scoping.
Honest HumanEval-X solutions do none of this; `tampered` counts as not passed and the row says why.
Python needs no such check: its tests run in a separate trusted process (languages/python.py).
"""

from __future__ import annotations

import re

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_C_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_PY_COMMENTS = re.compile(r"#[^\n]*")

# (pattern, reason) per language; patterns are searched in the sample with comments removed.
RULES: dict[str, list[tuple[str, str]]] = {
    "python": [
        (r"\b_codegen\w*|__closure__|\bgc\b\s*\.|\bimport\s+gc\b|_getframe|\binspect\b|f_globals|f_back|"
         r"\bctypes\b", "reaches for the harness or other frames"),
        (r"\batexit\b|\bsys\s*\.\s*(excepthook|exit_func|stdin|argv|flags|settrace|setprofile|"
         r"addaudithook)|\bsignal\s*\.\s*signal\b|\bbuiltins\b|__builtins__|\bos\s*\.\s*(exec\w*|spawn\w*|"
         r"fork|system|popen|dup2?)\b|\bsubprocess\b|__file__|\b__import__\b",
         "registers hooks, re-runs itself, reads its own program/stdin or rewires builtins"),
    ],
    "cpp": [
        (r"\bcodegen\w*", "names the harness"),
        (r"__attribute__\s*\(\(\s*(constructor|destructor)", "runs code before main or after the tests"),
        (r"\b(atexit|at_quick_exit|set_terminate|signal|sigaction|on_exit)\s*\(", "registers an exit/signal hook"),
        (r"/proc/self|__FILE__|\bargv\b|\bstdin\b|\bcin\b|\bstd::cin\b|\bgetchar\b|\bscanf\b|\bread\s*\(\s*0",
         "reads its own program, its arguments or stdin"),
        (r"\bfreopen\b|\bdup2\b|\bsyscall\b|\basm\b|__asm__", "reaches below the language"),
        (r"#\s*define\s+main\b", "redefines the harness's macros"),
        (r"\boperator\s*(==|!=)", "redefines the comparison the test uses"),
    ],
    "java": [
        (r"\bcodegen\w*|\bCodegen\w*", "names the harness"),
        (r"addShutdownHook|setDefaultUncaughtExceptionHandler|\bSystem\.in\b|\bSystem\.setIn\b",
         "registers a hook or reads stdin"),
        (r"getDeclared(Field|Method)|setAccessible|\bjava\.lang\.reflect\b|\bUnsafe\b|MethodHandles",
         "reaches into other classes by reflection"),
        (r"/proc/self|getResource|getProtectionDomain|getCodeSource|ProcessHandle", "reads its own program"),
    ],
    "js": [
        (r"\bcodegen\w*|\b__codegen\w*", "names the harness"),
        (r"\bprocess\s*\.\s*(on|once|addListener|prependListener|argv|stdin|binding|_getActiveHandles)\b"
         r"|\bprocess\s*\[", "registers a process hook or reads its arguments/stdin"),
        (r"\b(eval|Function)\s*\(|new\s+Function\b|\bvm\b\s*\.|require\s*\(\s*['\"](vm|v8|inspector|worker_threads|"
         r"child_process|fs|module)['\"]|\bglobalThis\b|\bglobal\s*\.|Object\.(defineProperty|setPrototypeOf|"
         r"assign)\s*\(\s*(console|JSON|Math|Object|Array|globalThis)", "escapes its scope or rewires globals"),
        (r"__filename|__dirname|readFileSync", "reads its own program"),
        (r"\b(console|JSON|Math|Array|Object|Number|String)\s*\.\s*\w+\s*=(?!=)"
         r"|\b(console|JSON|Math)\s*=(?!=)|\.prototype\s*\.\s*\w+\s*=(?!=)",
         "rewrites a builtin the test uses"),
    ],
    "go": [
        (r"\bcodegen\w*", "names the harness"),
        (r"\bos\.Args\b|\bflag\.|\bos\.Stdin\b|\bbufio\.NewReader\(\s*os\.Stdin|\bsyscall\.|\bunsafe\.|"
         r"\bos\.Executable\b|/proc/self|\bruntime\.Caller|\bos\.Getenv\b|\bTestMain\b|\bsignal\.Notify",
         "edits its arguments, reads stdin/its program, or reaches below the language"),
    ],
    "rust": [
        (r"\bcodegen\w*", "names the harness"),
        (r"\bunsafe\b|#\s*\[\s*(link_section|no_mangle|export_name|used)|global_asm!|\basm!|\bextern\s+\"C\"",
         "reaches below the language or runs code outside main"),
        (r"\bstdin\s*\(|std::env::args|\bargs_os\b|current_exe|/proc/self|file!\s*\(\s*\)",
         "reads stdin, its arguments or its own program"),
    ],
}


def _plain(code: str) -> str:
    return _C_COMMENTS.sub(" ", code)


def test_names(language: str, test: str) -> set[str]:
    """Identifiers the (trusted) test uses that a sample must not redefine: everything but keywords,
    primitive types and the problem's own function (the sample is meant to define that one)."""
    names = set(_IDENT.findall(_plain(test)))
    return {n for n in names if len(n) > 1}


def _redefinitions(language: str, sample: str, reserved: set[str]) -> list[str]:
    """Names of `reserved` that the sample defines (macros, classes, functions, variables, macro_rules)."""
    patterns = {
        "cpp": [r"#\s*define\s+(\w+)"],
        "java": [r"\b(?:class|interface|enum|record)\s+(\w+)"],
        "js": [r"^(?:function|class|var|let|const)\s+(\w+)"],
        "go": [r"\btype\s+(\w+)", r"^func\s+(\w+)", r"^var\s+(\w+)"],
        "rust": [r"macro_rules!\s*(\w+)"],
    }[language]
    found: list[str] = []
    for pattern in patterns:
        for name in re.findall(pattern, sample, re.MULTILINE):
            if name in reserved and name not in found:
                found.append(name)
    return found


def check(language: str, sample: str, test: str, allowed: set[str] = frozenset()) -> str | None:
    """Why `sample` (the completion) is tampering with the harness, or None. `allowed`: names the sample
    may define although the test uses them (the function under test and the prompt's own names)."""
    rules = RULES.get(language)
    if rules is None:
        return None
    plain = _PY_COMMENTS.sub(" ", sample) if language == "python" else _plain(sample)
    for pattern, reason in rules:
        if reason is None:
            continue
        match = re.search(pattern, plain, re.MULTILINE)
        if match:
            return f"{reason}: `{match.group(0).strip()[:60]}`"
    reserved = test_names(language, test) - set(allowed)
    if language == "rust":
        reserved |= {"assert", "assert_eq", "assert_ne", "panic", "println", "print"}
    if language == "cpp":
        reserved |= {"assert", "main", "NDEBUG", "exit", "abort", "puts", "fputs", "printf"}
    redefined = _redefinitions(language, plain, reserved) if language != "python" else []
    if redefined:
        return f"redefines {', '.join(redefined[:5])}, used by the test harness"
    return None
