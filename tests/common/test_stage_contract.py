"""The stage contract (issue 14): every command's options, recipe keys, --help, --config/--print-config and the
docs tables come from its config dataclass, so they cannot drift apart."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from codegen_cli.config import from_mapping, to_toml
from codegen_cli.errors import UsageError
from codegen_cli.options import doc_tables, option_specs, sync_docs
from codegen_cli.stages import PIPELINE, STAGES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
WIDE = {"COLUMNS": "400", "TERMINAL_WIDTH": "400"}


def _help(cli, command: str) -> str:
    result = cli(command, "--help", env=WIDE)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _flat(text: str) -> str:
    """Help text without Rich's box drawing and wrapping, for substring checks."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize("name", list(STAGES))
def test_option_names_and_flags_are_unique(name):
    specs = option_specs(STAGES[name].config_class())  # raises TypeError on a clash
    assert specs


@pytest.mark.parametrize("name", PIPELINE)
def test_every_flag_is_its_recipe_key(name):
    """DESIGN §2: every CLI option of a stage has the same name as its recipe key."""
    for spec in option_specs(STAGES[name].config_class()):
        if not spec.positional:
            assert spec.long_flag == "--" + spec.name.replace("_", "-"), spec


@pytest.mark.parametrize("command,flag,default", [
    # the 11 defaults Rich deleted from --help (help strings carried "[default: X]")
    ("tokenize", "--vocab-size", "32768"), ("tokenize", "--tag-style", "(token; comment with a pretrained --tokenizer)"),
    ("tokenize", "--val-fraction", "0.01"), ("tokenize", "--sample-bytes", "1000000000"),
    ("tokenize", "--dtype", "auto"), ("tokenize", "--shard-tokens", "100000000"),
    ("train", "--log-every", "10"), ("train", "--keep-checkpoints", "3"), ("train", "--mixed-precision", "auto"),
    ("train", "--export", "export"), ("eval", "-k", "(1,10,100; 1 with --check-references)"),
    # the four that showed none
    ("train", "--preset", "tiny"), ("train", "--seed", "1234"), ("train", "--save-every", "500"),
    ("train", "--eval-every", "500"),
])
def test_help_shows_every_default(cli, command, flag, default):
    lines = [line for line in _help(cli, command).splitlines() if re.search(rf"(^|\s){re.escape(flag)}(\s|/|$)", line)]
    assert lines, f"{flag} not in `codegen {command} --help`"
    assert any(f"[default: {default}]" in line for line in lines), lines


@pytest.mark.parametrize("name", list(STAGES))
def test_help_shows_every_option_with_its_dataclass_help(cli, name):
    text = _flat(_help(cli, name))
    for spec in option_specs(STAGES[name].config_class()):
        assert (spec.metavar if spec.positional else spec.long_flag) in text, spec.name
        assert " ".join(spec.help.split()[:6]) in text, spec.name
        assert "[default:" not in spec.help  # Rich reads it as markup and deletes it


@pytest.mark.parametrize("command,panels", [
    ("train", ["Data and length", "Checkpoints and logging", "Performance", "Model", "Optimizer"]),
    ("eval", ["Problems and scoring", "Sandbox", "Generation (--model)", "Translation (--task translate)"]),
    ("collect", ["Sources", "Filters", "Dedup", "Running"]),
])
def test_options_are_grouped_in_panels(cli, command, panels):
    text = _help(cli, command)
    for panel in panels:
        assert f"╭─ {panel} " in text, panel


# One command line per command, with options off their defaults, nested ones included.
COMMAND_LINES = {
    "collect": ["src1", "src2", "-o", "c", "--keep-vendored", "--ngram-size", "7", "--languages", "py,cpp"],
    "tokenize": ["corpus", "-o", "t", "--vocab-size", "1000", "--verify", "--chunk-docs", "5"],
    "train": ["tokens", "-o", "r", "--lr", "0.01", "--num-layers", "3", "--no-export", "--trackers", "a,b"],
    "export": ["run", "-o", "m", "--dtype", "bfloat16"],
    "eval": ["--model", "m", "-l", "py", "-l", "cpp", "-k", "1,5", "-n", "5", "--temperature", "0.2",
             "--task", "translate", "--source-language", "python", "--timeout", "3"],
    "generate": ["def f():", "-m", "m", "-l", "python", "--top-k", "5"],
    "run": ["pipelines/smoke.toml", "--from", "train", "--set", "train.max_steps=3", "--force", "eval"],
    "doctor": ["-w", "/tmp", "-l", "python", "--build"],
    "report": ["work", "-o", "r.html", "--samples-per-problem", "2"],
    "judge": ["serve", "--socket", "j.sock", "--queue", "3", "-l", "python", "--reward", "asserts"],
}


@pytest.mark.parametrize("name", list(STAGES))
def test_print_config_and_config_file_round_trip(cli, name, tmp_path):
    """--print-config writes TOML that --config reads back into the same config (every command has both)."""
    assert set(COMMAND_LINES) == set(STAGES)
    cls = STAGES[name].config_class()
    printed = cli(name, *COMMAND_LINES[name], "--print-config")
    assert printed.exit_code == 0, printed.stderr
    config = from_mapping(cls, tomllib.loads(printed.stdout))
    path = tmp_path / "c.toml"
    path.write_text(printed.stdout)
    again = cli(name, "--config", path, "--print-config")
    assert again.exit_code == 0, again.stderr
    assert from_mapping(cls, tomllib.loads(again.stdout)) == config
    assert config != cls() or name == "run"


def test_flags_override_the_config_file_and_set(cli, tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(to_toml({"tokens": "tok", "output": "out", "max_steps": 5, "optim": {"lr": 0.5},
                             "seed": 7}))
    printed = cli("train", "--config", path, "--set", "seed=8", "--seed", "9", "--set", "lr=0.25", "--print-config")
    assert printed.exit_code == 0, printed.stderr
    data = tomllib.loads(printed.stdout)
    assert (data["seed"], data["max_steps"], data["optim"]["lr"], data["tokens"]) == (9, 5, 0.25, "tok")


def test_a_recipe_is_a_config_file(cli):
    printed = cli("tokenize", "--config", REPO / "pipelines" / "smoke.toml", "c", "-o", "t", "--print-config")
    assert printed.exit_code == 0, printed.stderr
    assert tomllib.loads(printed.stdout)["vocab_size"] == 8192


def test_recipe_keys_flat_or_nested_give_the_same_config():
    from codegen_cli.evaluate.config import EvalConfig
    from codegen_cli.train.config import TrainConfig

    flat = from_mapping(EvalConfig, {"temperature": 0.3, "k": [1], "model": "m", "source_language": "python"})
    nested = from_mapping(EvalConfig, {"generation": {"temperature": 0.3, "model": "m"}, "scoring": {"k": [1]},
                                       "translation": {"source_language": "python"}})
    assert flat == nested and flat.generation.temperature == 0.3
    assert from_mapping(TrainConfig, {"lr": 0.1}) == from_mapping(TrainConfig, {"optim": {"lr": 0.1}})
    with pytest.raises(UsageError, match="disagree"):
        from_mapping(TrainConfig, {"lr": 0.1, "optim": {"lr": 0.2}})


def test_config_problems_are_reported_all_at_once(cli, tmp_path):
    """Train reported only the first bad value (issue 14)."""
    result = cli("train", tmp_path, "-o", tmp_path / "r", "--preset", "nope", "--seq-len", "1", "--max-steps", "-1",
                 "--mixed-precision", "x", "--set", "eval_batches=many", "--set", "stepz=1")
    assert result.exit_code == 2
    assert "eval_batches: expected int" in result.stderr and "unknown key 'stepz'" in result.stderr
    result = cli("train", tmp_path, "-o", tmp_path / "r", "--preset", "nope", "--seq-len", "1", "--max-steps", "-1",
                 "--mixed-precision", "x")
    assert result.exit_code == 2
    for part in ("preset 'nope'", "--seq-len", "--max-steps", "--mixed-precision 'x'"):
        assert part in result.stderr, part


def test_eval_cli_and_recipe_build_the_same_config(tmp_path, cli):
    """The default k differed: the recipe path scored canonical solutions with k=1,10,100 and warned."""
    from codegen_cli.pipeline.recipe import parse_recipe
    from codegen_cli.pipeline.runner import build_configs

    recipe = parse_recipe({"workdir": str(tmp_path), "eval": {"check_references": True, "languages": ["python"],
                                                              "limit": 2}}, path=tmp_path / "r.toml")
    from_recipe = build_configs(recipe)["eval"]
    printed = cli("eval", "--check-references", "-l", "python", "--limit", "2", "-o", tmp_path / "results",
                  "--print-config")
    from_cli = from_mapping(type(from_recipe), tomllib.loads(printed.stdout))
    assert from_cli == from_recipe
    assert from_cli.scoring.k == [1]


def test_docs_option_tables_are_current():
    stale = sync_docs(doc_tables(REPO / "docs"), write=False)
    assert not stale, f"regenerate with `python -m codegen_cli.options`: {stale}"
