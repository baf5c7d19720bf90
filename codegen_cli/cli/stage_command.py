"""Build a Typer command from a stage record: every option comes from the stage's config dataclass.

The command's parameters are generated from `option_specs(Config)`: flag names, short flags, defaults
(shown in `--help` by Typer itself, so help strings never carry `[default: X]`, which Rich would read as
markup and delete), and help panels from the field groups. Every command also gets:
  --config FILE    TOML: the stage's keys at the top level (what --print-config writes), or a recipe,
                   whose [<stage>] table is used
  --set KEY=VALUE  any key, nested ones as table.key (repeatable)
  --print-config   print the resolved config as TOML and exit, running nothing
  --json           ONE JSON summary object on stdout
Precedence: defaults < --config < --set < flags given on the command line. A flag left at its default
does not override the file: Click tells which parameters came from the command line.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from codegen_cli.cli._common import engine_errors, fail
from codegen_cli.config import apply_overrides, from_mapping, load_toml, nest_flat_keys, set_path, to_toml
from codegen_cli.errors import EXIT_CODES_HELP, CodegenError, UsageError
from codegen_cli.options import OptionSpec, config_mapping, option_specs
from codegen_cli.output import emit_json
from codegen_cli.stages import Stage, failure_of

META_GROUP = "Config and output"
_META = ("config_file", "set_overrides", "print_config", "json_out")
# Typer vendors its own Click (typer._click, private), so parameter sources are compared by name.
_FROM_COMMAND_LINE = ("COMMANDLINE", "ENVIRONMENT")


def _parameter(spec: OptionSpec) -> inspect.Parameter:
    """One Typer parameter: `Annotated[type, typer.Option(...)] = default`."""
    help_text = escape(spec.help)
    kind = inspect.Parameter.KEYWORD_ONLY
    if spec.positional:  # optional for Click: --config may give it; a missing required one is checked later
        value_type = list[str] | None if spec.is_list else spec.type | None
        info = typer.Argument(help=help_text, metavar=spec.metavar, show_default=False)
        return inspect.Parameter(spec.name, kind, default=None, annotation=Annotated[value_type, info])
    decls = [spec.long_flag + (f"/{spec.off_flag}" if spec.off_flag else "")] + ([spec.short] if spec.short else [])
    if spec.is_list:  # repeatable, and each value may be comma-separated: -l py,cpp or -l py -l cpp
        value_type: Any = list[str] | None
        default: Any = [str(v) for v in spec.default or []] or None
    else:
        value_type = spec.type | None if spec.default is None else spec.type
        default = spec.default
    shown: Any = spec.shown_default or (not spec.required and (spec.default is not None and spec.default != []))
    info = typer.Option(*decls, help=help_text, show_default=shown, rich_help_panel=spec.group,
                        metavar=spec.metavar if spec.is_list else None)
    if spec.required:
        info.show_default = False
        info.help = f"{help_text} \\[required]"
    return inspect.Parameter(spec.name, kind, default=default, annotation=Annotated[value_type, info])


def _meta_parameters(taken: set[str]) -> list[inspect.Parameter]:
    """--config, --set, --print-config, --json; one the config already uses (`run --set`) is left out."""
    kind = inspect.Parameter.KEYWORD_ONLY
    options = {
        "config_file": (Path | None, None, typer.Option(
            "--config", help="TOML file of this command's keys (what --print-config writes), or a recipe "
            "(its table for this command is used).", rich_help_panel=META_GROUP, show_default=False)),
        "set_overrides": (list[str] | None, None, typer.Option(
            "--set", help="Set any key: --set key=value, nested keys as table.key (repeatable).",
            rich_help_panel=META_GROUP, show_default=False, metavar="KEY=VALUE")),
        "print_config": (bool, False, typer.Option(
            "--print-config", help="Print the resolved config as TOML and exit (runs nothing).",
            rich_help_panel=META_GROUP, show_default=False)),
        "json_out": (bool, False, typer.Option(
            "--json", help="Print ONE JSON summary object on stdout (logs go to stderr).",
            rich_help_panel=META_GROUP, show_default=False)),
    }
    return [inspect.Parameter(name, kind, default=default, annotation=Annotated[value_type, info])
            for name, (value_type, default, info) in options.items() if info.default not in taken]


def stage_table(data: dict[str, Any], stage: str, path: Path) -> dict[str, Any]:
    """The keys for `stage` in a --config file: its [stage] table when the file is a recipe, else all."""
    from codegen_cli.pipeline.recipe import STAGE_ORDER, TOP_LEVEL_KEYS
    from codegen_cli.stages import STAGES

    if not isinstance(data.get(stage), dict):
        return data
    extra = sorted(set(data) - {stage} - TOP_LEVEL_KEYS - set(STAGES) - set(STAGE_ORDER))
    if extra:
        raise UsageError(f"{path}: unexpected top-level keys {extra} beside the [{stage}] table")
    return dict(data[stage])


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def _present(mapping: dict[str, Any], path: tuple[str, ...]) -> bool:
    for part in path:
        if not isinstance(mapping, dict) or part not in mapping:
            return False
        mapping = mapping[part]
    return True


def _cli_value(spec: OptionSpec, value: Any) -> Any:
    if spec.is_list and not spec.positional:
        return [item.strip() for text in value or [] for item in str(text).split(",") if item.strip()]
    return str(value) if isinstance(value, Path) else value


def build_config(stage: str, cls: type, ctx: typer.Context, values: dict[str, Any], *,
                 config_file: Path | None, overrides: list[str]) -> Any:
    """defaults < --config FILE < --set < flags given on the command line; every problem at once."""
    problems: list[str] = []
    mapping = {}
    if config_file is not None:
        table = stage_table(load_toml(config_file), stage, config_file)
        mapping = nest_flat_keys(cls, table, str(config_file), problems)
    mapping = _merge(mapping, nest_flat_keys(cls, apply_overrides({}, overrides), "--set", problems))
    specs = option_specs(cls)
    for spec in specs:
        source = ctx.get_parameter_source(spec.name)
        if source is not None and source.name in _FROM_COMMAND_LINE and values[spec.name] is not None:
            set_path(mapping, spec.path, _cli_value(spec, values[spec.name]))
    for spec in specs:
        if spec.required and not _present(mapping, spec.path):
            what = spec.metavar if spec.positional else spec.long_flag
            problems.append(f"missing {what}: {spec.help[:1].lower()}{spec.help[1:]}")
    if problems:
        raise UsageError("; ".join(problems))
    return from_mapping(cls, mapping, where=stage)


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"  # under `accelerate launch` only the main process reports


def stage_command(stage: Stage, *, doc: str, render: Callable[[Any], None],
                  body: Callable[[Any, bool], None] | None = None) -> Callable[..., None]:
    """The Typer command of `stage`: options from its config, then run, render, --json, failure.

    `body(config, json_out)` replaces run + render for a command whose output is not a summary
    (`codegen generate` streams text).
    """
    cls = stage.config_class()
    specs = option_specs(cls)
    clash = {spec.name for spec in specs} & set(_META)
    if clash:
        raise TypeError(f"{cls.__name__}: field names {sorted(clash)} are reserved for the shared options")

    def command(ctx: typer.Context, **values: Any) -> None:
        meta = {name: values.pop(name, None) for name in _META}
        with engine_errors():
            cfg = build_config(stage.name, cls, ctx, values, config_file=meta["config_file"],
                               overrides=list(meta["set_overrides"] or []))
            if meta["print_config"]:
                sys.stdout.write(to_toml(config_mapping(cfg)))
                return
            if body is not None:
                body(cfg, meta["json_out"])
                return
            summary = stage.run(cfg)
        if not _is_main_process():
            return
        render(summary)
        if meta["json_out"]:
            emit_json(summary.to_dict())
        problem = failure_of(summary)
        if problem is not None:
            code = problem.exit_code if isinstance(problem, CodegenError) else 1
            fail(str(problem), code)

    ordered = [s for s in specs if s.positional] + [s for s in specs if not s.positional]
    context = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [context, *(_parameter(s) for s in ordered), *_meta_parameters({s.long_flag for s in specs})])
    command.__annotations__ = {}
    command.__doc__ = f"{inspect.cleandoc(doc)}\n\n{EXIT_CODES_HELP}"
    command.__name__ = f"{stage.name}_command"
    return command

