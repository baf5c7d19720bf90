"""Red-team findings against `ExecutionReward` (issue 25's review): real sandbox, real warm runtimes."""

from __future__ import annotations

import pytest

from codegen_cli.reward import ExecutionReward
from tests.conftest import require_toolchains

# A user's own problem as MBPP-style sets write them: a bare signature (no docstring, so the prompt alone is
# not valid Python) and plain asserts that name the function (no check()).
BARE = {"task_id": "toy/bare-add", "language": "python", "prompt": "def add(a, b):\n",
        "test": "assert add(1, 2) == 3\nassert add(2, 2) == 4\n"}


@pytest.fixture(scope="module")
def reward():
    require_toolchains("python")
    with ExecutionReward([BARE], workers=1, timeout=5.0) as made:
        yield made


def test_a_bare_signature_prompt_scores_a_correct_completion(reward):
    """The judge proxied no name at all when the prompt did not parse on its own, so the test's `add` was a
    NameError and every correct completion scored 0 (a docstring in the prompt made the same problem pass)."""
    rows = reward.score(["    return a + b\n", "    return a - b\n"], task_id=["toy/bare-add"] * 2)
    assert [r.reward for r in rows] == [1.0, 0.0], [(r.status, r.reason) for r in rows]
