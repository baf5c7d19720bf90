"""The static check that gives status `tampered`: sample source that reaches for the harness instead of
solving the problem (issue 11; the threat model is in docs/sandbox.md).

In C++, Java, Go and Rust the tests run in the sample's own process (Python and JavaScript have none of
this: their tests run in a trusted judge outside the sample's process, evaluate/runtime/, so no rule here
applies to them and a static check would only cost honest samples their pass). The proof that they ran is
a per-run secret that the harness reads from stdin only AFTER the tests passed, through a routine whose name
is random per build; while sample code runs before or during the tests the secret exists nowhere in the
process. What is left to a forger, and what this check refuses before anything is compiled:
- touching stdin / file descriptor 0 in any way (std::cin, read(0), /dev/stdin, /proc/self/fd, System.in,
  FileDescriptor.in, os.Stdin, fmt.Scan, std::io::stdin, process.stdin, dup, raw syscalls, inline asm), and
  the indirect ways to the same bytes: opening files, spawning a process (it inherits fd 0), calling symbols
  by name (dlsym, reflection), reading its own program;
- hooks that run after a failed test (exit/shutdown hooks, signal handlers, terminate/panic/uncaught-
  exception handlers, longjmp) and code before main (constructors, init sections);
- switching the tests off: redefining a name the test uses (a macro, class, function, `macro_rules!`,
  `console.assert =`), the assert machinery itself (`__assert_fail`), `os.Args`/`flag`, a `TestMain`;
- subverting values: comparison operators, `equals()`/`size()`/`iterator()` overrides the test's
  comparisons call;
- building identifiers the check cannot see: token pasting (`##`), digraphs, reserved `__names`.
The rules run on the sample with comments removed by a literal-aware lexer (lexing.py), so a `"//"` in a
string cannot hide the code after it. Honest HumanEval-X solutions do none of this (all 656 C++, Java, Go
and Rust canonical solutions pass the check; a test keeps it so). `tampered` counts as not passed and the
result row's `reason` names the rule and the text.
"""

from __future__ import annotations

import re

from codegen_cli.evaluate.languages.lexing import blank_literals, strip_comments

_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")

STDIN = "touches stdin (fd 0), where the harness's secret arrives"
FILES = "opens files or its own program"
PROCESS = "starts a process or calls code by name"
HOOK = "registers a hook that runs outside the tests"
BELOW = "reaches below the language"
HARNESS = "names the harness"
ARGS = "edits its arguments or the test runner's flags"
VALUES = "overrides what the test's comparisons call"
NAMES = "builds identifiers the check cannot see"
SCOPE = "escapes its scope or rewires globals"

# (pattern, reason) per language; searched in the sample with comments removed (lexing.strip_comments).
RULES: dict[str, list[tuple[str, str]]] = {
    "cpp": [
        (r"\bcodegen\w*", HARNESS),
        (
            (
                r"\b(?:std\s*::\s*)?w?cin\b|\bstdin\b|\b(?:v?f?w?scanf|getchar|getwchar|gets|getc|fgetc|fgetwc|fgets|"
                r"fgetws|fread|getdelim|ungetc)\s*\(|\b(?:read|pread\w*|readv|preadv\w*|recv\w*)\s*\(|"
                r"\b(?:dup[23]?|fcntl|ioctl|mmap\w*|sendfile\w*|splice|tee|copy_file_range|fdopen|fileno|"
                r"freopen\w*)\s*\(|\brdbuf\b|\bsync_with_stdio\b|stdio_filebuf"
            ),
            STDIN,
        ),
        (
            (
                r"\b(?:fopen|fopen64|open|open64|openat\d?|creat|opendir|readlink\w*|realpath|tmpfile\w*|mkstemp\w*|name_to_handle_at)"
                r"\s*\(|\b[io]?fstream\b|\bbasic_[io]?fstream\b|\bfilebuf\b|\bfilesystem\b|"
                r"#\s*include(?!\s*<[\w+/.-]+>)|#\s*include\s*<\s*/|#\s*include\s*<[^>]*\.\."
            ),
            FILES,
        ),
        (
            (
                r"\b(?:system|popen|fork|vfork|clone\d?|execl\w*|execv\w*|fexecve|posix_spawn\w*|ptrace|prctl|"
                r"dlopen|dlsym|dlvsym|dladdr|dlinfo|getauxval)\s*\(|\bRTLD_\w*"
            ),
            PROCESS,
        ),
        (
            (
                r"\b(?:atexit|at_quick_exit|on_exit|set_terminate|set_unexpected|signal|sigaction|sigset|bsd_signal|"
                r"sysv_signal|pthread_atfork|set_new_handler)\s*\(|\b(?:sig)?(?:set|long)jmp\b|\bjmp_buf\b"
            ),
            HOOK,
        ),
        (
            (
                r"\bsyscall\b|\basm\b|\bextern\s*\"|\b(?!__gcd\b|__lg\b|__int128\b|__builtin_(?:popcount|clz|ctz|"
                r"parity|ffs|abs|fabs|sqrt)\w*\b)__\w+|\b_[A-Z]\w*|\benviron\b|\bprogram_invocation\w*"
            ),
            BELOW,
        ),
        (r"##|%:|<%|%>|#\s*pragma\b", NAMES),
        (r"\boperator\s*(?:==|!=|<=>|<|>|<=|>=|!|bool\b|\(\s*\))", VALUES),
    ],
    "java": [
        (r"\bcodegen\w*|\bCodegen\w*", HARNESS),
        (
            (
                r"\bSystem\s*\.\s*(?:in|setIn|setOut|setErr|console|inheritedChannel|getenv|getProperty|getProperties|"
                r"load\w*|mapLibraryName)\b|\bFileDescriptor\b|\bInputStreamReader\b|\bConsole\b|"
                r"\bSystem\s*\.\s*in\b"
            ),
            STDIN,
        ),
        (r"\bjava\s*\.\s*(?:io|nio|net)\b", "uses java.io, java.nio or java.net (files, stdin, sockets)"),
        (
            (
                r"\bFile(?:InputStream|OutputStream|Reader|Writer|Channel|System|s)?\b|\bRandomAccessFile\b|"
                r"\bPaths?\b\s*\.|\bgetResource\w*|getProtectionDomain|getCodeSource"
            ),
            FILES,
        ),
        (
            (
                r"addShutdownHook|UncaughtExceptionHandler|\bfinalize\s*\(|\bCleaner\b|\bsignal\s*\.\s*Signal\b|"
                r"\bsun\s*\.\s*misc\s*\.\s*Signal"
            ),
            HOOK,
        ),
        (
            (
                r"\bProcessBuilder\b|\bRuntime\b|\bProcessHandle\b|\bClass\s*\.\s*forName\b|\bgetMethods?\s*\(|"
                r"\bgetDeclared\w+|\bgetConstructors?\b|\.invoke\w*\s*\(|setAccessible|\bjava\s*\.\s*lang\s*\.\s*"
                r"(?:reflect|invoke|instrument|management|ref|Process\w*|Runtime|ClassLoader|Thread|StackWalker)\b|"
                r"\bMethodHandles?\b|\bVarHandle\b|\bUnsafe\b|\bClassLoader\b|defineClass|\bStackWalker\b|"
                r"getStackTrace|getAllStackTraces|\bjdk\s*\.\s*internal|\bsun\s*\.\s*misc|ServiceLoader|"
                r"\bLookup\b|\bModule\b|ManagementFactory"
            ),
            PROCESS,
        ),
        (
            (
                r"\bpublic\s+(?:final\s+)?[\w<>\[\],.?\s]+\s+(?:equals|hashCode|iterator|listIterator|spliterator|"
                r"size|get|isEmpty|contains|containsAll|toArray|stream|forEach|compareTo|length|charAt|"
                r"intValue|longValue|doubleValue|floatValue|booleanValue|toString)\s*\("
            ),
            VALUES,
        ),
    ],
    "go": [
        (r"\bcodegen\w*", HARNESS),
        (
            (
                r"\bos\s*\.\s*Args\b|\bflag\s*\.|\bTestMain\b|\btesting\s*\.\s*(?:M\b|Init|MainStart|RunTests|"
                r"RunBenchmarks)"
            ),
            ARGS,
        ),
        (
            (
                r"\bos\s*\.\s*(?:Stdin|NewFile|Open\w*|ReadFile|Executable|DirFS)\b|\bfmt\s*\.\s*(?:Scan|Scanf|Scanln|"
                r"Fscan|Fscanf|Fscanln)\b|\bbufio\b|\bsyscall\b"
            ),
            STDIN,
        ),
        (r"\bos\s*\.", "uses package os (files, processes, exit, stdin)"),
        (
            (
                r"\bunsafe\b|\bruntime\s*\.|\breflect\s*\.\s*(?:NewAt|SliceHeader|StringHeader)|\.\s*(?:UnsafeAddr|"
                r"UnsafePointer)\s*\("
            ),
            BELOW,
        ),
        (r"\bsignal\s*\.\s*Notify", HOOK),
    ],
    "rust": [
        (r"\bcodegen\w*", HARNESS),
        (
            (
                r"\bstdin\b|\bStdin\w*\b|\bstd\s*::\s*io\s*::\s*Read\b|\bread_line\b|\bFromRawFd\b|\bfrom_raw_fd\b|"
                r"\bAsRawFd\b|\bRawFd\b|\bOwnedFd\b|\bBorrowedFd\b|\bos\s*::\s*(?:unix|fd|linux|raw)\b"
            ),
            STDIN,
        ),
        (
            (
                r"\bfs\s*::|\bFile\b|\bOpenOptions\b|\binclude(?:_str|_bytes)?\s*!|\bfile\s*!|\bmodule_path\s*!|"
                r"\b(?:option_)?env\s*!|\bcurrent_exe\b|\bstd\s*::\s*env\b|\benv\s*::|\bargs_os\b"
            ),
            FILES,
        ),
        (r"\bCommand\b|\bprocess\s*::\s*(?:Command|Stdio|Child)", PROCESS),
        (
            (
                r"\bunsafe\b|#\s*!?\s*\[\s*(?:link\w*|no_mangle|export_name|used|naked|no_main|no_std|"
                r"panic_handler|global_allocator|start|lang|feature)\b|\bglobal_asm\s*!|\basm\s*!|\bextern\b"
                r"(?!\s+crate\s+(?:rand|regex|md5)\s*;)|\bGlobalAlloc\b|\bstd\s*::\s*(?:ptr|mem\s*::\s*transmute|"
                r"intrinsics|arch)\b|\btransmute\b|\bptr\s*::"
            ),
            BELOW,
        ),
        (
            (
                r"\bpanic\s*::\s*(?:set_hook|take_hook|always_abort|update_hook|catch_unwind|resume_unwind)|"
                r"\bset_hook\b|\btake_hook\b|\bcatch_unwind\b|\bresume_unwind\b|\batexit\b"
            ),
            HOOK,
        ),
    ],
}
# Searched in the sample with comments removed but literals KEPT: paths that lead to fd 0 or the program's
# own files, however the code reaches them (one-letter-per-literal concatenation aside).
TEXT_RULES: dict[str, list[tuple[str, str]]] = {
    language: [(r"/dev/(?:std|fd|tty)|/proc\b", STDIN)] for language in ("cpp", "java", "go", "rust")
}
TEXT_RULES["go"].append((r"\bimport\s*\"C\"", BELOW))

# Whole-language keywords never count as "a name the test uses" that a sample redefines.
_KEYWORDS = {
    "cpp": {
        "if",
        "for",
        "while",
        "switch",
        "return",
        "sizeof",
        "catch",
        "int",
        "float",
        "double",
        "bool",
        "char",
        "long",
        "void",
        "auto",
        "const",
        "unsigned",
        "signed",
        "short",
        "else",
        "do",
        "new",
        "delete",
    },
    "java": set(),
    "go": set(),
    "rust": set(),
}


def test_names(language: str, test: str) -> set[str]:
    """Identifiers the (trusted) test uses that a sample must not redefine (one-letter names aside)."""
    names = set(_IDENT.findall(strip_comments(test, language if language in RULES else "cpp")))
    return {n for n in names if len(n) > 1} - _KEYWORDS.get(language, set())


# What a sample can define that changes a name the test uses: (pattern, deepest brace depth that counts).
# Depth counts from the completion's start, which is inside the prompt's function body (C++/JS/Go/Rust: 1,
# Java: 2, inside `class Solution`); a declaration at depth 0 is at file level, where the test sees it.
_DEFINITIONS: dict[str, list[tuple[str, int]]] = {
    "cpp": [
        (r"#\s*define\s+(\w+)", 99),
        (r"\b(\w+)\s*\([^()]*\)\s*(?:const\s*)?(?:noexcept\s*)?\{", 0),
        (r"\b(?:struct|class|union|enum|namespace)\s+(\w+)\s*[{;:]", 0),
        (r"\btypedef\b[^;]*?\b(\w+)\s*;", 0),
        (r"\busing\s+(\w+)\s*=", 0),
        (r"\b(?:int|long|bool|double|float|auto|char)\s+(\w+)\s*[=;(\[]", 0),
    ],
    "java": [(r"\b(?:class|interface|enum|record)\s+(\w+)", 99)],
    "go": [(r"\btype\s+(\w+)", 99), (r"\bfunc\s+(\w+)", 0), (r"\b(?:var|const)\s+(\w+)", 0)],
    "rust": [
        (r"macro_rules!\s*(\w+)", 99),
        (r"\b(?:fn|struct|enum|trait|type|mod|static|const|union)\s+(\w+)", 0),
    ],
}
_START_DEPTH = {"java": 2}


def _redefinitions(language: str, sample: str, reserved: set[str]) -> list[str]:
    """Names of `reserved` that the sample defines where the test can see them."""
    flat = blank_literals(sample, language)
    depth_at, depth = [], _START_DEPTH.get(language, 1)
    for ch in flat:
        depth_at.append(depth)
        depth += (ch == "{") - (ch == "}")
    found: list[str] = []
    for pattern, deepest in _DEFINITIONS[language]:
        for match in re.finditer(pattern, flat, re.MULTILINE):
            name = match.group(1)
            if name in reserved and name not in found and depth_at[match.start()] <= deepest:
                found.append(name)
    return found


_RESERVED = {
    "rust": {
        "assert",
        "assert_eq",
        "assert_ne",
        "panic",
        "println",
        "print",
        "eprintln",
        "format",
        "vec",
        "debug_assert",
        "debug_assert_eq",
        "debug_assert_ne",
        "unreachable",
        "write",
        "writeln",
        "core",
        "std",
        "tests",
    },
    "cpp": {
        "assert",
        "main",
        "NDEBUG",
        "exit",
        "abort",
        "puts",
        "fputs",
        "printf",
        "fflush",
        "write",
        "read",
        "strcspn",
        "memcmp",
        "strlen",
    },
    "java": {
        "Main",
        "Solution",
        "System",
        "String",
        "Object",
        "Throwable",
        "AssertionError",
        "Arrays",
        "List",
        "Objects",
        "Math",
        "Integer",
        "Long",
        "Double",
        "Boolean",
        "Character",
        "Map",
        "Set",
        "Optional",
        "Collections",
        "ArrayList",
        "HashMap",
        "HashSet",
        "Thread",
        "Runtime",
    },
    # Go: the harness's own names and every predeclared identifier (a package-level `const true = false` or
    # `func len(...)` would change what the test and the harness mean).
    "go": {
        "TestMain",
        "main",
        "init",
        "assert",
        "testing",
        "fmt",
        "os",
        "any",
        "append",
        "bool",
        "byte",
        "cap",
        "clear",
        "close",
        "comparable",
        "complex",
        "complex64",
        "complex128",
        "copy",
        "delete",
        "error",
        "false",
        "float32",
        "float64",
        "imag",
        "int",
        "int8",
        "int16",
        "int32",
        "int64",
        "iota",
        "len",
        "make",
        "max",
        "min",
        "new",
        "nil",
        "panic",
        "print",
        "println",
        "real",
        "recover",
        "rune",
        "string",
        "true",
        "uint",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "uintptr",
    },
}
_RESERVED["rust"] |= {
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "f32",
    "f64",
    "bool",
    "char",
    "str",
    "String",
    "Vec",
    "Option",
    "Result",
    "Some",
    "None",
    "Ok",
    "Err",
    "Box",
}


def defined_names(language: str, code: str) -> set[str]:
    """Every name `code` defines at any depth (used on the canonical solution: what a completion is meant to
    define, e.g. Rust/10's `make_palindrome`, which its prompt does not declare)."""
    if language not in _DEFINITIONS:
        return set()
    flat = blank_literals(code, language)
    return {
        m.group(1) for pattern, _ in _DEFINITIONS[language] for m in re.finditer(pattern, flat, re.MULTILINE)
    }


def allowed_names(problem) -> set[str]:
    """Names a completion may define although the test uses them: the prompt's and declaration's identifiers
    and whatever the canonical solution defines."""
    prompt = set(_IDENT.findall(problem.prompt + "\n" + problem.declaration))
    return prompt | defined_names(problem.language, problem.canonical_solution)


def check(language: str, sample: str, test: str, allowed: set[str] = frozenset()) -> str | None:
    """Why `sample` (the completion) is tampering with the harness, or None. `allowed`: names the sample
    may define although the test uses them (the function under test and the prompt's own names)."""
    rules = RULES.get(language)
    if rules is None:
        return None
    text = strip_comments(sample, language)  # comments out, literals kept
    # identifiers are searched with literal contents blanked ("cin" in a string is no attack)
    views = [(blank_literals(sample, language), rules), (text, TEXT_RULES[language])]
    if language == "go":  # directives live in comments: //go:linkname, //go:embed, cgo preambles
        directives = re.findall(r"//\s*go:(?:linkname|embed|cgo\w*|uintptrescapes)\b[^\n]*|#\s*cgo\b", sample)
        views.append((" ".join(directives) + " unsafe" * bool(directives), rules))
    for view, view_rules in views:
        for pattern, reason in view_rules:
            match = re.search(pattern, view, re.MULTILINE)
            if match:
                return f"{reason}: `{match.group(0).strip()[:60]}`"
    reserved = (test_names(language, test) | _RESERVED.get(language, set())) - set(allowed)
    redefined = _redefinitions(language, sample, reserved)
    if redefined:
        return f"redefines {', '.join(redefined[:5])}, used by the test or the harness"
    return None
