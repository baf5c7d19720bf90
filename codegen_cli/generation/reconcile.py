"""Fit the code of a chat reply to a HumanEval-X problem: the completion that follows the prompt.

A sample is scored as prompt + completion + tests, the prompt ending inside the target function (Python:
after the docstring; the brace languages: after the opening `{`, Java inside `class Solution`). A reply
may repeat the signature and docstring, give only the body, or add imports, helper functions, a class
around the method, or a `main`. `reconcile(problem, code)` turns each of those into the completion:

- Python: the target's body with every other top-level definition or import moved INTO the function,
  indented (nested functions and imports run when the function is called, before the body needs them,
  and nothing at column 0 is left for CodeGeeX's post-processing cut); `if __name__` blocks, top-level
  calls, prints and asserts are dropped.
- C++, Java, JavaScript, Go, Rust: the target's body, the closing `}`, then the helpers. JavaScript
  hoists function declarations; Go, Rust and Java (class members) do not care about order; C++ gets a
  block-scope declaration of each helper at the top of the body, so the target can call helpers defined
  after it. A reply's `main` is dropped (the tests bring their own), Java's other members stay inside
  `class Solution` and its other classes follow it without `public`. Imports: Go's are rebuilt by the
  scorer from what the program uses; Rust's `use` works anywhere at module level; C++ `#include`s are
  placed before the helpers (the target itself only sees the prompt's and the scorer's headers); Java's
  extra imports cannot follow a class and are dropped (the prompts import java.util.* and java.lang.*).

A reply that does not parse is still turned into some completion (it then fails its tests, as it should).
"""

from __future__ import annotations

import ast
import re
import textwrap

from codegen_cli.evaluate.problems import Problem
from codegen_cli.generation.chat import defines
from codegen_cli.generation.prompts import problem_text
from codegen_cli.generation.stopping import ScanState, find_stop, scan_braces

_INDENT = "    "


def entry_name(problem: Problem) -> str | None:
    """The target function's name, read from the last line of the problem's code that declares one."""
    code = problem.declaration or problem_text(problem)
    patterns = {
        "python": r"def\s+(\w+)\s*\(",
        "js": r"(?:function\s+(\w+)|(?:const|let|var)\s+(\w+)\s*=)",
        "go": r"func\s+(?:\([^)]*\)\s*)?(\w+)\s*\(",
        "rust": r"fn\s+(\w+)",
    }
    pattern = patterns.get(problem.language, r"(\w+)\s*\([^()]*\)\s*(?:const\s*)?(?:throws[\w\s,]*)?\{?\s*$")
    found = None
    for line in code.splitlines():
        match = re.search(pattern, line)
        if match and not line.lstrip().startswith(("//", "*", "/*", "#include")):
            found = next(group for group in match.groups() if group)
    return found


def reconcile(problem: Problem, code: str) -> str:
    """The completion that makes problem prompt + completion a whole program from the reply's `code`."""
    entry = entry_name(problem)
    if problem.language == "python":
        return _python(code, entry)
    try:
        return _braces(problem, code, entry)
    except ValueError:  # no brace where one should be: the code as the body (it fails its tests)
        return _body_only(code, problem.language)


# ---------------------------------------------------------------- Python


def _python(code: str, entry: str | None) -> str:
    source = textwrap.dedent(code.expandtabs(4)).strip("\n")
    tree = _parse(source)
    if tree is None:
        source, tree = _complete_prefix(source, entry)
    if tree is None:
        return _indented(_python_text_body(source, entry))
    definitions = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                   and node.name == entry]
    if not definitions:  # the body alone (it parsed at top level, so it is a statement list)
        return _indented(source)
    target = definitions[-1]  # a reply that corrects itself: the last definition is the one it stands by
    lines = source.splitlines()
    statements = target.body
    if statements and isinstance(statements[0], ast.Expr) and isinstance(getattr(statements[0], "value", None),
                                                                         ast.Constant) \
            and isinstance(statements[0].value.value, str):
        statements = statements[1:]  # the docstring: the prompt has it
    body = "pass" if not statements else textwrap.dedent("\n".join(
        lines[statements[0].lineno - 1:target.end_lineno]))
    kept = [node for node in tree.body if node not in definitions and _keep_python(node)]
    needed = _free_names([target, *kept]) - _parameters(target)
    helpers = [_segment(lines, node) for node in kept
               if not isinstance(node, (ast.Assign, ast.AnnAssign)) or _needed_assignment(node, needed, entry)]
    return _indented("\n".join([*helpers, body]))


def _complete_prefix(source: str, entry: str | None) -> tuple[str, ast.Module | None]:
    """A reply that does not parse because its last definition of the target was cut off: the text before
    that definition, when it parses and holds an earlier, whole definition (the last COMPLETE one wins)."""
    starts = [i for i, line in enumerate(source.splitlines())
              if entry and re.match(rf"(?:async\s+)?def\s+{re.escape(entry)}\s*\(", line)]
    if len(starts) < 2:
        return source, None
    prefix = "\n".join(source.splitlines()[:starts[-1]]).rstrip("\n")
    tree = _parse(prefix)
    return (prefix, tree) if tree is not None else (source, None)


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    args = function.args
    names = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return set(names)


def _free_names(nodes: list[ast.stmt]) -> set[str]:
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _needed_assignment(node: ast.Assign | ast.AnnAssign, needed: set[str], entry: str | None) -> bool:
    """A top-level assignment moves into the function only when the function (or a kept helper) reads a
    name it binds and none of its names is a parameter: usage lines such as `n = 15` / `print(f(n))` after
    the function would otherwise overwrite the argument (evalplus keeps only what the entry point reaches)."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    bound = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    calls_entry = any(isinstance(n, ast.Name) and n.id == entry for n in ast.walk(node))
    return bool(bound & needed) and not calls_entry


def _python_text_body(source: str, entry: str | None) -> str:
    """A reply that does not parse (often cut off by max-new-tokens): the lines after the target's `def`
    line and its docstring, dedented; the whole text when there is no such line."""
    lines = source.splitlines()
    start = next((i for i, line in enumerate(lines) if entry and re.match(rf"\s*def\s+{re.escape(entry)}\s*\(", line)),
                 None)
    if start is None:
        return source
    while start < len(lines) and not lines[start].rstrip().endswith(":"):
        start += 1  # a signature over several lines
    rest = lines[start + 1:]
    first = next((i for i, line in enumerate(rest) if line.strip()), None)
    if first is not None and rest[first].strip()[:3] in ('"""', "'''"):
        quote = rest[first].strip()[:3]
        end = first if rest[first].strip().count(quote) >= 2 and len(rest[first].strip()) > 3 else next(
            (i for i in range(first + 1, len(rest)) if quote in rest[i]), len(rest) - 1)
        rest = rest[end + 1:]
    return textwrap.dedent("\n".join(rest)) or "pass"


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _keep_python(node: ast.stmt) -> bool:
    """Definitions, imports and assignments a function may need (assignments then pass
    `_needed_assignment`); calls, prints, asserts and `if __name__` go."""
    return isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                             ast.Assign, ast.AnnAssign))


def _segment(lines: list[str], node: ast.stmt) -> str:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return "\n".join(lines[first - 1:node.end_lineno])


def _indented(code: str) -> str:
    return textwrap.indent(code, _INDENT, lambda line: True).rstrip() + "\n"


# ---------------------------------------------------------------- brace languages

_MAIN = re.compile(r"\b(?:main)\s*\(")
_IMPORT = re.compile(r"^\s*(#\s*include|import\b|use\b|package\b|using\b|extern\s+crate\b|"
                     r"(?:const|let|var)\s+\w+\s*=\s*require\s*\()")


# A top-level line that runs something (a call, a print, an assertion, a Rust `let`, a Go `:=`): the usage
# and test lines replies put after the function. Not a declaration, so never kept.
_STATEMENT = re.compile(r"^\s*(?:(?:[\w.]+(?:::\w+)*)\s*\(|\w+!\s*[(\[]|(?:std::)?(?:cout|cerr|printf)\b|"
                        r"System\s*\.|console\s*\.|fmt\s*\.|assert|let\s|\w+(?:\s*,\s*\w+)*\s*:=)")


def _braces(problem: Problem, code: str, entry: str | None) -> str:
    language = problem.language
    items = [item for item in split_items(code, language) if not _is_statement(item, entry, language)]
    target, owner = _find_target(items, entry, language)
    if target is None:
        return _body_only(code, language)
    helpers, imports = [], []
    for item in items:
        if item is owner or item is target or _is_main(item):
            continue
        if entry and _defines_entry(item, entry, language):
            continue  # an earlier (or unfinished later) definition of the target: the chosen one is used
        if _IMPORT.match(item):
            if _keeps_import(item, problem):
                (imports if language == "java" else helpers).append(item)
            continue
        helpers.append(_unpublic(item) if language == "java" else item)
    text = (_cpp_declarations(helpers) if language == "cpp" else "") + _body(target, language).rstrip() + "\n}\n"
    if language != "java":
        return text + "".join(h.rstrip() + "\n" for h in helpers)
    # Java: the class's other members (and methods the reply wrote outside any class) stay in Solution
    members = [m for m in split_items(_inside(owner), language) if m.strip() != target.strip()
               and not _is_main(m)] if owner is not None else []
    members += [h for h in helpers if not _is_type(h)]
    # the tests' own class is Main: a reply's Main (holding its main) would clash with it
    classes = [h for h in helpers if _is_type(h) and not _is_class_named(h, "Solution")
               and not _is_class_named(h, "Main")]
    # imports lead the completion; the Java scorer moves them to the top of the file (the only place Java
    # allows them), see evaluate/languages/java.py
    head = "".join(i.strip() + "\n" for i in imports)
    return head + text + "".join(m.rstrip() + "\n" for m in members) + "}\n" + "".join(c.rstrip() + "\n"
                                                                                     for c in classes)


def _is_statement(item: str, entry: str | None, language: str) -> bool:
    """A usage or test line at top level (see _STATEMENT), or a line without a body that calls the target
    (`const result = f(x);`); never a definition of the target."""
    if entry and _defines_entry(item, entry, language):
        return False
    first = next((line for line in item.splitlines() if line.strip() and not line.lstrip().startswith(
        ("//", "/*", "*", "#"))), "")
    if not first:
        return False
    calls = entry is not None and "{" not in item and re.search(rf"\b{re.escape(entry)}\s*\(", item) is not None
    return calls or _STATEMENT.match(first) is not None


def _defines_entry(item: str, entry: str, language: str) -> bool:
    return "{" in item and not _IMPORT.match(item) and defines(item.split("{", 1)[0], entry, language)


def _keeps_import(item: str, problem: Problem) -> bool:
    """C++ includes and JavaScript requires stay; a Rust `use` stays unless the declaration already imports
    its names (a second import of a name is an error); Go's are rebuilt by the scorer; Java's stay unless
    the prompt has the same line (the scorer moves them to the top of the file)."""
    if problem.language in ("cpp", "js"):
        return True
    if problem.language == "java":
        line = " ".join(item.split())
        return line not in {" ".join(x.split()) for x in problem.prompt.splitlines()}
    if problem.language != "rust":
        return False
    tail = item.strip().rstrip(";").split("::")[-1]
    names = set(re.findall(r"\w+", tail)) - {"self", "as"}
    words = set(re.findall(r"\w+", problem.declaration))
    return not names <= words


def _is_type(item: str) -> bool:
    return re.search(r"\b(class|interface|enum|record)\s+\w+", item.split("{", 1)[0]) is not None


def split_items(code: str, language: str) -> list[str]:
    """Top-level items of brace-language code, line by line: an item ends at a line where the brace depth
    is back to 0 after a `}` or a `;`, or after an import line (comments before an item stay with it)."""
    items, current, state = [], [], ScanState()
    for line in code.splitlines(keepends=True):
        current.append(line)
        state, _ = scan_braces(line, language, state)
        stripped = line.strip()
        if state.depth <= 0 and state.mode in ("code", "line") and stripped and (
                stripped.endswith(("}", "};", ";", "})", "});")) or _IMPORT.match(line) or stripped == "}"):
            item = "".join(current)
            if item.strip():
                items.append(item)
            current, state = [], ScanState()
    if "".join(current).strip():
        items.append("".join(current))
    return items


def _find_target(items: list[str], entry: str | None, language: str) -> tuple[str | None, str | None]:
    """(the item that defines `entry`, the class item holding it or None): the last whole definition (a
    reply that corrects itself ends with the version it stands by), else the last one (cut off)."""
    if not entry:
        return None, None
    found: list[tuple[str, str | None]] = []
    for item in items:
        header = item.split("{", 1)[0]
        if _defines_entry(item, entry, language):
            found.append((item, None))
        elif language == "java" and re.search(r"\bclass\s+\w+", header) and "{" in item:
            found += [(member, item) for member in split_items(_inside(item), language)
                      if _defines_entry(member, entry, language)]
    whole = [pair for pair in found if _closed(pair[0], language)]
    return (whole or found or [(None, None)])[-1]


def _closed(item: str, language: str) -> bool:
    state, _ = scan_braces(item, language)
    return state.depth <= 0


def _inside(item: str) -> str:
    """The text between an item's first `{` and its last `}` (the end when there is none)."""
    end = item.rindex("}") if "}" in item else len(item)
    return item[item.index("{") + 1:end]


def _body(item: str, language: str) -> str:
    """A function item's body: after the `{` that ends the signature's line (Go's `interface{}{` and
    Rust's `-> Vec<i32>{` end that way), else after the first `{` past the parameters (a one-line function)."""
    start, offset = None, 0
    for line in item.splitlines(keepends=True):
        if line.rstrip().endswith("{") and not line.lstrip().startswith(("//", "/*", "*", "#")):
            start = offset + line.rstrip().rindex("{") + 1
            break
        offset += len(line)
    if start is None:
        depth = 0
        for i, ch in enumerate(item):
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if ch == "{" and depth == 0:
                start = i + 1
                break
    state, _ = scan_braces(item, language)
    end = item.rindex("}") if state.depth <= 0 and "}" in item else len(item)  # unclosed: cut off by the length
    return item[start if start is not None else item.index("{") + 1:end].lstrip(" \t").removeprefix("\n")


def _body_only(code: str, language: str) -> str:
    """A reply that is the body, maybe with the function's closing brace and helpers after it."""
    depth = 2 if language == "java" else 1
    cut = find_stop(code, language, ScanState(depth=1))
    if cut is None:
        return code.rstrip() + "\n" + "}\n" * depth
    rest = code[cut:]
    if language == "java":
        after = find_stop(rest, language, ScanState(depth=1))  # the class's own closing brace, if given
        if after is not None:
            return code[:cut] + rest[:after] + "\n"
        return code[:cut] + "\n" + rest.rstrip() + "\n}\n"
    helpers = [item for item in split_items(rest, language) if not _is_main(item)]
    return code[:cut] + "\n" + "".join(h.rstrip() + "\n" for h in helpers)


def _is_main(item: str) -> bool:
    header = item.split("{", 1)[0]
    return "{" in item and _MAIN.search(header) is not None and "class" not in header


def _is_class_named(item: str, name: str) -> bool:
    return re.search(rf"\bclass\s+{name}\b", item.split("{", 1)[0]) is not None


def _unpublic(item: str) -> str:
    """Java: a second public top-level class cannot share Main.java; package-private works the same."""
    return re.sub(r"^(\s*)public\s+(?=(?:final\s+|abstract\s+)*(?:class|interface|enum|record)\b)", r"\1", item,
                  count=1, flags=re.MULTILINE)


def _cpp_declarations(helpers: list[str]) -> str:
    """Block-scope declarations of the C++ helper functions (legal C++: a function may be declared inside
    another), so the target can call helpers defined after it. Templates cannot be declared there."""
    lines = []
    for item in helpers:
        if "{" not in item or _IMPORT.match(item):
            continue
        header = item.split("{", 1)[0]
        header = "\n".join(line for line in header.splitlines() if not line.strip().startswith(("//", "/*", "*")))
        header = header.strip()
        if not header.endswith(")") or re.match(r"(template|struct|class|union|enum|namespace)\b", header):
            continue
        header = re.sub(r"^(?:static|inline|constexpr)\s+", "", header)
        lines.append(f"{_INDENT}{' '.join(header.split())};\n")
    return "".join(lines)
