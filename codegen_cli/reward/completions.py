"""What an RL trainer hands a reward function, turned into what the scorer runs.

Problems: the packaged HumanEval-X, a file/folder/hub id (`evaluate.problems.load_problems`), or a list of
the user's own problems as dicts in HumanEval-X's shape (`task_id`, `prompt`, `test`, optional
`language`, `entry_point`, `declaration`, `canonical_solution`) or `Problem` objects.

Completions: TRL passes a plain-text dataset's completions as strings (the text that follows the prompt)
and a conversational dataset's as lists of messages (`[{"role": "assistant", "content": ...}]`). A list
of messages is a chat reply: its code is taken out and fitted to the problem exactly as
`codegen eval --prompt-style chat` does (`generation.chat.extract_code`, then `generation.reconcile`).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from codegen_cli.errors import InputDataError, UsageError
from codegen_cli.evaluate.problems import Problem, load_problems
from codegen_cli.languages import language_key

ProblemsArg = str | Path | Sequence[Problem | Mapping[str, Any]] | None


def _problem(row: Problem | Mapping[str, Any], index: int) -> Problem:
    if isinstance(row, Problem):
        return row
    if not isinstance(row, Mapping):
        raise UsageError(f"problems[{index}]: a dict with task_id, prompt and test, got {type(row).__name__}")
    missing = [key for key in ("task_id", "prompt", "test") if not isinstance(row.get(key), str)]
    if missing:
        raise InputDataError(f"problems[{index}]: missing or non-string {', '.join(missing)} (HumanEval-X's "
                             "shape: task_id, prompt, test, and language unless the task id starts with it)")
    task_id = row["task_id"]
    try:
        language = language_key(str(row.get("language") or task_id.split("/", 1)[0]))
    except UsageError as exc:
        raise InputDataError(f"problems[{index}] ({task_id}): {exc}; give a `language` field "
                             "(python, cpp, java, js, go or rust)") from exc
    known = {"task_id", "language", "prompt", "declaration", "canonical_solution", "test", "example_test"}
    return Problem(task_id=task_id, language=language, prompt=row["prompt"],
                   declaration=str(row.get("declaration") or ""),
                   canonical_solution=str(row.get("canonical_solution") or ""), test=row["test"],
                   example_test=str(row.get("example_test") or ""),
                   extra={k: v for k, v in row.items() if k not in known and isinstance(v, str)})


def resolve_problems(problems: ProblemsArg, *, benchmark: str, languages: list[str]) -> list[Problem]:
    """The problems the reward scores against; raises UsageError/InputDataError naming the bad entry."""
    if isinstance(problems, (str, Path)) and Path(problems).exists():
        chosen = _read(Path(problems))
    elif problems is None or isinstance(problems, (str, Path)):
        return load_problems(problems, benchmark=benchmark, languages=languages or None)
    else:
        chosen = [_problem(row, i) for i, row in enumerate(problems)]
    if languages:
        chosen = [p for p in chosen if p.language in languages]
    seen: set[str] = set()
    for problem in chosen:
        if problem.task_id in seen:
            raise InputDataError(f"problems: task id {problem.task_id!r} appears twice")
        seen.add(problem.task_id)
    if not chosen:
        raise UsageError("no problems given (or none in the selected languages)")
    return chosen


def _read(path: Path) -> list[Problem]:
    """Problems from a .jsonl(.gz) file or a folder of them. Unlike `codegen eval --problems`, a row may give
    its `language` and any task id (`mine/add`): a training set is not HumanEval-X."""
    files = sorted(p for p in path.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz"))) if path.is_dir() else [path]
    if not files:
        raise InputDataError(f"{path}: no .jsonl or .jsonl.gz problem files in this folder")
    chosen = []
    for file in files:
        try:
            with (gzip.open(file, "rt", encoding="utf-8") if file.suffix == ".gz" else file.open(encoding="utf-8")) as handle:
                lines = list(handle)
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise InputDataError(f"{file}: unreadable ({exc}); expected UTF-8 JSON lines") from exc
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise InputDataError(f"{file}:{number}: invalid JSON ({exc})") from exc
            try:
                chosen.append(_problem(row, number - 1))
            except (InputDataError, UsageError) as exc:
                raise InputDataError(f"{file}:{number}: {exc}") from exc
    return chosen


def reply_text(completion: Any) -> str | None:
    """The assistant's text of a chat-format completion (a list of messages, or one message dict), or None
    when `completion` is not in chat format."""
    if isinstance(completion, Mapping):
        completion = [completion]
    if not isinstance(completion, (list, tuple)):
        return None
    parts = []
    for message in completion:
        if not isinstance(message, Mapping):
            return None
        if message.get("role", "assistant") == "assistant":
            content = message.get("content")
            if isinstance(content, list):  # multimodal form: [{"type": "text", "text": ...}]
                content = "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
            parts.append(str(content or ""))
    return "\n".join(parts)


def completion_text(problem: Problem, completion: Any, fmt: str) -> str:
    """The completion scored as prompt + completion + tests, from what the trainer passed (`fmt`: auto,
    completion or chat; see the module docstring). Raises TypeError for anything that is neither text nor a
    list of messages."""
    reply = reply_text(completion)
    if reply is None and not isinstance(completion, str):
        raise TypeError(f"a completion must be a string or a list of chat messages, got {type(completion).__name__}")
    if reply is None and fmt != "chat":
        return completion
    return fit_reply(problem, completion if reply is None else reply)


def fit_reply(problem: Problem, reply: str) -> str:
    """A chat reply's code as the completion of `problem`, as `--prompt-style chat` makes it."""
    from codegen_cli.generation.chat import extract_code
    from codegen_cli.generation.reconcile import entry_name, reconcile

    return reconcile(problem, extract_code(reply, entry_name(problem), problem.language))
