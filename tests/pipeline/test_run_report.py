"""`codegen run` on a tiny recipe: each stage's table is printed when that stage ends (not all at the end),
and WORKDIR/report.html is written at the end and loads in a real headless browser with its charts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.report.browser import open_page

REPO = Path(__file__).resolve().parents[2]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
RECIPE = """workdir = "{work}"
[collect]
sources = ["{src}"]
[tokenize]
vocab_size = 600
val_fraction = 0.2
[train]
preset = "tiny"
seq_len = 64
micro_batch_size = 4
max_steps = 12
save_every = 12
eval_every = 6
log_every = 2
[eval]
benchmark = "humaneval"
languages = ["python"]
limit = 3
n_samples = 2
temperature = 0.8
max_new_tokens = 16
k = [1, 2]
allow_code_execution = true
"""


@pytest.mark.slow
def test_tables_as_stages_end_and_the_report_in_a_browser(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("textwrap.py", "shlex.py", "fnmatch.py", "bisect.py", "heapq.py", "colorsys.py", "glob.py"):
        shutil.copy(STDLIB / name, src / name)
    work = tmp_path / "work"
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE.format(work=work, src=src))
    done = subprocess.run([sys.executable, "-m", "codegen_cli", "run", str(recipe), "--json"], cwd=REPO,
                          capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    err = done.stderr
    # each stage's own table comes right after that stage's work, before the next stage starts
    order = [err.index(mark) for mark in ("codegen collect (done", "== tokenize", "codegen tokenize (done",
                                          "== train", "codegen train", "== eval", "codegen eval (", "report: ",
                                          "codegen run ")]
    assert order == sorted(order), order
    summary = json.loads(done.stdout)
    assert summary["report"] == str(work / "report.html")
    page = (work / "report.html").read_text()
    for title in ("language mix (kept)", "tokenizer efficiency per language", "optimizer step",
                  "pass@k per language", "HumanEval/0", "HumanEval/2"):
        assert title in page, title
    assert page.count("<svg") == 4
    dom, console = open_page(work / "report.html", tmp_path / "profile", screenshot=tmp_path / "report.png")
    assert console == [] and 'data-ready="1"' in dom
    assert (tmp_path / "report.png").stat().st_size > 50_000
