"""Translation samples made elsewhere (`--task translate --samples FILE`), split into one list per pair.

Accepted rows (JSONL), all checked before anything is scored, every bad row reported at once:
- CodeGeeX: `{"task_id": "Python/3", "generation": ...}` in a file named like CodeGeeX's outputs,
  `..._python-to-cpp_...jsonl`: the task id names the SOURCE problem, the file name the pair.
- ours (what `--model` writes): `{"task_id": "CPP/3", "language": "cpp", "source_language": "python",
  "completion": ...}`: the task id names the TARGET problem.
- either, with explicit `source_language` / `target_language` fields (these win over the file name).
A pair still unknown after that is taken from `--source-language` / `--languages` when they name one
language each. The completion (or generation) is the target function's body, scored as the target
problem's completion. `sample_idx` is optional (else order of appearance per task and pair).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from codegen_cli.errors import InputDataError, UsageError
from codegen_cli.evaluate.samples import bad_index, raise_bad_rows, sample_fields
from codegen_cli.jsonl_store import JsonlStore
from codegen_cli.languages import EVAL_ALIASES, LANGUAGE_KEYS, language_key

Pair = tuple[str, str]
_NAMES = "|".join(re.escape(name) for name in EVAL_ALIASES)  # from the one language table
_FILE_PAIR = re.compile(rf"(?<![a-z])({_NAMES})-to-({_NAMES})(?![a-z])")


def pair_from_filename(path: Path) -> Pair | None:
    """(source, target) from a CodeGeeX-style file name such as `samples_python-to-cpp_n20.jsonl`."""
    match = _FILE_PAIR.search(path.name.lower())
    return (language_key(match.group(1)), language_key(match.group(2))) if match else None


def _key(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return language_key(value)
    except UsageError:
        return None


def _resolve(row: dict[str, Any], file_pair: Pair | None, default: tuple[str | None, str | None]) -> Pair | str:
    """(source, target) of one row, or an error message."""
    task_id = row.get("task_id")
    id_lang = _key(task_id.split("/", 1)[0]) if isinstance(task_id, str) and "/" in task_id else None
    if id_lang is None:
        return f"task id {task_id!r} names no HumanEval-X language"
    source = _key(row.get("source_language")) or (file_pair[0] if file_pair else None)
    target = _key(row.get("target_language")) or (file_pair[1] if file_pair else None)
    source = source or default[0]
    if target is None and source is not None and id_lang != source:
        target = id_lang  # our rows: the task id names the target problem
    target = target or default[1]
    if source is None and target is not None and id_lang != target:
        source = id_lang  # CodeGeeX rows: the task id names the source problem
    if source is None or target is None:
        return ("cannot tell the translation pair: add source_language/target_language fields, name the file "
                "like `x_python-to-cpp.jsonl`, or pass one --source-language and one --languages")
    if source == target:
        return f"source and target are both {source}; translation pairs need two languages"
    if id_lang not in (source, target):
        return f"task id {task_id!r} is neither the source ({source}) nor the target ({target}) language"
    return source, target


def read_translation_samples(
    path: Path,
    *,
    sources: list[str] | None,
    targets: list[str] | None,
    target_ids: dict[str, dict[int, str]],
) -> dict[Pair, list[dict[str, Any]]]:
    """Rows per pair, as samples rows of the target problems (`target_ids[lang][number]` = task id).

    Rows of pairs outside `sources` x `targets` (None: any) or of unselected problems are skipped.
    """
    file_pair = pair_from_filename(path)
    default = (sources[0] if sources and len(sources) == 1 else None,
               targets[0] if targets and len(targets) == 1 else None)
    errors: list[str] = []
    out: dict[Pair, dict[tuple[str, int], dict[str, Any]]] = {}
    next_idx: dict[tuple[Pair, str], int] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the samples file ({exc})") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parsed = _parse(line, file_pair, default)
        if isinstance(parsed, str):
            errors.append(f"line {number}: {parsed}")
            continue
        (source, target), num, idx, completion = parsed
        if (sources and source not in sources) or (targets and target not in targets):
            continue
        task_id = target_ids.get(target, {}).get(num)
        if task_id is None:
            continue  # a problem that is not selected (--tasks/--limit)
        pair = (source, target)
        idx = next_idx.get((pair, task_id), 0) if idx is None else idx
        next_idx[(pair, task_id)] = max(next_idx.get((pair, task_id), 0), idx + 1)
        rows = out.setdefault(pair, {})
        if (task_id, idx) in rows:
            errors.append(f"line {number}: duplicate sample {source}-to-{target} {task_id} #{idx}")
            continue
        rows[(task_id, idx)] = {"task_id": task_id, "language": target, "source_language": source,
                                "sample_idx": idx, "completion": completion}
    raise_bad_rows(path, errors, "translation sample")
    if not out:
        raise InputDataError(f"{path}: no translation samples for the selected pairs and problems "
                             "(check --source-language, --languages, --tasks)")
    return {pair: sorted(rows.values(), key=lambda r: (_num(r["task_id"]), r["sample_idx"]))
            for pair, rows in sorted(out.items(), key=lambda kv: _pair_order(kv[0]))}


def _parse(line: str, file_pair: Pair | None, default) -> tuple[Pair, int, int | None, str] | str:
    fields = sample_fields(line)
    if isinstance(fields, str):
        return fields
    row, task_id, completion, _ = fields
    try:
        num = int(task_id.rsplit("/", 1)[-1])
    except ValueError:
        return f"task id {task_id!r} has no problem number"
    pair = _resolve(row, file_pair, default)
    if isinstance(pair, str):
        return pair
    idx = row.get("sample_idx")
    return bad_index(idx) or (pair, num, idx, completion)


def _num(task_id: str) -> int:
    return int(task_id.rsplit("/", 1)[-1])


def _pair_order(pair: Pair) -> tuple[int, int]:
    return LANGUAGE_KEYS.index(pair[0]), LANGUAGE_KEYS.index(pair[1])


def write_pair_samples(path: Path, rows: list[dict[str, Any]]) -> None:
    """The pair folder's samples.jsonl: earlier rows kept, new ones added; a changed completion is refused
    (the scoring engine's rule: a result already in results.jsonl must keep matching its sample)."""
    JsonlStore(path, what="sample row").merge(rows, order=lambda r: (_num(r["task_id"]), int(r["sample_idx"])))
