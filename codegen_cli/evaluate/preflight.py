"""Toolchain preflight: every compiler, interpreter and test dependency a language needs, checked (and the
tool cache built) BEFORE any program runs, or one error listing each missing piece with its install command.

Two steps, both before scoring starts:
1. `preflight`: fast static checks (tools on PATH, headers, Go testify, Debian crate sources, js-md5) and
   the version of each; a missing piece is a UsageError (exit 2) with the exact command that installs it.
2. `prepare_tool_cache`: builds each language's tool-cache entries (C++ precompiled header, javac CDS
   archive, warm Go build cache with testify, the Rust crates) and proves the test dependencies work by
   compiling and running a tiny program that uses them inside the sandbox. Every language is attempted,
   so one error names every language that failed; the ones that succeeded stay built.
Without this, a missing dependency shows up as every sample of a language "failing" (the root of most
all-zero HumanEval-X reports), or as a cache build failing halfway through a run.
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen_cli.errors import UsageError
from codegen_cli.evaluate import cache_manifest
from codegen_cli.evaluate.languages.js import js_deps_dir
from codegen_cli.output import heartbeat, warn

APT = "apt-get install -y --no-install-recommends"
JS_MD5 = "js-md5@0.7.3"  # the version CodeGeeX pins; JavaScript/162 imports it
CARGO_REGISTRY = Path("/usr/share/cargo/registry")
GO_TESTIFY = Path("/usr/share/gocode/src/github.com/stretchr/testify/assert")
BOOST_HEADER = Path("/usr/include/boost/version.hpp")
OPENSSL_HEADER = Path("/usr/include/openssl/opensslv.h")
# The Debian crate sources that rand 0.8, regex 1 and md5 0.7 with their DEFAULT features need (bookworm;
# found by building them offline from a registry holding only these). regex's default features pull
# aho-corasick and memchr, which only the `librust-regex+default-dev` feature package installs.
RUST_CRATES = ("rand", "regex", "md5", "rand_core", "rand_chacha", "ppv-lite86", "getrandom", "libc", "cfg-if",
               "regex-syntax", "aho-corasick", "memchr")
RUST_APT = "'librust-rand+default-dev' 'librust-regex+default-dev' 'librust-md5+default-dev'"

# One install command per language: what `.ci/run` runs on Debian, and what every error message says.
FIXES = {
    "python": "use Python >= 3.10 (the interpreter that runs codegen runs the Python programs)",
    "cpp": f"{APT} g++ libboost-dev libssl-dev",
    "java": f"{APT} default-jdk-headless",
    "js": f"{APT} nodejs npm",
    "go": f"{APT} golang-go golang-github-stretchr-testify-dev",
    "rust": f"{APT} rustc cargo {RUST_APT}",
}


def js_install_command(cache_dir: Path) -> str:
    """The npm line that installs js-md5 into the tool cache (the path quoted: `doctor --fix` runs it)."""
    return f"npm install --no-save --no-audit --no-fund --prefix {shlex.quote(str(js_deps_dir(cache_dir)))} {JS_MD5}"


@dataclass
class Requirement:
    """One thing a language needs: a tool or a test dependency, with its version when found."""

    language: str
    name: str  # a command name for tools (g++, javac), a description for test dependencies
    found: bool
    version: str  # version text when found, else where it was looked for
    fix: str  # the command that installs it
    tool: bool = False  # a compiler/interpreter (recorded in summary.json's toolchains), not a library

    def problem(self) -> str:
        return f"{self.language}: {self.name} missing ({self.version}); fix: {self.fix}"


def _version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


def _tool(language: str, name: str, argv: list[str], fix: str) -> Requirement:
    path = shutil.which(name)
    if path is None:
        return Requirement(language, name, False, "not on PATH", fix, tool=True)
    return Requirement(language, name, True, _version([path, *argv[1:]]), fix, tool=True)


def _define(header: Path, name: str) -> str:
    """The value of `#define NAME value` in a header (versions of Boost and OpenSSL)."""
    match = re.search(rf"#\s*define\s+{name}\s+(.+)", header.read_text(errors="replace"))
    return match.group(1).strip().strip('"') if match else "present"


def _header(language: str, name: str, header: Path, *, define: str, fix: str) -> Requirement:
    if not header.is_file():
        return Requirement(language, name, False, f"no {header}", fix)
    return Requirement(language, name, True, _define(header, define), fix)


def _debian_version(package: str) -> str:
    if shutil.which("dpkg-query") is None:
        return "present"
    done = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True,
                          timeout=60, check=False)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "present"


def _python(cache: Path) -> list[Requirement]:
    version = sys.version.split()[0] + f" ({sys.executable})"
    return [Requirement("python", "python", sys.version_info >= (3, 10), version, FIXES["python"], tool=True)]


def _cpp(cache: Path) -> list[Requirement]:
    return [
        _tool("cpp", "g++", ["g++", "--version"], FIXES["cpp"]),
        _header("cpp", "Boost headers (CPP/22, CPP/137)", BOOST_HEADER, define="BOOST_LIB_VERSION", fix=f"{APT} libboost-dev"),
        _header("cpp", "OpenSSL headers (CPP/162)", OPENSSL_HEADER, define="OPENSSL_VERSION_TEXT",
                fix=f"{APT} libssl-dev"),
    ]


def _java(cache: Path) -> list[Requirement]:
    return [_tool("java", "javac", ["javac", "-version"], FIXES["java"]),
            _tool("java", "java", ["java", "-version"], FIXES["java"])]


def _js(cache: Path) -> list[Requirement]:
    package = js_deps_dir(cache) / "node_modules" / "js-md5" / "package.json"
    if package.is_file():
        md5 = Requirement("js", "npm package js-md5 (JavaScript/162)", True,
                          json.loads(package.read_text()).get("version", "present"), js_install_command(cache))
    else:
        md5 = Requirement("js", "npm package js-md5 (JavaScript/162)", False, f"no {package.parent}",
                          js_install_command(cache))
    return [_tool("js", "node", ["node", "--version"], FIXES["js"]), md5]


def _go(cache: Path) -> list[Requirement]:
    fix = f"{APT} golang-github-stretchr-testify-dev"
    testify = Requirement("go", "Go testify (GOPATH mode)", GO_TESTIFY.is_dir(),
                          _debian_version("golang-github-stretchr-testify-dev") if GO_TESTIFY.is_dir()
                          else f"no {GO_TESTIFY}", fix)
    return [_tool("go", "go", ["go", "version"], FIXES["go"]), testify]


def _rust(cache: Path) -> list[Requirement]:
    found = [_tool("rust", name, [name, "--version"], FIXES["rust"]) for name in ("rustc", "cargo")]
    for crate in RUST_CRATES:
        dirs = sorted(CARGO_REGISTRY.glob(f"{crate}-[0-9]*"))
        version = dirs[-1].name[len(crate) + 1:] if dirs else f"not in {CARGO_REGISTRY}"
        found.append(Requirement("rust", f"Rust crate {crate}", bool(dirs), version, f"{APT} {RUST_APT}"))
    return found


CHECKS: dict[str, Callable[[Path], list[Requirement]]] = {
    "python": _python, "cpp": _cpp, "java": _java, "js": _js, "go": _go, "rust": _rust,
}


def requirements(language: str, cache_dir: Path) -> list[Requirement]:
    """Everything `language` needs, each found or not, with versions (no building, a second or two)."""
    return CHECKS[language](cache_dir)


def preflight(languages: list[str], cache_dir: Path) -> dict[str, dict[str, str]]:
    """{language: {tool: version}}; raises UsageError naming every missing piece and its install command."""
    versions: dict[str, dict[str, str]] = {}
    missing: list[str] = []
    for language in languages:
        found = requirements(language, cache_dir)
        missing += [item.problem() for item in found if not item.found]
        versions[language] = {item.name: item.version for item in found if item.found and item.tool}
    if missing:
        raise UsageError("toolchain preflight failed (nothing was run): " + "; ".join(missing))
    return versions


# --- step 2: build the tool cache and prove the test dependencies work, inside the sandbox ---------------

_CPP_PROBE = """#include <boost/any.hpp>
#include <openssl/md5.h>
#include <cstdio>
int main() { boost::any a = 1; unsigned char d[16]; MD5((const unsigned char*)"", 0, d);
  std::printf("%d %02x\\n", boost::any_cast<int>(a), d[0]); return 0; }
"""
_JS_PROBE = "const md5 = require('js-md5'); process.stdout.write(md5('') + '\\n');\n"
# Expected output of each probe: the md5 of the empty string starts with d4 (d41d8cd9...).
_PROBES = {"cpp": ("1 d4", "Boost/OpenSSL"), "js": ("d41d8cd98f00b204e9800998ecf8427e", "js-md5")}


def _probe(key: str, ctx: Any) -> str | None:
    """Compile and run the language's test-dependency probe in the sandbox; None if it printed the
    expected text, else what went wrong."""
    from codegen_cli.evaluate.sandbox import scratch_dir

    expected, what = _PROBES[key]
    with scratch_dir() as work:
        if key == "cpp":
            (work / "probe.cpp").write_text(_CPP_PROBE)
            built = ctx.run(["g++", "-std=c++17", "probe.cpp", "-o", "probe", "-lcrypto"], workdir=work,
                            limits=ctx.compile_limits)
            if built.returncode != 0:
                return f"compiling a program that uses {what} failed: {built.stderr.strip()[-600:]}"
            argv, env = ["./probe"], {}
        else:
            (work / "probe.js").write_text(_JS_PROBE)
            argv, env = ["node", "probe.js"], {"NODE_PATH": str(js_deps_dir(ctx.cache_dir) / "node_modules")}
        result = ctx.run(argv, workdir=work, limits=ctx.run_limits, env=env)
    if result.returncode == 0 and expected in result.stdout:
        return None
    return f"a program using {what} did not run in the sandbox (exit {result.returncode}): " + (
        result.stderr.strip()[-600:] or result.stdout.strip()[-200:])


def _explain(key: str, exc: BaseException) -> tuple[str, str]:
    """(problem, fix) for a failed cache preparation: one line, naming the likely missing package."""
    detail = getattr(exc, "stderr", None) or str(exc)
    detail = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
    crate = re.search(r"no matching package named `([^`]+)`", detail)
    if crate:
        return f"Rust crate {crate.group(1)} missing from {CARGO_REGISTRY}", f"{APT} {RUST_APT}"
    if key == "go" and "stretchr/testify" in detail:
        return "Go testify not found in GOPATH", f"{APT} golang-github-stretchr-testify-dev"
    lines = [line for line in detail.strip().splitlines() if line.strip()]
    return " / ".join(lines[-4:])[-800:] or type(exc).__name__, FIXES[key]


class ToolCacheError(UsageError):
    """Some languages' tool-cache preparation failed; `failures` holds (language, problem, fix) each."""

    def __init__(self, failures: list[tuple[str, str, str]]) -> None:
        self.failures = failures
        super().__init__("preparing the eval tool cache failed (nothing was run): " + "; ".join(
            f"{key}: {problem}; fix: {fix}" for key, problem, fix in failures))


def prepare_tool_cache(contexts: dict[str, Any], log: Callable[[str], None] = lambda _: None) -> dict[str, float]:
    """Build every language's tool-cache entries and run its dependency probe; returns seconds per language.

    Called before any program runs. Every language is attempted; if any failed, one ToolCacheError (a
    UsageError: exit 2) names each failure with its fix (the entries that did build are kept for the rerun).
    """
    from codegen_cli.evaluate.languages import get_language

    caches = {ctx.cache_dir for ctx in contexts.values()}
    with contextlib.ExitStack() as held:
        for cache in sorted(caches):
            held.enter_context(cache_manifest.exclusive(cache))
            _verify_cache(cache, log)
        seconds = _prepare_all(contexts, log, get_language)
        for cache in caches:
            cache_manifest.record(cache)
    return seconds


def _verify_cache(cache: Path, log: Callable[[str], None]) -> None:
    """Before anything uses the tool cache: entries that differ from the recorded manifest are removed
    (rebuilt from trusted inputs by the prepare step), loudly. docs/sandbox.md "Tool cache"."""
    found = cache_manifest.changes(cache, first_installs=True)
    if found:
        removed = cache_manifest.purge(cache, found)
        warn(f"the tool cache {cache} was changed since an evaluator prepared it ({'; '.join(found[:5])}"
             f"{'; ...' if len(found) > 5 else ''}): removed {', '.join(removed) or 'nothing'} to rebuild it "
             "from trusted inputs (programs run in the rlimits tier can write it)")


# What a cold tool cache builds per language (the first eval on a machine; later runs reuse it).
BUILT_ONCE = {"cpp": "precompiled header", "java": "class-data-sharing archive", "go": "warm build cache",
              "rust": "rand/regex/md5 crates"}


def _prepare_all(contexts: dict[str, Any], log: Callable[[str], None], get_language) -> dict[str, float]:
    failures: list[tuple[str, str, str]] = []
    seconds: dict[str, float] = {}
    for key, ctx in contexts.items():
        start = time.monotonic()
        building = key in BUILT_ONCE and not _entry(key, ctx.cache_dir).exists()
        if building:
            log(f"tool cache: building the {key} {BUILT_ONCE[key]} in {ctx.cache_dir} (once; up to a minute)")
        try:
            with heartbeat(f"tool cache: {key}") if building else contextlib.nullcontext():
                get_language(key).prepare(ctx)
            problem = _probe(key, ctx) if key in _PROBES else None
            if problem:
                failures.append((key, problem, js_install_command(ctx.cache_dir) if key == "js" else FIXES[key]))
        except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
            failures.append((key, *_explain(key, exc)))
        seconds[key] = time.monotonic() - start
    slow = [f"{key} {took:.1f} s" for key, took in seconds.items() if took >= 1]
    if slow:
        log("tool cache prepared: " + ", ".join(slow))
    if failures:
        raise ToolCacheError(failures)
    return seconds


def _entry(key: str, cache_dir: Path) -> Path:
    """The file whose presence means the language's tool-cache entry is built (each language's prepare()
    writes it; the private helpers are imported rather than duplicated so the two never disagree)."""
    if key == "cpp":
        from codegen_cli.evaluate.languages.cpp import pch_dir

        return pch_dir(cache_dir) / "he.h.gch"
    if key == "java":
        from codegen_cli.evaluate.languages.java import _jsa

        return _jsa(cache_dir)
    if key == "go":
        return cache_dir / "go" / "warm"
    if key == "rust":
        from codegen_cli.evaluate.languages.rust import _deps_dir, rustc_binary

        try:
            return _deps_dir(cache_dir, rustc_binary()) / "externs.json"
        except OSError:  # no rustc: nothing can be built
            return cache_dir / "rust" / "(no rustc)"
    if key == "js":
        return js_deps_dir(cache_dir) / "node_modules" / "js-md5"
    return cache_dir


def cache_state(languages: list[str], cache_dir: Path) -> dict[str, dict[str, Any]]:
    """{language: {"entry": path, "built": bool}}: what `prepare_tool_cache` would still have to build."""
    return {key: {"entry": str(_entry(key, cache_dir)), "built": _entry(key, cache_dir).exists()}
            for key in languages if key != "python"}
