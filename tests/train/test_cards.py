"""Model cards in RUN/hf and `codegen export -o`, and `--push-to-hub` up to the point that needs a network."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.train.conftest import run_cli, train_args

SUMMARY = {"format_version": 1, "benchmark": "humaneval-x", "k": [1], "pass_at_k": {"pass@1": 0.25},
           "per_language": {"python": {"pass_at_k": {"pass@1": 0.5}, "problems": 2, "samples": 2, "passed": 1},
                            "cpp": {"pass_at_k": {"pass@1": 0.0}, "problems": 2, "samples": 2, "passed": 0}}}


@pytest.fixture(scope="module")
def run(tokens_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("card") / "run"
    done = run_cli(train_args(tokens_dir, run, "--max-steps", "4", "--eval-every", "4"))
    assert done.returncode == 0, done.stderr[-2000:]
    return run


def test_run_hf_has_a_model_card_with_the_run_figures(run: Path) -> None:
    from huggingface_hub import ModelCard

    from codegen_cli.train.metrics import read_metrics

    card = ModelCard.load(run / "hf" / "README.md")
    assert card.data.library_name == "transformers" and card.data.pipeline_tag == "text-generation"
    assert card.data.model_name == "hf" and card.data.license == "other" and "Python" in card.data.tags
    rows = read_metrics(run / "metrics.jsonl")
    loss = [r for r in rows if "loss" in r][-1]["loss"]
    val = [r for r in rows if "val_loss" in r][-1]["val_loss"]
    state = json.loads((run / "checkpoints" / "step-00000004" / "trainer_state.json").read_text())
    for text in (f"final training loss: {loss:.4f} (step 4)", f"final validation loss: {val:.4f} (step 4)",
                 f"tokens seen: {state['tokens_seen']:,} over 4 optimizer steps", "| architecture | llama",
                 "Language tag style `comment`", "## Intended use", "Not evaluated yet"):
        assert text in card.text, text
    manifest = json.loads((run / "manifest.json").read_text())
    assert f"| parameters | {manifest['counts']['parameters']:,} |" in card.text


def test_export_card_has_eval_results_and_licence(run: Path, tmp_path: Path) -> None:
    from huggingface_hub import ModelCard

    results = tmp_path / "results"
    results.mkdir()
    (results / "summary.json").write_text(json.dumps(SUMMARY))
    out = tmp_path / "model"
    done = run_cli(["export", str(run), "-o", str(out), "--results", str(results), "--license", "apache-2.0"])
    assert done.returncode == 0, done.stderr[-2000:]
    card = ModelCard.load(out / "README.md")
    assert card.data.license == "apache-2.0" and card.data.model_name == "model"
    scores = {(r.dataset_config, r.metric_type): r.metric_value for r in card.data.eval_results}
    assert scores == {("C++", "pass@1"): 0.0, ("Python", "pass@1"): 0.5}
    assert "| Python | pass@1 | 0.5000 |" in card.text and "| all | pass@1 | 0.2500 |" in card.text
    missing = run_cli(["export", str(run), "-o", str(tmp_path / "x"), "--results", str(tmp_path)])
    assert missing.returncode == 2 and "summary.json" in missing.stderr


def _closed_port() -> int:
    with socket.socket() as sock:  # bound, never listening: a connection is refused at once
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_push_to_hub_without_a_network_is_one_line_and_exit_1(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    offline = run_cli(["export", str(run), "-o", str(out), "--push-to-hub", "me/tiny"],
                      env={"HF_HUB_OFFLINE": "1"})
    assert offline.returncode == 1, offline.stderr
    assert "offline mode is on (HF_HUB_OFFLINE=1)" in offline.stderr and f"hf upload me/tiny {out}" in offline.stderr
    assert (out / "model.safetensors").is_file() and (out / "README.md").is_file()  # nothing lost
    unreachable = run_cli(["export", str(run), "-o", str(out), "--push-to-hub", "me/tiny"],
                          env={"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": f"http://127.0.0.1:{_closed_port()}",
                               "HF_TOKEN": "hf_not_a_real_token"})
    assert unreachable.returncode == 1, unreachable.stderr
    assert "cannot reach the hub" in unreachable.stderr and "Traceback" not in unreachable.stderr
    bad = run_cli(["export", str(run), "-o", str(tmp_path / "never"), "--push-to-hub", "not//a repo"])
    assert bad.returncode == 2 and "not a repository id" in bad.stderr
    assert not (tmp_path / "never").exists()  # checked before the export
