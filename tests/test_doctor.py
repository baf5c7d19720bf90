"""`codegen doctor` on this machine's real toolchains, and with tools taken off PATH."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from codegen_cli.evaluate.preflight import FIXES, js_install_command
from tests.conftest import path_without, require_toolchains, toolchain_missing

LANGUAGES = ["python", "cpp", "java", "js", "go", "rust"]


def _not_ready_here() -> list[str]:
    """What this machine truly lacks for the six languages (then doctor must say so, and these tests cannot
    expect ok): the same facts the test suite's skips come from."""
    from codegen_cli.doctor import language_readiness

    return [problem for problems in language_readiness(LANGUAGES, build=False).values() for problem in problems]


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
    if _not_ready_here():
        toolchain_missing("; ".join(_not_ready_here()))
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
    require_toolchains("cpp")
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


def _report(fixes: list[str]):
    from codegen_cli.doctor import DoctorReport

    return DoctorReport(ok=False, python={}, libraries={}, toolchains={}, sandbox={}, tool_cache={}, accelerators={},
                        disk={}, fixes=fixes)


def test_fix_plan_merges_apt_runs_npm_after_it_and_says_what_it_cannot_do(monkeypatch):
    """One `apt-get update` before one install of every package (a fresh image has no package lists), npm
    after apt (apt may bring npm), pip for missing libraries, and a reason for what codegen cannot do."""
    from codegen_cli import fixes

    monkeypatch.setattr(fixes.os, "geteuid", lambda: 0)
    monkeypatch.setattr(fixes.shutil, "which", lambda name: f"/usr/bin/{name}")
    npm = "npm install --no-save --no-audit --no-fund --prefix /c/js js-md5@0.7.3"
    steps = fixes.plan(_report([FIXES["go"], npm, FIXES["rust"], "pip install datasketch", "pip install torch",
                                "apt-get install -y --no-install-recommends libboost-dev", FIXES["python"],
                                "allow the kernel's user namespaces (it's a sysctl)"]))
    runnable = [step.argv for step in steps if step.why_not is None]
    assert runnable[0] == ["apt-get", "update"]
    assert runnable[1][:3] == ["apt-get", "install", "-y"] and runnable[1][3] == "--no-install-recommends"
    assert runnable[1][4:] == ["golang-go", "golang-github-stretchr-testify-dev", "rustc", "cargo",
                               "librust-rand+default-dev", "librust-regex+default-dev", "librust-md5+default-dev",
                               "libboost-dev"]
    assert runnable[2] == npm.split() and runnable[3] == [sys.executable, "-m", "pip", "install", "datasketch"]
    skipped = {step.what: step.why_not for step in steps if step.why_not}
    assert "CUDA" in skipped["pip install torch"] and "cannot" in skipped[FIXES["python"]]
    assert "cannot" in skipped["allow the kernel's user namespaces (it's a sysctl)"]  # prose, a quote: not run
    monkeypatch.setattr(fixes.os, "geteuid", lambda: 1000)
    apt = fixes.plan(_report([FIXES["go"]]))
    assert len(apt) == 1 and "sudo apt-get update && sudo apt-get install" in apt[0].why_not


def test_fix_off_a_terminal_asks_for_yes_and_runs_nothing(cli, tmp_path):
    cache = tmp_path / "cache"
    result = cli("doctor", "--fix", "-l", "js", "--cache-dir", cache, input="")
    assert result.exit_code == 2 and "add --yes" in result.stderr
    assert not (cache / "js").exists()


@pytest.mark.slow
def test_fix_yes_installs_what_is_missing_and_doctor_then_says_ready(cli, tmp_path):
    """A real install from the npm registry into an empty tool cache (the one fix a machine set up by
    `.ci/run` still lacks there); `.ci/run` also removes Debian packages and lets --fix put them back."""
    if shutil.which("npm") is None:
        toolchain_missing(f"npm is not installed; fix: {FIXES['js']}")
    cache = tmp_path / "a cache; with spaces"  # the path is quoted in the command --fix runs
    result = cli("doctor", "--fix", "--yes", "--json", "-l", "python,js", "--cache-dir", cache)
    report = json.loads(result.stdout)
    assert result.exit_code == 0, (report["problems"], result.stderr[-2000:])
    assert report["ok"] is True and "ready" in result.stderr
    assert [entry for entry in report["fix_log"] if entry["command"].startswith("npm install")][0]["exit"] == 0
    assert (cache / "js" / "node_modules" / "js-md5" / "package.json").is_file()
