"""The preflight: every missing tool or test dependency fails in seconds with exit 2 and its install
command, before any program runs; the tool cache is built (and proven in the sandbox) up front, and one
language's failure does not undo the others' preparation."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen_cli.errors import UsageError
from codegen_cli.evaluate import preflight as pf
from codegen_cli.evaluate.languages import rust
from codegen_cli.evaluate.preflight import FIXES, RUST_APT, cache_state, preflight, prepare_tool_cache

from .conftest import require_toolchains


def _registry_without(tmp_path: Path, *crates: str) -> Path:
    """A copy (symlinks) of the Debian crate registry lacking `crates`: a machine where the crates'
    feature packages were not installed."""
    registry = tmp_path / "registry"
    registry.mkdir()
    for entry in rust.REGISTRY.iterdir():
        if not any(entry.name.startswith(f"{crate}-") for crate in crates):
            (registry / entry.name).symlink_to(entry)
    return registry


def _contexts(cache: Path, languages: list[str]):
    from codegen_cli.evaluate.config import ScoringConfig
    from codegen_cli.evaluate.sandbox import Sandbox
    from codegen_cli.evaluate.scoring import _contexts as contexts

    return contexts(ScoringConfig(check_references=True), Sandbox(), cache, languages)


def test_static_check_names_a_missing_crate_and_its_package(tmp_path, monkeypatch):
    require_toolchains("rust")
    monkeypatch.setattr(pf, "CARGO_REGISTRY", _registry_without(tmp_path, "aho-corasick", "memchr"))
    with pytest.raises(UsageError) as info:
        preflight(["rust"], tmp_path / "cache")
    message = str(info.value)
    assert "Rust crate aho-corasick missing" in message and "Rust crate memchr missing" in message
    assert RUST_APT in message and "Rust crate regex missing" not in message


def test_a_failed_cache_build_names_the_fix_and_keeps_the_other_languages(tmp_path, monkeypatch):
    """Cargo cannot resolve regex's default features: the error says which crate and which package; the
    C++ entry, prepared in the same call, is built and stays for the rerun."""
    require_toolchains("cpp", "rust")
    monkeypatch.setattr(rust, "REGISTRY", _registry_without(tmp_path, "aho-corasick"))
    cache = tmp_path / "cache"
    with pytest.raises(UsageError) as info:
        prepare_tool_cache(_contexts(cache, ["cpp", "rust", "python"]))
    message = str(info.value)
    assert "nothing was run" in message
    assert "Rust crate aho-corasick missing" in message and RUST_APT in message
    assert "cpp" not in message.split("failed", 1)[1]
    state = cache_state(["cpp", "rust"], cache)
    assert state["cpp"]["built"] and not state["rust"]["built"]


def test_cold_cache_is_built_and_proven_before_scoring(tmp_path):
    require_toolchains("cpp")
    cache = tmp_path / "cache"
    assert not cache_state(["cpp"], cache)["cpp"]["built"]
    seconds = prepare_tool_cache(_contexts(cache, ["cpp"]))
    assert set(seconds) == {"cpp"} and cache_state(["cpp"], cache)["cpp"]["built"]


def test_eval_exits_2_with_the_npm_command_before_running_anything(cli, tmp_path):
    require_toolchains("js")
    cache = tmp_path / "empty-cache"
    result = cli("eval", "--check-references", "-l", "python,js", "--limit", "1", "--cache-dir", cache,
                 "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert pf.js_install_command(cache.resolve()) in result.stderr
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_missing_compilers_are_all_named_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no g++, javac, go, node, cargo on this PATH
    with pytest.raises(UsageError) as info:
        preflight(["cpp", "java", "js", "go", "rust"], tmp_path)
    for language in ("cpp", "java", "js", "go", "rust"):
        assert FIXES[language] in str(info.value)
