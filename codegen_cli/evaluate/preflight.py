"""Toolchain preflight: the version of every compiler/interpreter used, or one error with the fix.

Checked before any program runs, so a missing toolchain fails in a second with the apt/npm command
instead of turning every sample into a "failure" (the root of most all-zero HumanEval-X reports).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from codegen_cli.errors import UsageError
from codegen_cli.evaluate.languages.js import js_deps_dir

APT = "apt-get install -y"
JS_MD5 = "js-md5@0.7.3"  # the version CodeGeeX pins; JavaScript/162 imports it


def _version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


def _need_tool(name: str, fix: str, missing: list[str]) -> bool:
    if shutil.which(name) is None:
        missing.append(f"`{name}` not found ({fix})")
        return False
    return True


def _need_path(path: Path, what: str, fix: str, missing: list[str]) -> None:
    if not path.exists():
        missing.append(f"{what} missing at {path} ({fix})")


def _python(cache: Path, missing: list[str]) -> dict[str, str]:
    return {"python": sys.version.split()[0] + f" ({sys.executable})"}


def _cpp(cache: Path, missing: list[str]) -> dict[str, str]:
    if not _need_tool("g++", f"{APT} g++", missing):
        return {}
    _need_path(
        Path("/usr/include/boost/any.hpp"), "Boost headers (CPP/22, CPP/137)", f"{APT} libboost-dev", missing
    )
    _need_path(Path("/usr/include/openssl/md5.h"), "OpenSSL headers (CPP/162)", f"{APT} libssl-dev", missing)
    return {"g++": _version(["g++", "--version"])}


def _java(cache: Path, missing: list[str]) -> dict[str, str]:
    if not (
        _need_tool("javac", f"{APT} default-jdk-headless", missing)
        and _need_tool("java", f"{APT} default-jdk-headless", missing)
    ):
        return {}
    return {"javac": _version(["javac", "-version"]), "java": _version(["java", "-version"])}


def _js(cache: Path, missing: list[str]) -> dict[str, str]:
    if not _need_tool("node", f"{APT} nodejs npm", missing):
        return {}
    deps = js_deps_dir(cache)
    _need_path(
        deps / "node_modules" / "js-md5",
        "npm package js-md5 (JavaScript/162)",
        f"npm install --no-save --prefix {deps} {JS_MD5}",
        missing,
    )
    return {"node": _version(["node", "--version"])}


def _go(cache: Path, missing: list[str]) -> dict[str, str]:
    if not _need_tool("go", f"{APT} golang-go", missing):
        return {}
    _need_path(
        Path("/usr/share/gocode/src/github.com/stretchr/testify/assert"),
        "Go testify",
        f"{APT} golang-github-stretchr-testify-dev",
        missing,
    )
    return {"go": _version(["go", "version"])}


def _rust(cache: Path, missing: list[str]) -> dict[str, str]:
    fix = "install rustup (https://rustup.rs) or apt-get install -y rustc cargo"
    if not (_need_tool("rustc", fix, missing) and _need_tool("cargo", fix, missing)):
        return {}
    registry = Path("/usr/share/cargo/registry")
    for crate in ("rand", "regex", "md5"):
        if not any(registry.glob(f"{crate}-*")):
            missing.append(f"Rust crate {crate} missing from {registry} ({APT} librust-{crate}-dev)")
    return {"rustc": _version(["rustc", "--version"]), "cargo": _version(["cargo", "--version"])}


CHECKS: dict[str, Callable[[Path, list[str]], dict[str, str]]] = {
    "python": _python,
    "cpp": _cpp,
    "java": _java,
    "js": _js,
    "go": _go,
    "rust": _rust,
}


def preflight(languages: list[str], cache_dir: Path) -> dict[str, dict[str, str]]:
    """{language: {tool: version}}; raises UsageError naming every missing piece and its install command."""
    versions: dict[str, dict[str, str]] = {}
    missing: list[str] = []
    for language in languages:
        versions[language] = CHECKS[language](cache_dir, missing)
    if missing:
        raise UsageError("toolchain preflight failed: " + "; ".join(missing))
    return versions
