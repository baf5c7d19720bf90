"""Fixtures for the scoring tests: the real sandbox, the shared tool cache, and a runner for programs."""

from __future__ import annotations

import functools

from codegen_cli.errors import UsageError
from codegen_cli.evaluate.languages.context import default_cache_dir
from codegen_cli.evaluate.preflight import preflight
from codegen_cli.evaluate.problems import PACKAGED_DIR as HUMANEVAL_X  # noqa: F401 - used by the test modules
from tests.conftest import toolchain_missing

ALL_LANGUAGES = ("python", "cpp", "java", "js", "go", "rust")


@functools.cache
def _missing(language: str) -> str | None:
    """Why `language` cannot be scored here (with the install command), after the same preflight and tool
    cache preparation `codegen eval` runs; None when it can."""
    from codegen_cli.evaluate.config import ScoringConfig
    from codegen_cli.evaluate.preflight import prepare_tool_cache
    from codegen_cli.evaluate.sandbox import Sandbox
    from codegen_cli.evaluate.scoring import _contexts

    try:
        preflight([language], default_cache_dir())
        prepare_tool_cache(_contexts(ScoringConfig(check_references=True), Sandbox(), default_cache_dir(), [language]))
    except UsageError as exc:
        return str(exc)
    return None


def require_toolchains(*languages: str) -> None:
    """Skip LOUDLY when a toolchain is genuinely absent; under CI (.ci/run installs all six) that fails."""
    problems = [message for message in map(_missing, languages) if message]
    if problems:
        toolchain_missing("; ".join(problems))


def score_completions(problems, completions, *, workers: int = 2, timeout: float = 10.0, static_check: bool = True):
    """Score (problem, completion) pairs through the real engine pieces; returns one Outcome per pair.
    `static_check=False` judges every program by its run alone (the tamper check's verdict is dropped), which
    shows what the harness and the sandbox stop by themselves."""
    from codegen_cli.evaluate.config import ScoringConfig
    from codegen_cli.evaluate.executor import execute
    from codegen_cli.evaluate.languages import get_language
    from codegen_cli.evaluate.sandbox import Sandbox
    from codegen_cli.evaluate.scoring import _contexts

    languages = sorted({p.language for p in problems})
    cfg = ScoringConfig(check_references=True, timeout=timeout)
    contexts = _contexts(cfg, Sandbox(), default_cache_dir(), languages)
    objects = {key: get_language(key) for key in languages}
    programs = [objects[p.language].assemble(p, c) for p, c in zip(problems, completions)]
    if not static_check:
        for program in programs:
            program.meta["tampered"] = None
    work = []
    for key in languages:
        objects[key].prepare(contexts[key])
        unique = list({p.sha256: p for p in programs if p.language == key}.values())
        work.append((objects[key], unique, contexts[key]))
    outcomes = {}
    execute(
        work,
        workers=workers,
        on_outcome=lambda program, outcome: outcomes.__setitem__(program.sha256, outcome),
    )
    return [outcomes[p.sha256] for p in programs]
