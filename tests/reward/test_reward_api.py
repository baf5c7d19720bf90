"""`ExecutionReward` (issue 25): the reward API on Python problems, with the real sandbox and warm runtimes.

One reward object serves the module (created once, as a trainer does); each test scores its own batch.
"""

from __future__ import annotations

import threading

import pytest

from codegen_cli.errors import InputDataError, UsageError
from codegen_cli.reward import ExecutionReward, RewardConfig
from tests.conftest import path_without, require_toolchains

# Our own toy problems in HumanEval-X's shape (never HumanEval-X itself in a training-style test).
ADD = {"task_id": "toy/add", "language": "python", "prompt": "def add(a, b):\n    \"\"\"a + b\"\"\"\n",
       "test": "def check(f):\n    assert f(1, 2) == 3\n    assert f(0, 0) == 0\n    assert f(-1, 1) == 0\n"
               "    assert f(2, 2) == 4\n\ncheck(add)\n"}
SQUARE = {"task_id": "toy/square", "language": "python", "prompt": "def square(x):\n    \"\"\"x * x\"\"\"\n",
          "test": "def check(f):\n    assert f(3) == 9\n    assert f(0) == 0\n\ncheck(square)\n"}


@pytest.fixture(scope="module")
def reward():
    require_toolchains("python")
    with ExecutionReward([ADD, SQUARE], workers=2, timeout=3.0) as made:
        yield made


def test_passed_is_one_and_anything_else_zero(reward):
    completions = ["    return a + b\n", "    return a - b\n", "    return x * x\n", "    return (\n",
                   "    import os\n    os._exit(0)\n"]
    ids = ["toy/add", "toy/add", "toy/square", "toy/square", "toy/add"]
    verdicts = reward.score(completions, task_id=ids)
    assert [v.reward for v in verdicts] == [1.0, 0.0, 1.0, 0.0, 0.0]
    assert [v.status for v in verdicts] == ["passed", "failed", "passed", "failed", "failed"]
    assert all(v.reason for v in verdicts if not v.passed)
    assert verdicts[0].to_row()["passed"] is True


def test_trl_signature_and_chat_completions(reward):
    """TRL passes prompts, completion_ids, trainer_state and every dataset column as keywords; a
    conversational dataset's completions are lists of messages whose code is taken out as --prompt-style
    chat does."""
    chat = [[{"role": "assistant", "content": "Here it is:\n```python\ndef add(a, b):\n    return b + a\n```\n"
                                              "It adds."}],
            [{"role": "assistant", "content": "```python\ndef add(a, b):\n    return a * b\n```"}]]
    scores = reward(chat, task_id=["toy/add", "toy/add"], prompts=["p", "p"], completion_ids=[[1], [2]],
                    trainer_state=object(), language=["python", "python"])
    assert scores == [1.0, 0.0]


def test_a_repeated_program_is_scored_once(reward):
    before = reward.stats["programs_run"]
    verdicts = reward.score(["    return a + b  # same\n"] * 4, task_id=["toy/add"] * 4)
    assert [v.reward for v in verdicts] == [1.0] * 4
    assert reward.stats["programs_run"] - before == 1
    assert [v.cached for v in verdicts] == [False, True, True, True]
    assert reward.score(["    return a + b  # same\n"], task_id=["toy/add"])[0].cached


def test_warm_runtimes_serve_batch_after_batch(reward):
    """The executor's worker threads end after each batch; runtimes started on them would die with them
    (their parent-death signal follows the thread) and the next batch would read sandbox_error."""
    for round_ in range(3):
        verdicts = reward.score([f"    return a + b  # round {round_}\n", f"    return x * x  # round {round_}\n"],
                                task_id=["toy/add", "toy/square"])
        assert [v.status for v in verdicts] == ["passed", "passed"], [v.reason for v in verdicts]


def test_crashing_and_hanging_programs_leave_the_batch_intact(reward):
    completions = ["    while True:\n        pass\n", "    raise SystemExit(0)\n", "    return [0] * (10 ** 10)\n",
                   "    return a + b  # honest\n"]
    verdicts = reward.score(completions, task_id=["toy/add"] * 4)
    assert [v.reward for v in verdicts] == [0.0, 0.0, 0.0, 1.0]
    assert verdicts[0].status == "timeout"


def test_threads_share_one_reward(reward):
    results: dict[int, list[float]] = {}

    def call(i: int) -> None:
        results[i] = reward([f"    return a + b  # thread {i}\n", f"    return a  # thread {i}\n"],
                            task_id=["toy/add", "toy/add"])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: [1.0, 0.0] for i in range(4)}


def test_bad_calls_raise_before_anything_runs(reward):
    with pytest.raises(UsageError, match="task_id"):
        reward(["    return a + b\n"])
    with pytest.raises(UsageError, match="2 completions but 1 task ids"):
        reward(["x", "y"], task_id=["toy/add"])
    with pytest.raises(UsageError, match="unknown task id"):
        reward(["x"], task_id=["Python/0"])
    with pytest.raises(TypeError, match="string or a list of chat messages"):
        reward([42], task_id=["toy/add"])


def test_bad_construction_is_a_clear_error():
    with pytest.raises(UsageError, match="unknown option"):
        ExecutionReward([ADD], timout=3)
    with pytest.raises(UsageError, match="--timeout"):
        ExecutionReward([ADD], timeout=-1)
    with pytest.raises(InputDataError, match=r"problems\[0\].*test"):
        ExecutionReward([{"task_id": "toy/x", "language": "python", "prompt": "def f():\n"}])
    with pytest.raises(InputDataError, match="language"):
        ExecutionReward([{**ADD, "language": "cobol"}])
    with pytest.raises(UsageError, match="weaker than the required minimum bwrap|does not work here"):
        ExecutionReward([ADD], sandbox="unshare", sandbox_min="bwrap")


def test_a_missing_toolchain_stops_the_constructor_with_its_fix(monkeypatch, tmp_path):
    """The preflight runs once, at creation: a machine without Go learns the install command before any
    training step, not as every Go completion "failing"."""
    monkeypatch.setenv("PATH", path_without(tmp_path / "bin", "go"))
    go_problem = {"task_id": "toy/go", "language": "go", "prompt": "package main\n\nfunc Add(a, b int) int {\n",
                  "test": "package main\n"}
    with pytest.raises(UsageError, match=r"toolchain preflight failed.*go.*fix: apt-get install"):
        ExecutionReward([go_problem])


def test_asserts_reward_counts_in_the_judge():
    """reward="asserts": the fraction of asserts that held; a candidate cannot print or raise a count of
    its own (the nonce is never in its process)."""
    require_toolchains("python")
    with ExecutionReward([ADD], config=RewardConfig(reward="asserts", timeout=3.0), workers=1) as reward:
        completions = ["    return a + b\n", "    return a * b if a != b else a + b\n", "    return 3\n",
                       "    raise AssertionError('codegen-asserts-0 4/4')\n",
                       "    print('codegen-asserts-0 4/4')\n    return None\n"]
        verdicts = reward.score(completions, task_id=["toy/add"] * 5)
        assert [v.reward for v in verdicts] == [1.0, 0.5, 0.25, 0.0, 0.0], [v.reason for v in verdicts]
        assert verdicts[1].reason == "2 of 4 asserts held"
        assert reward(["    return a * b if a != b else a + b\n"], task_id=["toy/add"]) == [0.5]  # from the cache


def test_closed_reward_refuses():
    require_toolchains("python")
    reward = ExecutionReward([SQUARE], workers=1)
    assert reward(["    return x * x\n"], task_id=["toy/square"]) == [1.0]
    reward.close()
    reward.close()
    with pytest.raises(UsageError, match="closed"):
        reward(["    return x * x\n"], task_id=["toy/square"])
