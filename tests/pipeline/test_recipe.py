"""Recipe parsing and validation: every shipped recipe loads; bad keys fail with exit 2 naming the key."""

from pathlib import Path

import pytest

from codegen_cli.errors import UsageError
from codegen_cli.pipeline.recipe import STAGE_ORDER, load_recipe, parse_recipe, select_stages
from codegen_cli.pipeline.runner import build_configs, launch_command
from codegen_cli.pipeline.stages import step_record

PIPELINES = Path(__file__).resolve().parents[2] / "pipelines"
RECIPES = sorted(PIPELINES.glob("*.toml"))


def test_shipped_recipes_exist():
    assert {p.name for p in RECIPES} >= {"smoke.toml", "gpu-350m.toml", "codegeex-13b.toml"}


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_every_shipped_recipe_builds_all_stage_configs(path):
    recipe = load_recipe(path)
    configs = build_configs(recipe)
    assert list(configs) == [s for s in STAGE_ORDER if s in recipe.stages]
    for stage, config in configs.items():
        command = launch_command(step_record(stage), config, recipe)
        assert command.startswith(("codegen ", "accelerate launch "))


def _stage_words(command: str) -> list[str]:
    """The `STAGE ARGS...` part of a `codegen STAGE ...` or `accelerate launch ... -m codegen_cli STAGE ...` line."""
    import shlex

    words = shlex.split(command)
    return words[1:] if words[0] == "codegen" else words[words.index("codegen_cli") + 1:]


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_dry_run_lines_parse_back_into_the_same_configs(path, cli):
    """Issue 14: `--dry-run` printed `--no-skip-vendored`/`--ngram-size`, which the CLI rejected. Every line it
    prints now goes through the real Typer app (`--print-config` stops before running) into the SAME config."""
    from codegen_cli.config import from_mapping
    from codegen_cli.pipeline.runner import RunConfig, run_pipeline

    # every option off its default, so each flag spelling is exercised (a recipe may set any key)
    overrides = ["collect.skip_vendored=false", "collect.ngram_size=7", "collect.near_dedup=false",
                 "train.weight_decay=0.05", "train.compile=true", "train.trackers=['tensorboard']",
                 "eval.temperature=0.3", "eval.tag_style='none'"] if path.name == "gpu-350m.toml" else []
    recipe = load_recipe(path, overrides)
    configs = build_configs(recipe)
    summary = run_pipeline(RunConfig(recipe=path, dry_run=True, overrides=overrides))
    for outcome in summary.stages:
        config = configs[outcome.stage]
        printed = cli(*_stage_words(outcome.command), "--print-config")
        assert printed.exit_code == 0, (outcome.command, printed.stderr)
        import tomllib

        parsed = from_mapping(type(config), tomllib.loads(printed.stdout), where=outcome.command)
        assert parsed == config, outcome.command


def _recipe(tmp_path, text):
    path = tmp_path / "r.toml"
    path.write_text(text)
    return path


def test_unknown_stage_and_key_are_named(tmp_path, cli):
    bad_stage = _recipe(tmp_path, 'workdir = "w"\n[colect]\nlanguages = "python"\n')
    result = cli("run", bad_stage)
    assert result.exit_code == 2
    assert "colect" in result.stderr

    bad_key = _recipe(tmp_path, 'workdir = "w"\n[train]\npreset = "tiny"\nmax_stepz = 3\n')
    result = cli("run", bad_key)
    assert result.exit_code == 2
    assert "max_stepz" in result.stderr and "[train]" in result.stderr


def test_folder_keys_are_set_by_the_runner(tmp_path):
    recipe = parse_recipe({"workdir": "w", "tokenize": {"corpus": "elsewhere"}}, path=tmp_path / "r.toml")
    with pytest.raises(UsageError, match="corpus"):
        build_configs(recipe)


def test_missing_workdir(tmp_path):
    with pytest.raises(UsageError, match="workdir"):
        parse_recipe({"collect": {}}, path=tmp_path / "r.toml")


def test_from_until_selection(tmp_path):
    recipe = parse_recipe({"workdir": "w", "collect": {}, "tokenize": {}, "train": {}, "eval": {}},
                          path=tmp_path / "r.toml")
    assert select_stages(recipe, None, None) == ["collect", "tokenize", "train", "eval"]
    assert select_stages(recipe, "tokenize", "train") == ["tokenize", "train"]
    assert select_stages(recipe, "train", None) == ["train", "eval"]
    with pytest.raises(UsageError):
        select_stages(recipe, "eval", "collect")
    with pytest.raises(UsageError):
        select_stages(recipe, "deploy", None)


def test_overrides_reach_stage_configs(tmp_path):
    recipe = load_recipe(PIPELINES / "smoke.toml", overrides=["train.max_steps=7", "workdir=" + str(tmp_path)])
    configs = build_configs(recipe)
    assert configs["train"].max_steps == 7
    assert Path(configs["train"].tokens) == tmp_path / "tokens"
    assert Path(configs["eval"].generation.model) == tmp_path / "run" / "hf"


def test_codegeex_recipe_prints_a_well_formed_multinode_launch(cli):
    result = cli("run", PIPELINES / "codegeex-13b.toml", "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    import json
    import shlex

    summary = json.loads(result.stdout)
    train = next(s for s in summary["stages"] if s["stage"] == "train")
    words = shlex.split(train["command"])
    assert words[:2] == ["accelerate", "launch"]
    assert "--config_file" in words and "--num_machines" in words
    config_file = Path(words[words.index("--config_file") + 1])
    assert (PIPELINES.parent / config_file).is_file() or config_file.is_file()
    module = words.index("-m")
    assert words[module + 1: module + 3] == ["codegen_cli", "train"]
    assert "--preset" in words and words[words.index("--preset") + 1] == "codegeex-13b"
    assert all(s["status"] == "planned" for s in summary["stages"])
