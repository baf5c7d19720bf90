"""Fixtures for the scoring tests: the real sandbox, the shared tool cache, and a runner for programs."""

from __future__ import annotations

from codegen_cli.evaluate.languages.context import default_cache_dir
from codegen_cli.evaluate.problems import PACKAGED_DIR as HUMANEVAL_X  # noqa: F401 - used by the test modules
from tests.conftest import require_toolchains  # noqa: F401 - the one skip helper, re-exported

ALL_LANGUAGES = ("python", "cpp", "java", "js", "go", "rust")


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
