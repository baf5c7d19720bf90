"""`codegen report` on stage folders: what each section draws, escaping, usage errors, and the page in a
real headless browser (no console message, scripts ran, charts on the screenshot)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.report.browser import open_page

HOSTILE = '</pre><script>document.title="pwned"</script><img src=x onerror=alert(1)>'


def _eval_folder(folder: Path) -> Path:
    """A results folder in the layout `codegen eval` writes (summary, results and samples rows)."""
    folder.mkdir(parents=True)
    summary = {"benchmark": "humaneval-x", "mode": "samples", "k": [1, 2], "pass_at_k": {"pass@1": 0.5, "pass@2": 0.75},
               "per_language": {"python": {"pass_at_k": {"pass@1": 0.75, "pass@2": 1.0}, "problems": 2,
                                           "samples": 4, "passed": 3},
                                "cpp": {"pass_at_k": {"pass@1": 0.25, "pass@2": 0.5}, "problems": 2,
                                        "samples": 4, "passed": 1}}}
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "manifest.json").write_text(json.dumps({"stage": "eval", "counts": {}}))
    rows, samples = [], []
    for task, lang in (("Python/0", "python"), ("Python/1", "python"), ("CPP/0", "cpp"), ("CPP/1", "cpp")):
        for idx in range(2):
            passed = (task, idx) != ("Python/1", 1) and lang == "python" or (task, idx) == ("CPP/0", 0)
            rows.append({"task_id": task, "language": lang, "sample_idx": idx, "passed": passed,
                         "status": "passed" if passed else "failed", "stdout": "", "stderr": HOSTILE})
            samples.append({"task_id": task, "language": lang, "sample_idx": idx, "completion": f"return {idx}  {HOSTILE}"})
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"torn": ')
    (folder / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in samples))
    return folder


def _translate_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    langs = ["python", "cpp", "java"]
    matrix = {"pass@1": {s: {t: (None if s == t else 0.1 * (i + j)) for j, t in enumerate(langs)}
                         for i, s in enumerate(langs)}}
    pairs = {f"{s}-to-{t}": {"pass_at_k": {"pass@1": matrix["pass@1"][s][t]}, "samples": 1}
             for s in langs for t in langs if s != t}
    (folder / "summary.json").write_text(json.dumps({"sources": langs, "targets": langs, "matrix": matrix,
                                                     "pairs": pairs, "mean_pass_at_k": {"pass@1": 0.2}}))
    _eval_folder(folder / "python-to-cpp")
    return folder


def test_eval_folder_report_escapes_hostile_text(cli, tmp_path: Path) -> None:
    results = _eval_folder(tmp_path / "results")
    done = cli("report", results, "--json")
    assert done.exit_code == 0, done.stderr
    summary = json.loads(done.stdout)
    page = (results / "report.html").read_text()
    assert summary["output"] == str(results / "report.html") and summary["problems"] == 4 and summary["charts"] == 1
    assert "pass@k per language" in page and page.count("<svg") == 1
    assert HOSTILE not in page and "&lt;/pre&gt;&lt;script&gt;" in page  # code and output are escaped
    assert page.index("CPP/0") < page.index("CPP/1") < page.index("Python/0")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)|url\(\s*["']?(https?:|//)|<link|@import""", page)


def test_translation_matrix_is_a_heatmap(cli, tmp_path: Path) -> None:
    folder = _translate_folder(tmp_path / "translate")
    done = cli("report", folder, "-o", tmp_path / "t.html", "--json")
    assert done.exit_code == 0, done.stderr
    page = (tmp_path / "t.html").read_text()
    assert "translation pass@1 (%), rows: source, columns: target" in page and "source language" in page
    assert json.loads(done.stdout)["problems"] == 4  # the pair folder's problems


def test_usage_errors(cli, tmp_path: Path) -> None:
    assert cli("report", tmp_path / "missing").exit_code == 2
    (tmp_path / "empty").mkdir()
    done = cli("report", tmp_path / "empty")
    assert done.exit_code == 2 and "neither a stage folder nor a workdir" in done.stderr


def test_page_in_a_headless_browser(cli, tmp_path: Path) -> None:
    work = tmp_path / "work"
    _eval_folder(work / "results")
    _translate_folder(work / "translate")
    assert cli("report", work).exit_code == 0
    dom, console = open_page(work / "report.html", tmp_path / "profile", screenshot=tmp_path / "shot.png")
    assert console == [], console  # no error, no warning, no log line of any kind
    assert 'data-ready="1"' in dom and "<title>codegen report: work</title>" in dom  # ours ran, the hostile one not
    assert (tmp_path / "shot.png").stat().st_size > 20_000
