"""Config dataclasses shared by the CLI, recipes (TOML) and the engine.

A stage's config dataclass is the single place its options live: each field is declared with `option()`,
which records its default, a one-line help, the reason for the default, its help group and how it is
spelled on the command line. `codegen_cli.options` turns those fields into the CLI flags, the recipe keys,
`--dry-run` command lines and the option tables in docs/; nothing else lists a stage's options.

Field names are the recipe keys and, with `_` written as `-`, the CLI flags. A nested config (train's
`model` and `optim`, eval's `scoring`, `generation` and `translation`) is a TOML table, and its fields
are ALSO accepted flat (`[train] lr = 1e-3` is `[train.optim] lr = 1e-3`), because its flags are flat
(`--lr`). The helpers here build configs from such mappings and report every unknown key and bad value
at once, naming each, instead of the first or none.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import sys
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from codegen_cli.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

T = TypeVar("T")


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    why: str = "",
    group: str = "",
    short: str = "",
    flag: str = "",
    off_flag: str = "",
    positional: bool = False,
    required: bool = False,
    shown_default: str = "",
    inherited: bool = False,
    choices: tuple[str, ...] = (),
    at_least: float | None = None,
    above: float | None = None,
    at_most: float | None = None,
    **kwargs: Any,
) -> Any:
    """A config field and everything the CLI, recipes and docs need to know about it.

    help: one line for `--help` and docs. why: where the default comes from (docs tables).
    group: the `--help` panel and docs section. short: a one-letter alias such as "-o".
    flag: the long flag when it differs from the field name ("--from" for `start`).
    off_flag: the negative form of a boolean ("--keep-vendored"); default "--no-NAME".
    positional: a command-line argument instead of an option. required: the command line (or --config)
    must give it; the Python default is only for library callers. shown_default: what `--help` shows
    instead of the value (for defaults that depend on the machine, e.g. a home folder).
    inherited: in a nested config, a field the enclosing config sets (eval's one --output fills
    `scoring.output` and `generation.output`); it is neither a flag nor a recipe key of its own.
    choices, at_least, above (exclusive), at_most: the allowed values, checked for every field at once by
    `options.value_problems` (each item of a list; None passes); cross-field rules stay in `validate()`.
    """
    metadata = {
        "help": help, "why": why, "group": group, "short": short, "flag": flag, "off_flag": off_flag,
        "positional": positional, "required": required, "shown_default": shown_default, "inherited": inherited,
        "choices": tuple(choices), "at_least": at_least, "above": above, "at_most": at_most,
    }
    metadata.update(kwargs.pop("metadata", {}))
    if isinstance(default, (list, dict, set)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=metadata, **kwargs)
    return dataclasses.field(default=default, metadata=metadata, **kwargs)


def section(cls: type, group: str = "", help: str = "") -> Any:
    """A nested config field (a TOML table of `cls`); `group` is the default help panel of its fields."""
    return dataclasses.field(default_factory=cls, metadata={"group": group, "help": help})


def field_help(cls: type, name: str) -> str:
    for item in dataclasses.fields(cls):
        if item.name == name:
            return str(item.metadata.get("help", ""))
    raise KeyError(name)


def load_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: config file not found") from exc
    except IsADirectoryError as exc:
        raise UsageError(f"{path}: is a folder, expected a TOML file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML ({exc})") from exc


def _non_none(annotation: Any) -> Any:
    """`int | None` -> int (the type a value is converted to); other annotations unchanged."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _coerce(value: Any, annotation: Any, where: str, problems: list[str]) -> Any:
    """Turn a TOML/CLI value into the field's declared type (Path, int, float, list, nested config)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(annotation):
            return None
        return _coerce(value, _non_none(annotation), where, problems)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, Mapping):
            raise UsageError(f"{where}: expected a table of keys, got {value!r}")
        return _build(annotation, value, where, problems)
    args = typing.get_args(annotation)
    if origin in (list, tuple) and args:
        items = value if isinstance(value, (list, tuple)) else [v for v in str(value).split(",") if v]
        coerced = [_coerce(item, args[0], where, problems) for item in items]
        return tuple(coerced) if origin is tuple else coerced
    if annotation is Path and value is not None:
        return Path(value)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise UsageError(f"{where}: expected true/false, got {value!r}")
    if annotation in (int, float):
        try:
            if isinstance(value, bool) or (annotation is int and isinstance(value, float)
                                           and not value.is_integer()):
                raise ValueError
            return annotation(value)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{where}: expected {annotation.__name__}, got {value!r}") from exc
    if annotation is str and value is not None:
        return str(value)
    return value


def _init_fields(cls: type) -> dict[str, dataclasses.Field]:
    return {item.name: item for item in dataclasses.fields(cls) if item.init}


def _is_nested(item: dataclasses.Field, hints: dict[str, Any]) -> bool:
    return dataclasses.is_dataclass(hints[item.name])


def flat_keys(cls: type) -> dict[str, tuple[str, ...]]:
    """Every key a mapping of `cls` accepts flat -> its path in the tree (nested fields included).

    Inherited fields of nested configs are left out: the enclosing config's field of that name sets them.
    """
    hints = typing.get_type_hints(cls)
    keys: dict[str, tuple[str, ...]] = {}
    for item in _init_fields(cls).values():
        if _is_nested(item, hints):
            for name, path in flat_keys(hints[item.name]).items():
                keys.setdefault(name, (item.name, *path))
        elif not item.metadata.get("inherited"):
            keys[item.name] = (item.name,)
    return keys


def _unknown(raw_key: str, cls: type, where: str) -> str:
    valid = sorted(flat_keys(cls))
    close = difflib.get_close_matches(raw_key.replace("-", "_"), valid, n=3)
    if len(valid) <= 12:
        hint = f"valid keys: {', '.join(valid)}"
    else:
        hint = (f"did you mean {' or '.join(map(repr, close))}? " if close else "") + \
            "`--print-config` lists every key"
    return f"{where}: unknown key {raw_key!r} ({hint})"


def nest_flat_keys(cls: type, mapping: Mapping[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
    """Move flat keys of nested fields into their tables (`lr` -> `optim.lr`), one level at a time.

    A key given both flat and in its table with different values is a problem, not a silent choice.
    """
    hints = typing.get_type_hints(cls)
    fields = _init_fields(cls)
    out: dict[str, Any] = {}
    moved: list[tuple[str, tuple[str, ...], Any]] = []
    owners = {name: path for name, path in flat_keys(cls).items() if len(path) > 1}
    for raw_key, value in mapping.items():
        key = raw_key.replace("-", "_")
        if key in fields:
            out[key] = dict(value) if isinstance(value, Mapping) and _is_nested(fields[key], hints) else value
        elif key in owners:
            moved.append((raw_key, owners[key], value))
        else:
            out[raw_key] = value  # reported as unknown by _build
    for raw_key, path, value in moved:
        table = out.setdefault(path[0], {})
        if not isinstance(table, dict):
            problems.append(f"{where}.{path[0]}: expected a table of keys, got {table!r}")
            continue
        node = table
        for part in path[1:-1]:
            node = node.setdefault(part, {})
        previous = next((node[k] for k in (path[-1], path[-1].replace("_", "-")) if k in node), None)
        if previous is not None and previous != value:
            problems.append(f"{where}: {raw_key!r} = {value!r} and {'.'.join(path)} = {previous!r} disagree; "
                            "give it once")
        node[path[-1]] = value
    return out


def _build(cls: type[T], mapping: Mapping[str, Any], where: str, problems: list[str]) -> T | None:
    before = len(problems)
    mapping = nest_flat_keys(cls, mapping, where, problems)
    hints = typing.get_type_hints(cls)
    known = _init_fields(cls)
    kwargs: dict[str, Any] = {}
    for raw_key, value in mapping.items():
        key = raw_key.replace("-", "_")
        if key not in known:
            problems.append(_unknown(raw_key, cls, where))
            continue
        try:
            kwargs[key] = _coerce(value, hints[key], f"{where}.{raw_key}", problems)
        except UsageError as exc:
            problems.append(str(exc))
    if len(problems) > before:
        return None
    try:
        return cls(**kwargs)
    except UsageError as exc:  # a __post_init__ check (e.g. an unknown language name)
        problems.append(f"{where}: {exc}")
    except (TypeError, ValueError) as exc:
        problems.append(f"{where}: {exc}")
    return None


def from_mapping(cls: type[T], mapping: Mapping[str, Any], *, where: str = "config") -> T:
    """Build `cls` from a (flat or nested) mapping; every unknown key and bad value in ONE UsageError."""
    problems: list[str] = []
    cfg = _build(cls, mapping, where, problems)
    if problems or cfg is None:
        raise UsageError("; ".join(problems) or f"{where}: invalid config")
    return cfg


def parse_value(text: str) -> Any:
    """A `--set` value: TOML literal when it parses (numbers, booleans, lists, strings), else the text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def set_path(mapping: dict[str, Any], path: tuple[str, ...] | list[str], value: Any, where: str = "") -> None:
    """mapping[a][b][c] = value, creating tables on the way; a value in the way is a UsageError."""
    node = mapping
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UsageError(f"{where or '.'.join(path)}: {part!r} is a value, not a table")
        node = child
    node[path[-1]] = value


def apply_overrides(mapping: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `a.b.c=value` strings to a nested dict (in place), returning it."""
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {item!r}: expected KEY=VALUE, e.g. optim.weight_decay=0.1")
        set_path(mapping, key.strip().split("."), parse_value(text.strip()), where=f"--set {item!r}")
    return mapping


def to_dict(cfg: Any) -> dict[str, Any]:
    """JSON/TOML-friendly dict of a config (Paths as strings, tuples as lists)."""

    def convert(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {str(k): convert(v) for k, v in value.items()}
        return value

    return convert(cfg)


def to_toml(data: Mapping[str, Any], prefix: str = "") -> str:
    """A small TOML writer (scalars, lists, nested tables at any depth; None values are left out)."""
    lines = [f"{key} = {_toml_value(value)}" for key, value in data.items()
             if value is not None and not isinstance(value, Mapping)]
    text = "\n".join(lines) + ("\n" if lines else "")
    for key, value in data.items():
        if isinstance(value, Mapping):
            name = f"{prefix}.{key}" if prefix else key
            text += f"\n[{name}]\n" + to_toml(value, name)
    return text


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))
