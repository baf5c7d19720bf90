"""Config dataclasses shared by the CLI, recipes (TOML) and the engine.

A stage's config dataclass is the single place its defaults live. Field names are the recipe keys and,
with `_` written as `-`, the CLI option names. Each field's `metadata["help"]` is its one-line doc.
These helpers build configs from plain mappings (recipes, `--config` files) and apply `key=value`
overrides, rejecting unknown keys by name instead of silently ignoring them.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

from codegen_cli.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

T = TypeVar("T")


def option(default: Any = dataclasses.MISSING, help: str = "", **kwargs: Any) -> Any:
    """A dataclass field with a help line (shown by `--help` and docs)."""
    if isinstance(default, (list, dict, set)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata={"help": help}, **kwargs)
    return dataclasses.field(default=default, metadata={"help": help}, **kwargs)


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
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML ({exc})") from exc


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Turn a TOML/CLI value into the field's declared type (Path, int, float, list, nested config)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [arg for arg in args if arg is not type(None)]
        return _coerce(value, non_none[0], where) if len(non_none) == 1 else value
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, Mapping):
            raise UsageError(f"{where}: expected a table of keys, got {value!r}")
        return from_mapping(annotation, value, where=where)
    if origin in (list, tuple) and args:
        items = value if isinstance(value, (list, tuple)) else [v for v in str(value).split(",") if v]
        coerced = [_coerce(item, args[0], where) for item in items]
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
            if annotation is int and isinstance(value, float) and not value.is_integer():
                raise ValueError
            return annotation(value)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{where}: expected {annotation.__name__}, got {value!r}") from exc
    if annotation is str and value is not None:
        return str(value)
    return value


def from_mapping(cls: type[T], mapping: Mapping[str, Any], *, where: str = "config") -> T:
    """Build `cls` from a mapping; unknown keys raise UsageError naming the key and the valid ones."""
    hints = typing.get_type_hints(cls)
    known = {item.name: item for item in dataclasses.fields(cls) if item.init}
    kwargs: dict[str, Any] = {}
    for raw_key, value in mapping.items():
        key = raw_key.replace("-", "_")
        if key not in known:
            valid = ", ".join(sorted(known))
            raise UsageError(f"{where}: unknown key {raw_key!r} (valid keys: {valid})")
        kwargs[key] = _coerce(value, hints[key], f"{where}.{raw_key}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise UsageError(f"{where}: {exc}") from exc


def parse_value(text: str) -> Any:
    """A `--set` value: TOML literal when it parses (numbers, booleans, lists, strings), else the text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(mapping: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `a.b.c=value` strings to a nested dict (in place), returning it."""
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {item!r}: expected KEY=VALUE, e.g. optim.weight_decay=0.1")
        parts = key.strip().split(".")
        node = mapping
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise UsageError(f"--set {item!r}: {part!r} is a value, not a table")
            node = child
        node[parts[-1]] = parse_value(text.strip())
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
