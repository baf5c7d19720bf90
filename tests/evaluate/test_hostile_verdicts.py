"""Verdicts nobody can fake (issue 11): every attack in tests/evaluate/hostile/verdicts/ ends not `passed`
with its reason recorded, every honest control passes, in every language.

All cases are scored in ONE `codegen eval` run (the real engine: assembly, static check, batch builds,
sandbox, verdict), and once more with the static check bypassed, which pins down which defence stops each
attack (`runtime=` in the case header: `passed` there means the static check is the only defence).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from codegen_cli.evaluate.config import ScoringConfig
from codegen_cli.evaluate.problems import load_problems
from codegen_cli.evaluate.scoring import score

from .conftest import ALL_LANGUAGES, HUMANEVAL_X, require_toolchains, score_completions

CASES_DIR = Path(__file__).parent / "hostile" / "verdicts"
ZYGOTE = "Python runs its tests in the sample's process until the trusted-parent judge (helper zygote) lands"


@dataclass(frozen=True)
class Case:
    language: str
    name: str
    task_id: str
    kind: str  # the attack class (README.md in CASES_DIR)
    expect: str
    runtime: str
    completion: str
    zygote: bool = False  # Python/JS attacks that only the trusted-parent judge stops

    @property
    def id(self) -> str:
        return f"{self.language}-{self.name}"


def load_cases() -> list[Case]:
    cases = []
    for language in ALL_LANGUAGES:
        text = (CASES_DIR / f"{language}.txt").read_text(encoding="utf-8")
        for header, body in re.findall(r"^@@@ (.*)\n((?:(?!@@@ ).*\n?)*)", text, re.MULTILINE):
            fields = dict(item.split("=", 1) for item in header.split())
            cases.append(
                Case(
                    language,
                    fields["name"],
                    fields["task"],
                    fields["class"],
                    fields["expect"],
                    fields["runtime"],
                    body,
                    zygote=fields.get("zygote") == "1",
                )
            )
    return cases


CASES = load_cases()
LANGUAGES_WITH_TOOLCHAINS: list[str] = []


def _available() -> list[str]:
    if not LANGUAGES_WITH_TOOLCHAINS:
        for language in ALL_LANGUAGES:
            try:
                require_toolchains(language)
                LANGUAGES_WITH_TOOLCHAINS.append(language)
            except pytest.skip.Exception:
                pass
    return LANGUAGES_WITH_TOOLCHAINS


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> dict[str, dict]:
    """Result rows by case id, from one `codegen eval` over every case of the available languages."""
    folder = tmp_path_factory.mktemp("hostile")
    cases = [c for c in CASES if c.language in _available()]
    rows = [{"task_id": c.task_id, "sample_idx": i, "completion": c.completion} for i, c in enumerate(cases)]
    samples = folder / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    score(
        ScoringConfig(
            samples=samples,
            output=folder / "out",
            problems=str(HUMANEVAL_X),
            k=[1],
            workers=2,
            allow_code_execution=True,
        )
    )
    results = [json.loads(line) for line in (folder / "out" / "results.jsonl").read_text().splitlines()]
    return {cases[row["sample_idx"]].id: row for row in results}


@pytest.fixture(scope="module")
def unchecked() -> dict[str, object]:
    """Outcomes by case id with the static check bypassed: the harness and the sandbox alone."""
    cases = [c for c in CASES if c.language in _available()]
    problems = {p.task_id: p for p in load_problems(HUMANEVAL_X, tasks=sorted({c.task_id for c in cases}))}
    outcomes = score_completions(
        [problems[c.task_id] for c in cases], [c.completion for c in cases], static_check=False
    )
    return {c.id: outcome for c, outcome in zip(cases, outcomes)}


# Attacks still expected to pass (none: Python's tests run in the trusted judge since the zygote landed);
# strict xfail, so the first run that stops one fails here, which is the signal to drop the entry.
ZYGOTE_PENDING: set[str] = set()
ZYGOTE_PENDING_UNCHECKED: set[str] = set()


def _params(pending: set[str]) -> list:
    return [
        pytest.param(
            c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=ZYGOTE)] if c.id in pending else []
        )
        for c in CASES
    ]


@pytest.mark.parametrize("case", _params(ZYGOTE_PENDING))
def test_verdict(scored, case):
    require_toolchains(case.language)
    row = scored[case.id]
    assert row["status"] == case.expect, row
    if case.expect != "passed":
        assert row["reason"], row  # every refusal says why


@pytest.mark.parametrize("case", _params(ZYGOTE_PENDING_UNCHECKED))
def test_without_the_static_check(unchecked, case):
    require_toolchains(case.language)
    outcome = unchecked[case.id]
    assert outcome.status in case.runtime.split("|"), outcome


def test_suite_covers_every_class_in_every_language():
    """At least 40 attacks; the honest controls (1 MB, no newline, own tests) in every language (and more where a
    process model has its own ways to fail an honest program)."""
    attacks = [c for c in CASES if c.kind != "honest"]
    assert len(attacks) >= 40 and all(c.expect != "passed" for c in attacks)
    for language in ALL_LANGUAGES:
        honest = {c.name for c in CASES if c.language == language and c.kind == "honest"}
        assert {"honest_prints_1mb", "honest_no_trailing_newline", "honest_extra_tests"} <= honest
        kinds = {c.kind for c in CASES if c.language == language}
        assert {"forged", "tests-off", "hook", "stdin"} <= kinds or language == "python" and "stdin" in kinds
