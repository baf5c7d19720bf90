"""The reward API and the judge service give `codegen eval`'s verdicts (issue 25), and a hostile completion
cannot change another completion's reward in the same batch.

The completions are the honest controls and attacks of tests/evaluate/hostile/verdicts/ (every class the
static check, the judges and the sandbox stop), in all six languages, scored three ways: one `codegen eval`
run, one `ExecutionReward` batch and one batch through `codegen judge serve` on a unix socket.
"""

from __future__ import annotations

import json

import pytest

from codegen_cli.evaluate.config import ScoringConfig
from codegen_cli.evaluate.problems import load_problems
from codegen_cli.evaluate.scoring import score
from codegen_cli.reward import ExecutionReward
from codegen_cli.reward.client import JudgeClient
from tests.conftest import require_toolchains
from tests.evaluate.conftest import ALL_LANGUAGES, HUMANEVAL_X
from tests.evaluate.test_hostile_verdicts import CASES, Case
from tests.reward.conftest import start_judge, stop_judge

pytestmark = pytest.mark.slow

# Cases per language that build and run (honest controls first, then attacks) and that the static check
# refuses: enough for every verdict path of each language, few enough to score three times in about a minute.
RUNNING_PER_LANGUAGE = {"python": 12, "js": 10, "cpp": 3, "go": 3, "java": 3, "rust": 2}
TAMPERED_PER_LANGUAGE = 1


def _chosen(languages: list[str]) -> list[Case]:
    chosen = []
    for language in languages:
        mine = [c for c in CASES if c.language == language]
        honest = [c for c in mine if c.kind == "honest"]
        attacks = [c for c in mine if c.kind != "honest" and c.expect != "tampered"]
        limit = RUNNING_PER_LANGUAGE[language]
        chosen += (attacks[: max(1, limit - len(honest))] + honest)[:limit]
        chosen += [c for c in mine if c.expect == "tampered"][:TAMPERED_PER_LANGUAGE]
    return chosen


def test_api_and_service_give_codegen_evals_verdicts(tmp_path):
    languages = []
    for language in ALL_LANGUAGES:
        require_toolchains(language)  # CI has all six: a missing one fails there, skips elsewhere
        languages.append(language)
    cases = _chosen(languages)
    completions, ids = [c.completion for c in cases], [c.task_id for c in cases]

    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps({"task_id": t, "sample_idx": i, "completion": c}) + "\n"
                               for i, (t, c) in enumerate(zip(ids, completions))))
    score(ScoringConfig(samples=samples, output=tmp_path / "eval", problems=str(HUMANEVAL_X), k=[1], workers=2,
                        allow_code_execution=True))
    rows = [json.loads(line) for line in (tmp_path / "eval" / "results.jsonl").read_text().splitlines()]
    by_eval = {row["sample_idx"]: row["status"] for row in rows}

    with ExecutionReward(languages=languages, workers=2) as reward:
        api = reward.score(completions, task_id=ids)

    socket_path = tmp_path / "j.sock"
    proc, _ = start_judge("-l", ",".join(languages), "--workers", "2", socket_path=socket_path)
    try:
        served = JudgeClient(f"unix:{socket_path}").score(completions, task_id=ids)
    finally:
        summary = stop_judge(proc)
    assert summary["requests"] == 1 and summary["completions"] == len(cases)
    assert not socket_path.exists()

    for i, case in enumerate(cases):
        seen = (by_eval[i], api[i].status, served[i]["status"])
        assert seen == (case.expect,) * 3, (case.id, seen, api[i].reason, served[i]["reason"])
        assert api[i].reward == served[i]["reward"] == (1.0 if case.expect == "passed" else 0.0), case.id
    assert {c.language for c in cases} == set(languages)
    assert {"passed", "failed", "tampered"} <= {c.expect for c in cases}


# --- isolation: hostile neighbours ------------------------------------------------------------------------

HOSTILE = {
    "python": [
        ("    import os, signal\n    for pid in range(2, 4096):\n        try:\n            os.kill(pid, signal.SIGKILL)\n"
         "        except OSError:\n            pass\n    os.kill(-1, signal.SIGKILL)\n"),
        "    import os\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass\n",
        ("    import os, glob\n    for path in glob.glob('/tmp/**', recursive=True) + glob.glob('../**', recursive=True):\n"
         "        try:\n            open(path, 'w').write('def has_close_elements(*a): return True')\n"
         "        except OSError:\n            pass\n    return True\n"),
        "    x = []\n    while True:\n        x.append(bytearray(1 << 24))\n",
        "    import sys\n    print('CODEGEN-TESTS-DONE-0 done\\npassed' * 1000)\n    sys.stdout.flush()\n    return True\n",
    ],
    "cpp": [
        "    std::vector<long> hog;\n    while (true) hog.push_back(1);\n}\n",
        "    while (true) printf(\"CODEGEN-TESTS-DONE-0 done\\npassed\\n\");\n}\n",
    ],
    "js": [
        "  try { process.kill(-1, 'SIGKILL'); } catch (e) {}\n  while (true) {}\n}\n",
        "  const a = []; while (true) a.push(new Array(1e6).fill(1));\n}\n",
    ],
}


def _honest(problems: dict) -> tuple[list[str], list[str]]:
    """Canonical solutions (must pass) and wrong answers (must fail), per language."""
    completions, ids = [], []
    wrong = {"python": "    return 0\n", "cpp": "    return {};\n}\n", "js": "  return 0;\n}\n"}
    for task in ("Python/0", "Python/2", "CPP/0", "CPP/2", "JavaScript/0", "JavaScript/2"):
        problem = problems[task]
        completions += [problem.canonical_solution, wrong[problem.language]]
        ids += [task, task]
    return completions, ids


def test_a_hostile_completion_cannot_change_another_ones_reward():
    require_toolchains("python", "cpp", "js")
    problems = {p.task_id: p for p in load_problems(HUMANEVAL_X, languages=["python", "cpp", "js"])}
    honest, honest_ids = _honest(problems)
    task_of = {"python": "Python/0", "cpp": "CPP/0", "js": "JavaScript/0"}
    attacks = [(text, task_of[language]) for language, texts in HOSTILE.items() for text in texts]
    # every attack sits between honest completions, and runs while they run (2 workers)
    mixed, mixed_ids, where = [], [], []
    for i, (text, task) in enumerate(zip(honest, honest_ids)):
        where.append(len(mixed))
        mixed.append(text)
        mixed_ids.append(task)
        if i < len(attacks):
            mixed.append(attacks[i][0])
            mixed_ids.append(attacks[i][1])
    for text, task in attacks[len(honest):]:
        mixed.append(text)
        mixed_ids.append(task)
    with ExecutionReward(languages=["python", "cpp", "js"], workers=2, timeout=3.0, cache_size=0) as reward:
        alone = reward(honest, task_id=honest_ids)
        together = reward(mixed, task_id=mixed_ids)
        after = reward(honest, task_id=honest_ids)
    assert alone == [1.0, 0.0] * 6
    assert [together[i] for i in where] == alone
    assert sum(together) == sum(alone)  # every attack scored 0.0
    assert after == alone  # and none of them left anything behind for a later batch
