"""HumanEval-X data bugs: canonical solutions that are expected NOT to pass our (unweakened) checker.

`--check-references` reports these separately instead of failing the run. Each entry says what happens
with the v1 data and why; docs/eval.md carries the same table. `expect`:
  fail    the canonical solution fails on every run (a bug in the data, not in the evaluator);
  flaky   it passes on some runs only;
  pass    a data quirk the evaluator handles, listed so nobody "fixes" it twice.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownBug:
    expect: str  # fail | flaky | pass
    reason: str


KNOWN_BUGS: dict[str, KnownBug] = {
    "JavaScript/112": KnownBug(
        "fail",
        "canonical returns `(z, false)` (comma operator: just a boolean); the v1 test expects ['bcd', false]",
    ),
    "JavaScript/155": KnownBug(
        "fail", "canonical misses the num == 0 case (expects [1, 0]) that the v1 test checks"
    ),
    "JavaScript/162": KnownBug("pass", "needs the npm package js-md5, installed once into the tool cache"),
    "JavaScript/32": KnownBug(
        "pass",
        "its example_test calls testfindZero(), defined only in the full test; "
        "only the full test is run here",
    ),
    "Go/65": KnownBug(
        "pass", "prompt lacks the import block (strconv) its solution needs; imports are rebuilt"
    ),
    "Go/95": KnownBug("flaky", "canonical depends on Go's random map iteration order (passes ~60 % of runs)"),
    "Rust/32": KnownBug(
        "fail", "the test module is commented out: 0 tests run, which never counts as a pass"
    ),
    "Rust/50": KnownBug(
        "fail", "the test calls rand's pre-0.8 `gen_range(a, b)`; rand 0.8 (Debian) rejects it"
    ),
}


def expected_failure(task_id: str) -> KnownBug | None:
    """The known bug that allows this canonical solution not to pass, if any."""
    bug = KNOWN_BUGS.get(task_id)
    return bug if bug is not None and bug.expect in ("fail", "flaky") else None
