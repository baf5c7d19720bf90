"""`codegen run` never hands back a stale stage (issue 17): changed sources rerun collect, `--force` really
recomputes, options that cannot be honoured by resuming are refused naming the option, and a stage that
found nothing to do is reported "up to date", never "ran"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.collect.conftest import python_source, write_files


def _recipe(tmp_path: Path, *, train: bool = False) -> Path:
    src = write_files(tmp_path / "src", {f"m{i:02d}.py": python_source(i, lines=60) for i in range(24)})
    text = f'workdir = "{tmp_path / "w"}"\n[collect]\nsources = ["{src}"]\nworkers = 1\n'
    if train:
        text += ('[tokenize]\nvocab_size = 400\nval_fraction = 0.1\nworkers = 1\n'
                 '[train]\npreset = "tiny"\nseq_len = 32\nmicro_batch_size = 2\nmax_steps = 4\nsave_every = 2\n'
                 'eval_every = 2\nlog_every = 1\n')
    recipe = tmp_path / "r.toml"
    recipe.write_text(text)
    return recipe


def _run(cli, recipe: Path, *args: str) -> tuple[dict, str]:
    result = cli("run", recipe, *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def _statuses(summary: dict) -> list[str]:
    return [stage["status"] for stage in summary["stages"]]


def test_an_added_source_file_reruns_collect_and_dry_run_says_why(cli, tmp_path: Path):
    recipe = _recipe(tmp_path)
    first, _ = _run(cli, recipe)
    assert _statuses(first) == ["ran"] and first["stages"][0]["summary"]["documents"] == 24
    again, err = _run(cli, recipe)
    assert _statuses(again) == ["up to date"] and "up to date" in err

    write_files(tmp_path / "src", {"new.py": python_source(99, lines=60)})
    plan, err = _run(cli, recipe, "--dry-run")
    assert _statuses(plan) == ["planned"] and "1 file added" in plan["stages"][0]["reason"]
    assert "collect: runs (its sources changed" in err and "1 file added" in err
    rerun, _ = _run(cli, recipe)  # was: skipped as unchanged, 24 documents
    assert _statuses(rerun) == ["ran"] and rerun["stages"][0]["summary"]["documents"] == 25


def test_force_really_recomputes(cli, tmp_path: Path):
    recipe = _recipe(tmp_path)
    _run(cli, recipe)
    write_files(tmp_path / "src", {"new.py": python_source(99, lines=60)})
    forced, err = _run(cli, recipe, "--force", "collect")  # was: "already complete" with the old count
    stage = forced["stages"][0]
    assert stage["status"] == "ran" and stage["reason"] == "--force"
    assert not stage["summary"]["already_complete"] and stage["summary"]["documents"] == 25
    assert (tmp_path / "w" / "corpus.previous" / "manifest.json").is_file()  # the old output is kept aside


@pytest.mark.slow
def test_fewer_steps_than_trained_is_refused_and_rerun_is_up_to_date(cli, tmp_path: Path):
    recipe = _recipe(tmp_path, train=True)
    first, _ = _run(cli, recipe)
    assert _statuses(first) == ["ran", "ran", "ran"]

    fewer = cli("run", recipe, "--from", "train", "--set", "train.max_steps=2", "--json")
    assert fewer.exit_code == 4, fewer.stderr  # was: "resumed from step 4", nothing trained, reported "ran"
    assert "--max-steps 2" in fewer.stderr and "already trained 4 steps" in fewer.stderr

    (tmp_path / "w" / ".codegen-run" / "train.json").unlink()  # no record: train runs, finds it all done
    done, err = _run(cli, recipe, "--from", "train")
    assert _statuses(done) == ["up to date"] and done["stages"][0]["summary"]["already_complete"]
    assert "already trained 4 steps" in err

    more, _ = _run(cli, recipe, "--from", "train", "--set", "train.max_steps=6")
    stage = more["stages"][0]
    assert stage["status"] == "ran" and stage["summary"]["steps"] == 6
    assert "max_steps 4 -> 6" in stage["reason"] and stage["summary"]["resumed_from"].endswith("step-00000004")


@pytest.mark.slow
def test_a_changed_corpus_makes_later_stages_start_fresh(cli, tmp_path: Path):
    recipe = _recipe(tmp_path, train=True)
    _run(cli, recipe)
    write_files(tmp_path / "src", {"new.py": python_source(99, lines=60)})
    rerun, err = _run(cli, recipe)  # tokenize used to stop with exit 4 ("made with other ... input")
    assert _statuses(rerun) == ["ran", "ran", "ran"]
    assert "its input corpus/ changed" in rerun["stages"][1]["reason"]
    assert rerun["stages"][2]["summary"]["resumed_from"] is None  # a new run on the new tokens
    assert (tmp_path / "w" / "run.previous" / "hf").is_dir()
