"""A stage's options, read from its config dataclass: the one table behind flags, recipe keys and docs.

`option_specs(Config)` walks the dataclass (nested configs included) and returns one `OptionSpec` per
option: flat name (= recipe key = Python parameter), path in the config tree, type, default, help, the
reason for the default, its help group and its flags. From that list come:
- the Typer options of the command (`codegen_cli.cli.stage_command`),
- the `codegen run --dry-run` command lines (`command_words`), which parse back into the same config,
- the `--print-config` TOML (`config_mapping`),
- the option tables in docs/<stage>.md (`docs_table`, checked for drift by a test).
This module never imports typer: the engine and `codegen run` use it too.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen_cli.config import _non_none, to_dict

DEFAULT_GROUP = "Options"


@dataclass(frozen=True)
class OptionSpec:
    name: str  # flat name: the recipe key and the Python parameter
    path: tuple[str, ...]  # where the value sits in the config tree, e.g. ("optim", "lr")
    annotation: Any  # the declared type, e.g. `int | None`
    default: Any
    help: str
    why: str
    group: str
    long_flag: str  # "--max-steps" ("" for a positional argument)
    off_flag: str  # "--no-export" for booleans, else ""
    short: str  # "-o" or ""
    positional: bool
    required: bool
    shown_default: str
    choices: tuple[str, ...] = ()
    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None

    @property
    def type(self) -> Any:
        """The value type without `| None` (what a command-line word is converted to)."""
        return _non_none(self.annotation)

    @property
    def is_list(self) -> bool:
        return typing.get_origin(self.type) in (list, tuple)

    @property
    def is_bool(self) -> bool:
        return self.type is bool

    @property
    def metavar(self) -> str:
        return self.name.upper()

    def default_text(self) -> str:
        """The default as `--help` and docs show it."""
        if self.shown_default:
            return self.shown_default
        if self.is_bool:
            return (self.long_flag if self.default else self.off_flag).lstrip("-")
        if self.default is None:
            return "none"
        if self.is_list:
            return ",".join(str(v) for v in self.default) or "none"
        return str(self.default)

    def problem(self, value: Any) -> str | None:
        """Why `value` is not allowed (choices and bounds; each item of a list), or None."""
        for item in (value if isinstance(value, (list, tuple)) else [value]):
            if item is None:
                continue
            if self.choices and item not in self.choices:
                return f"{self.display} {item!r}: use one of {', '.join(self.choices)}"
            for bound, sign, ok in ((self.at_least, ">=", operator.ge), (self.above, ">", operator.gt),
                                    (self.at_most, "<=", operator.le)):
                if bound is not None and not ok(item, bound):
                    return f"{self.display} must be {sign} {bound:g}, got {item!r}"
        return None

    @property
    def display(self) -> str:
        """How messages name the option: `-k/--k`, `--lr`, `CORPUS`."""
        if self.positional:
            return self.metavar
        return f"{self.short}/{self.long_flag}" if self.short else self.long_flag

    def words(self, value: Any) -> list[str]:
        """The command-line words that give this option `value`."""
        if self.positional:
            return [str(v) for v in value] if self.is_list else [str(value)]
        if self.is_bool:
            return [self.long_flag if value else self.off_flag]
        if value is None:
            raise ValueError(f"{self.name}: None cannot be written on a command line")
        text = ",".join(str(v) for v in value) if self.is_list else _scalar(value)
        return [self.long_flag, text]


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)  # round-trips exactly
    return str(value)


def _default_of(item: dataclasses.Field) -> Any:
    if item.default is not dataclasses.MISSING:
        return item.default
    if item.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return item.default_factory()  # type: ignore[misc]
    return None


def _spec(item: dataclasses.Field, annotation: Any, path: tuple[str, ...], group: str) -> OptionSpec:
    meta = item.metadata
    positional = bool(meta.get("positional"))
    dashed = item.name.replace("_", "-")
    long_flag = "" if positional else (meta.get("flag") or f"--{dashed}")
    off_flag = ""
    if _non_none(annotation) is bool and not positional:
        off_flag = meta.get("off_flag") or f"--no-{long_flag[2:]}"
    return OptionSpec(
        name=item.name, path=path, annotation=annotation, default=_default_of(item),
        help=str(meta.get("help", "")), why=str(meta.get("why", "")),
        group=str(meta.get("group") or group or DEFAULT_GROUP), long_flag=long_flag, off_flag=off_flag,
        short=str(meta.get("short", "")), positional=positional, required=bool(meta.get("required")),
        shown_default=str(meta.get("shown_default", "")), choices=tuple(meta.get("choices", ())),
        at_least=meta.get("at_least"), above=meta.get("above"), at_most=meta.get("at_most"),
    )


def _walk(cls: type, prefix: tuple[str, ...], group: str) -> list[OptionSpec]:
    hints = typing.get_type_hints(cls)
    specs: list[OptionSpec] = []
    for item in dataclasses.fields(cls):
        if not item.init:
            continue
        annotation = hints[item.name]
        if dataclasses.is_dataclass(annotation):
            specs += _walk(annotation, (*prefix, item.name), str(item.metadata.get("group") or group))
        elif not (prefix and item.metadata.get("inherited")):
            specs.append(_spec(item, annotation, (*prefix, item.name), group))
    return specs


@functools.cache
def option_specs(cls: type) -> tuple[OptionSpec, ...]:
    """Every option of a config class, nested ones flattened, in declaration order.

    Raises TypeError when two options share a name or a flag: flat names must stay unique, since each is
    one flag and one flat recipe key.
    """
    specs = _walk(cls, (), "")
    seen: dict[str, str] = {}
    for spec in specs:
        for word in (spec.name, spec.long_flag, spec.off_flag, spec.short):
            if word and word in seen:
                raise TypeError(f"{cls.__name__}: {word!r} of {'.'.join(spec.path)} is also {seen[word]}")
            if word:
                seen[word] = ".".join(spec.path)
    return tuple(specs)


def value_at(cfg: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        cfg = getattr(cfg, part)
    return cfg


def value_problems(cfg: Any) -> list[str]:
    """Every option whose value breaks its declared choices or bounds (all of them, not the first)."""
    problems = []
    for spec in option_specs(type(cfg)):
        problem = spec.problem(value_at(cfg, spec.path))
        if problem:
            problems.append(problem)
    return problems


def command_words(cfg: Any, defaults: Any | None = None) -> list[str]:
    """Arguments that rebuild `cfg` on the command line: positionals, then each option that differs
    from the default (required ones always), in declaration order."""
    defaults = type(cfg)() if defaults is None else defaults
    specs = option_specs(type(cfg))
    words = [w for s in specs if s.positional for w in s.words(value_at(cfg, s.path))]
    for spec in specs:
        if spec.positional:
            continue
        value = value_at(cfg, spec.path)
        if spec.required or value != value_at(defaults, spec.path):
            words += spec.words(value)
    return words


def config_mapping(cfg: Any, *, nested: bool = False) -> dict[str, Any]:
    """The config as a nested dict for TOML (`--print-config`); inherited fields of nested configs are
    left out (the enclosing config's field of that name sets them)."""
    hints = typing.get_type_hints(type(cfg))
    out: dict[str, Any] = {}
    for item in dataclasses.fields(cfg):
        if not item.init or (nested and item.metadata.get("inherited")):
            continue
        value = getattr(cfg, item.name)
        is_table = dataclasses.is_dataclass(hints[item.name])
        out[item.name] = config_mapping(value, nested=True) if is_table else to_dict(value)
    return out


def flag_text(spec: OptionSpec) -> str:
    """`--skip-vendored/--keep-vendored`, `-o, --output`, or `CORPUS` for a positional."""
    if spec.positional:
        return spec.metavar
    text = spec.long_flag + (f"/{spec.off_flag}" if spec.off_flag else "")
    return f"{spec.short}, {text}" if spec.short else text


def docs_table(cls: type) -> str:
    """The Markdown option tables of a config class, one per help group (docs/<stage>.md)."""
    groups: dict[str, list[OptionSpec]] = {}
    for spec in option_specs(cls):
        groups.setdefault(spec.group, []).append(spec)
    out = []
    for group, specs in groups.items():
        out.append(f"**{group}**\n\n| option | recipe key | default | what | why this default |\n|---|---|---|---|---|")
        for spec in specs:
            key = ".".join(spec.path) if len(spec.path) > 1 else spec.name
            cells = [f"`{flag_text(spec)}`", f"`{key}`", f"`{spec.default_text()}`", spec.help, spec.why]
            out.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def markers(stage: str) -> tuple[str, str]:
    return (f"<!-- options:{stage} (generated by `python -m codegen_cli.options`; do not edit) -->",
            f"<!-- /options:{stage} -->")


def sync_docs(tables: list[tuple[str, type, Path]], *, write: bool) -> list[str]:
    """Put each (stage, config class, page) table between the stage's markers in its page.

    Returns the pages that were stale (and rewrote them when `write`)."""
    stale = []
    for stage, cls, page in tables:
        text = page.read_text(encoding="utf-8")
        start, end = markers(stage)
        if start not in text or end not in text:
            stale.append(f"{page}: missing the markers {start} ... {end}")
            continue
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        new = f"{head}{start}\n{docs_table(cls)}{end}{tail}"
        if new != text:
            stale.append(str(page))
            if write:
                page.write_text(new, encoding="utf-8")
    return stale


def doc_tables(docs: Path) -> list[tuple[str, type, Path]]:
    """(stage, config class, docs page) for every registered command that documents its options."""
    from codegen_cli.stages import STAGES

    return [(name, stage.config_class(), docs / f"{stage.doc}.md") for name, stage in STAGES.items() if stage.doc]


if __name__ == "__main__":  # python -m codegen_cli.options: regenerate the option tables in docs/
    changed = sync_docs(doc_tables(Path(__file__).resolve().parents[1] / "docs"), write=True)
    print("\n".join(changed) or "docs are up to date")
