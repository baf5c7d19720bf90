"""`codegen run pipelines/smoke.toml` end to end: every stage for real, then skip-if-unchanged and --force."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SMOKE = Path(__file__).resolve().parents[2] / "pipelines" / "smoke.toml"


def _run(*args, cwd):
    proc = subprocess.run([sys.executable, "-m", "codegen_cli", "run", str(SMOKE), *args, "--json"],
                          cwd=cwd, capture_output=True, text=True, timeout=1500)
    return proc


@pytest.mark.slow
def test_smoke_recipe_end_to_end_then_skips(tmp_path):
    work = tmp_path / "work"
    proc = _run("--set", f"workdir={work}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    assert [s["stage"] for s in summary["stages"]] == ["collect", "tokenize", "train", "eval"]
    assert all(s["status"] == "ran" for s in summary["stages"])
    for folder in ("corpus", "tokens", "run", "results"):
        assert (work / folder / "manifest.json").is_file() or (work / folder / "summary.json").is_file(), folder
    assert (work / "run" / "hf" / "model.safetensors").is_file()
    results = json.loads((work / "results" / "summary.json").read_text())
    assert "pass@1" in json.dumps(results)
    eval_stage = summary["stages"][-1]["summary"]
    assert eval_stage["generation"]["requested"] == 20
    assert "pass@1" in proc.stderr  # the table at the end

    again = _run("--set", f"workdir={work}", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert [s["status"] for s in json.loads(again.stdout)["stages"]] == ["up to date"] * 4

    forced = _run("--set", f"workdir={work}", "--force", "eval", "--from", "train", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert [s["status"] for s in json.loads(forced.stdout)["stages"]] == ["up to date", "ran"]


def test_failing_stage_stops_with_its_exit_code(tmp_path, cli):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(f'workdir = "{tmp_path / "w"}"\n[collect]\nsources = ["{tmp_path / "missing"}"]\n'
                      '[tokenize]\nvocab_size = 1000\n')
    result = cli("run", recipe)
    assert result.exit_code == 2
    assert "stage collect failed" in result.stderr and "missing" in result.stderr
    assert not (tmp_path / "w" / "tokens").exists()
