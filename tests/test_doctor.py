"""`codegen doctor` on this machine's real toolchains, and with tools taken off PATH."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from codegen_cli.evaluate.preflight import FIXES, js_install_command
from tests.conftest import path_without, toolchain_missing

LANGUAGES = ["python", "cpp", "java", "js", "go", "rust"]


def _missing_everywhere() -> list[str]:
    """Tools this machine truly lacks (then doctor must say so, and these tests cannot expect ok)."""
    return [tool for tool in ("g++", "javac", "java", "node", "go", "rustc", "cargo") if shutil.which(tool) is None]


def test_json_reports_every_section_and_each_toolchain_version(cli, tmp_path):
    result = cli("doctor", "--json", "-w", tmp_path / "not-yet")
    report = json.loads(result.stdout)  # ONE object on stdout; the tables went to stderr
    assert "eval toolchains" in result.stderr
    assert set(report) >= {"ok", "python", "libraries", "toolchains", "sandbox", "tool_cache", "accelerators",
                           "disk", "problems", "fixes"}
    import torch

    assert report["libraries"]["torch"].split("+")[0] == torch.__version__.split("+")[0]
    assert report["accelerators"]["torch"] == torch.__version__
    assert report["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert set(report["toolchains"]) == set(LANGUAGES)
    assert report["sandbox"]["tier"] in ("bwrap", "unshare", "rlimits") and report["sandbox"]["reason"]
    assert report["disk"]["free_gb"] > 0 and report["disk"]["measured_at"] == str(tmp_path.resolve())
    if _missing_everywhere():
        toolchain_missing(f"{_missing_everywhere()}: {report['fixes']}")
    assert result.exit_code == 0 and report["ok"] is True, report["problems"]
    gxx = next(item for item in report["toolchains"]["cpp"] if item["name"] == "g++")
    assert gxx["found"] and subprocess.run(["g++", "--version"], capture_output=True, text=True,
                                           check=True).stdout.splitlines()[0] == gxx["version"]


def test_a_tool_off_path_fails_with_its_install_command(cli, tmp_path, monkeypatch):
    if shutil.which("go") is None:
        toolchain_missing(f"go is not installed here at all; fix: {FIXES['go']}")
    monkeypatch.setenv("PATH", path_without(tmp_path / "bin", "go"))
    result = cli("doctor", "--json", "-l", "python,go,cpp")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert [item["found"] for item in report["toolchains"]["go"] if item["name"] == "go"] == [False]
    assert any(problem.startswith("go: go missing") for problem in report["problems"])
    assert FIXES["go"] in report["fixes"]
    assert all(item["found"] for item in report["toolchains"]["python"] + report["toolchains"]["cpp"])
    assert "not ready" in result.stderr and FIXES["go"] in result.stderr


def test_build_makes_the_tool_cache_and_names_what_it_cannot_build(cli, tmp_path):
    """--build on an empty cache: C++ gets its precompiled header; JavaScript's js-md5 is absent, so doctor
    stops at the static check and prints the npm command (npm needs the network, doctor never runs it)."""
    if shutil.which("g++") is None:
        toolchain_missing(f"g++ is not installed here; fix: {FIXES['cpp']}")
    cache = tmp_path / "cache"
    built = cli("doctor", "--json", "--build", "-l", "cpp", "--cache-dir", cache)
    report = json.loads(built.stdout)
    assert built.exit_code == 0, report["problems"]
    assert report["tool_cache"]["build"]["ok"] is True and report["tool_cache"]["entries"]["cpp"]["built"]
    js = cli("doctor", "--json", "--build", "-l", "js", "--cache-dir", cache)
    assert js.exit_code == 1
    assert js_install_command(cache.resolve()) in json.loads(js.stdout)["fixes"]


def test_human_output_only_on_stderr(cli, tmp_path):
    result = cli("doctor", "-l", "python", "-w", tmp_path)
    assert result.stdout == ""
    assert "sandbox tier" in result.stderr and "disk:" in result.stderr


def test_unknown_language_is_a_usage_error(cli):
    result = cli("doctor", "-l", "cobol")
    assert result.exit_code == 2 and "cobol" in result.stderr
