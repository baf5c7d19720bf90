"""`codegen train` / `codegen export` end to end on a real tokens folder (in-process CLI)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from codegen_cli.cli.app import app
from codegen_cli.train.metrics import read_metrics
from tests.train.conftest import train_args

STEPS = 100


def _invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tokens_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One tiny run shared by the tests below (treat it as read-only; copy before changing)."""
    run = tmp_path_factory.mktemp("trained") / "run"
    result = _invoke(*train_args(tokens_dir, run, "--seq-len", "64", "--micro-batch-size", "8",
                                 "--max-steps", str(STEPS), "--save-every", "40", "--eval-every", "50",
                                 "--json"))
    assert result.exit_code == 0, result.stderr
    return run, json.loads(result.stdout)


def test_loss_falls_well_below_uniform(trained: tuple[Path, dict]) -> None:
    run, summary = trained
    uniform = math.log(1024)
    rows = [r for r in read_metrics(run / "metrics.jsonl") if "loss" in r]
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))  # log_every=1: one row per step
    assert rows[0]["loss"] > uniform - 0.3  # starts near uniform
    last_ten = sum(r["loss"] for r in rows[-10:]) / 10  # per-batch losses are noisy: average the tail
    assert last_ten < uniform - 0.7 and rows[0]["loss"] - last_ten > 0.7
    assert summary["final_val_loss"] < uniform - 0.7
    assert summary["steps"] == STEPS and summary["tokens"] == STEPS * 8 * 64
    assert summary["val_perplexity"] == pytest.approx(math.exp(summary["final_val_loss"]))
    assert summary["mfu"] is None and summary["tokens_per_s"] > 0  # CPU: MFU n/a
    vals = [r for r in read_metrics(run / "metrics.jsonl") if "val_loss" in r]
    assert [r["step"] for r in vals] == [50, 100]


def test_run_folder_layout(trained: tuple[Path, dict]) -> None:
    run, summary = trained
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-00000040", "step-00000080",
                                                                       "step-00000100"]
    state = json.loads((run / "checkpoints" / "step-00000100" / "trainer_state.json").read_text())
    assert state["step"] == STEPS and state["tokens_seen"] == summary["tokens"] and state["world_size"] == 1
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["stage"] == "train" and manifest["counts"]["steps"] == STEPS
    assert "max_steps = 100" in (run / "config.toml").read_text()
    assert (run / "hf" / "model.safetensors").is_file() and (run / "hf" / "codegen_tokenizer.json").is_file()


def test_export_then_from_pretrained_and_generate(trained: tuple[Path, dict], tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from codegen_cli.tokenizer import read_tag_style

    run, _ = trained
    out = tmp_path / "model"
    result = _invoke("export", run, "-o", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["step"] == STEPS
    # the exported final checkpoint equals the model written at the end of training
    a, b = load_file(str(out / "model.safetensors")), load_file(str(run / "hf" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert read_tag_style(out) == "comment"
    model = AutoModelForCausalLM.from_pretrained(str(out))
    tok = AutoTokenizer.from_pretrained(str(out))
    ids = tok("# language: Python\ndef main(", return_tensors="pt")
    gen = model.generate(**ids, max_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id)
    assert gen.shape[1] == ids["input_ids"].shape[1] + 8 or gen[0, -1].item() == tok.eos_token_id
    assert isinstance(tok.decode(gen[0]), str)


def test_export_of_a_non_checkpoint_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert _invoke("export", tmp_path / "empty", "-o", tmp_path / "x").exit_code == 3
    assert _invoke("export", tmp_path / "missing", "-o", tmp_path / "x").exit_code == 2


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _last_train_shard(tokens: Path) -> Path:
    return tokens / json.loads((tokens / "meta.json").read_text())["splits"]["train"]["shards"][-1]


def _break_shard_length(tokens: Path) -> None:
    with _last_train_shard(tokens).open("ab") as handle:
        handle.write(b"\x01")


def _truncate_shard(tokens: Path) -> None:
    path = _last_train_shard(tokens)
    path.write_bytes(path.read_bytes()[:-200])


def _replace_tokenizer(tokens: Path) -> None:
    cfg = tokens / "tokenizer" / "tokenizer_config.json"
    data = json.loads(cfg.read_text())
    data["model_max_length"] = 123
    cfg.write_text(json.dumps(data))


def _wrong_stage(tokens: Path) -> None:
    path = tokens / "manifest.json"
    path.write_text(path.read_text().replace('"stage": "tokenize"', '"stage": "collect"'))


def _foreign_ids(tokens: Path) -> None:
    path = _last_train_shard(tokens)
    arr = np.fromfile(path, dtype="<u2")
    arr[:10] = 5000  # ids beyond the 1024-token vocabulary
    arr.tofile(path)


@pytest.mark.parametrize("damage, code, words", [
    (_break_shard_length, 3, "whole number"),
    (_truncate_shard, 3, "truncated"),
    (_replace_tokenizer, 3, "sha256"),
    (_wrong_stage, 3, "tokenize"),
    (_foreign_ids, 3, "vocab_size"),
])
def test_bad_tokens_folder_exits_3_and_leaves_the_run(trained, tokens_copy, tmp_path, damage, code, words):
    run = tmp_path / "run"
    shutil.copytree(trained[0], run)
    before = _snapshot(run)
    damage(tokens_copy)
    result = _invoke(*train_args(tokens_copy, run, "--seq-len", "64", "--micro-batch-size", "8",
                                 "--max-steps", "110", "--save-every", "1"))
    assert result.exit_code == code, result.stderr
    assert words in result.stderr and len(result.stderr.strip().splitlines()) <= 3
    assert _snapshot(run) == before  # every check runs before the run folder is touched


@pytest.mark.parametrize("args, code, words", [
    (("--preset", "gigantic"), 2, "gigantic"),
    (("--set", "optim.wd=0.1"), 2, "'wd'"),
    (("--set", "nonsense"), 2, "KEY=VALUE"),
    (("--seq-len", "10000000"), 3, "--seq-len"),
    (("--lr", "0.01"), 4, "config differs"),
    (("--resume", "never"), 4, "--force"),
    (("--micro-batch-size", "0"), 2, "--micro-batch-size"),
])
def test_bad_usage_exit_codes_leave_the_run(trained, tokens_dir, tmp_path, args, code, words):
    run = tmp_path / "run"
    shutil.copytree(trained[0], run)
    before = _snapshot(run)
    base = train_args(tokens_dir, run, "--seq-len", "64", "--micro-batch-size", "8", "--max-steps", "110")
    result = _invoke(*base, *args)
    assert result.exit_code == code, result.stderr
    assert words in result.stderr
    assert _snapshot(run) == before


def test_missing_tokens_folder(tmp_path: Path) -> None:
    result = _invoke(*train_args(tmp_path / "nope", tmp_path / "run", "--max-steps", "1"))
    assert result.exit_code == 2 and "codegen tokenize" in result.stderr  # no such path: usage, as everywhere
    assert not (tmp_path / "run").exists()


def test_resume_continues_a_finished_run_with_more_steps(trained, tokens_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained[0], run)
    result = _invoke(*train_args(tokens_dir, run, "--seq-len", "64", "--micro-batch-size", "8",
                                 "--max-steps", "103", "--save-every", "40", "--eval-every", "50", "--json"))
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["steps"] == 103 and summary["resumed_from"].endswith("step-00000100")
    steps = [r["step"] for r in read_metrics(run / "metrics.jsonl") if "loss" in r]
    assert steps == list(range(1, 104))


def test_rerun_of_a_finished_run_trains_nothing_and_says_so(trained, tokens_dir, tmp_path):
    """The same command again: "already complete", the stored losses, nothing written (was "resumed", loss n/a)."""
    run = tmp_path / "run"
    shutil.copytree(trained[0], run)
    metrics = (run / "metrics.jsonl").read_bytes()
    result = _invoke(*train_args(tokens_dir, run, "--seq-len", "64", "--micro-batch-size", "8",
                                 "--max-steps", str(STEPS), "--save-every", "40", "--eval-every", "50", "--json"))
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["already_complete"] and summary["steps"] == STEPS
    assert summary["final_train_loss"] == trained[1]["final_train_loss"] is not None
    assert "already trained 100 steps" in result.stderr and "resumed from" not in result.stderr
    assert (run / "metrics.jsonl").read_bytes() == metrics


def test_fewer_steps_than_already_trained_is_refused(trained, tokens_dir, tmp_path):
    """--max-steps 50 after 100 trained steps cannot be honoured by resuming: exit 4 naming the option."""
    run = tmp_path / "run"
    shutil.copytree(trained[0], run)
    result = _invoke(*train_args(tokens_dir, run, "--seq-len", "64", "--micro-batch-size", "8",
                                 "--max-steps", "50", "--save-every", "40", "--eval-every", "50"))
    assert result.exit_code == 4, result.stderr
    assert "--max-steps 50" in result.stderr and "already trained 100 steps" in result.stderr
    assert sorted(p.name for p in (run / "checkpoints").iterdir())[-1] == "step-00000100"


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tokens_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = _invoke(*train_args(tokens_dir, run, "--max-steps", "40", "--save-every", "2", "--lr", "1e6",
                                 "--set", "optim.warmup_steps=0", "--set", "optim.grad_clip=0"))
    assert result.exit_code == 1, result.stderr
    assert "loss became nan" in result.stderr and "last good checkpoint" in result.stderr
    saved = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert saved and all(json.loads((run / "checkpoints" / s / "trainer_state.json").read_text())["loss"] is not None
                         and math.isfinite(json.loads((run / "checkpoints" / s / "trainer_state.json").read_text())["loss"])
                         for s in saved)


def test_config_file_then_set_then_flags(tokens_dir: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('[train]\npreset = "tiny"\nseq_len = 32\nmicro_batch_size = 4\nmax_steps = 2\n'
                      'activation_checkpointing = true\n[train.optim]\nweight_decay = 0.0\n', encoding="utf-8")
    run = tmp_path / "run"
    result = _invoke("train", tokens_dir, "-o", run, "--config", recipe, "--set", "max_steps=5",
                     "--max-steps", "3", "--set", "optim.beta2=0.99", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["steps"] == 3  # flag beats --set beats the file
    written = (run / "config.toml").read_text()
    assert "activation_checkpointing = true" in written and "weight_decay = 0.0" in written
    assert "beta2 = 0.99" in written
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nmax_step = 3\n", encoding="utf-8")
    result = _invoke("train", tokens_dir, "-o", tmp_path / "run2", "--config", bad)
    assert result.exit_code == 2 and "max_step" in result.stderr


def test_every_top_level_key_is_a_flag(tokens_dir: Path, tmp_path: Path) -> None:
    """`codegen run` turns recipe keys into flags of the same name, so each must exist."""
    import dataclasses

    import typer

    from codegen_cli.train.config import TrainConfig

    command = typer.main.get_command(app).commands["train"]
    flags = {opt for param in command.params for opt in param.opts}
    for item in dataclasses.fields(TrainConfig):
        if item.name not in ("tokens", "model", "optim"):
            assert "--" + item.name.replace("_", "-") in flags, item.name
    run = tmp_path / "run"
    result = _invoke(*train_args(tokens_dir, run, "--max-steps", "2", "--no-export", "--log-every", "2",
                                 "--mixed-precision", "no", "--keep-checkpoints", "1", "--trackers", "",
                                 "--no-compile", "--eval-batches", "1", "--save-every", "1", "--json"))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["export_dir"] is None and not (run / "hf").exists()
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["step-00000002"]


def test_max_tokens_stops_and_bf16_autocast_runs_on_cpu(tokens_dir: Path, tmp_path: Path) -> None:
    result = _invoke(*train_args(tokens_dir, tmp_path / "run", "--max-tokens", "300", "--mixed-precision", "bf16",
                                 "--no-export", "--json"))
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["steps"] == 3 and summary["tokens"] == 3 * 4 * 32  # ceil(300 / 128 tokens per step)
    assert math.isfinite(summary["final_train_loss"]) and "precision bf16" in result.stderr


def test_out_of_memory_message_suggests_a_smaller_micro_batch() -> None:
    from codegen_cli.train.accelerator import oom_message
    from codegen_cli.train.config import TrainConfig, resolve

    text = oom_message(resolve(TrainConfig(max_steps=1, micro_batch_size=16, grad_accum=2)))
    assert "--micro-batch-size 8 --grad-accum 4" in text
    assert "activation_checkpointing" in oom_message(resolve(TrainConfig(max_steps=1, micro_batch_size=1)))


def test_resume_from_an_explicit_checkpoint_rolls_back(trained, tokens_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained[0], run)
    ckpt = run / "checkpoints" / "step-00000040"
    result = _invoke(*train_args(tokens_dir, run, "--seq-len", "64", "--micro-batch-size", "8",
                                 "--max-steps", str(STEPS), "--save-every", "40", "--eval-every", "50",
                                 "--resume", ckpt, "--json"))
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["resumed_from"] == str(ckpt) and summary["steps"] == STEPS
    rows = [r for r in read_metrics(run / "metrics.jsonl") if "loss" in r]
    original = [r for r in read_metrics(trained[0] / "metrics.jsonl") if "loss" in r]
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))
    assert [r["loss"] for r in rows] == pytest.approx([r["loss"] for r in original], rel=1e-5)


def test_gpt2_arch_trains_and_exports_in_bfloat16(tokens_dir: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    run = tmp_path / "run"
    result = _invoke(*train_args(tokens_dir, run, "--max-steps", "3", "--set", "model.arch=gpt2", "--json"))
    assert result.exit_code == 0, result.stderr
    assert math.isfinite(json.loads(result.stdout)["final_train_loss"])
    result = _invoke("export", run / "checkpoints" / "step-00000003", "-o", tmp_path / "bf16",
                     "--dtype", "bfloat16")
    assert result.exit_code == 0, result.stderr
    from safetensors.torch import load_file

    assert {t.dtype for t in load_file(str(tmp_path / "bf16" / "model.safetensors")).values()} == {torch.bfloat16}
    model = AutoModelForCausalLM.from_pretrained(str(tmp_path / "bf16"), dtype="auto")
    assert model.config.model_type == "gpt2" and model.dtype == torch.bfloat16
    assert model.config.n_positions == 32 and model.config.eos_token_id == 0
