"""How `codegen run` drives each stage: which config it builds, which folders it wires, how it calls it.

Each stage reads the previous stage's folder under the recipe's workdir and writes its own; the recipe
table holds only the stage's own options, so the folder keys are set here (and refused in the recipe).
"""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from codegen_cli.config import from_mapping, to_dict
from codegen_cli.errors import UsageError

FOLDERS = {"collect": "corpus", "tokenize": "tokens", "train": "run", "eval": "results"}


def _summary_dict(summary: Any) -> dict[str, Any]:
    if hasattr(summary, "to_dict"):
        return summary.to_dict()
    return to_dict(summary) if dataclasses.is_dataclass(summary) else dict(summary)


def _cli_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def command_line(stage: str, config: Any, positional: tuple[str, ...], skip: tuple[str, ...] = ()) -> str:
    """The `codegen STAGE ...` command equivalent to `config` (only options that differ from defaults)."""
    words = ["codegen", stage]
    defaults = type(config)()
    for name in positional:
        value = getattr(config, name)
        words.extend(str(v) for v in value) if isinstance(value, list) else words.append(str(value))
    for item in dataclasses.fields(config):
        name = item.name
        if name in positional or name in skip:
            continue
        value, default = getattr(config, name), getattr(defaults, name)
        if value == default:
            continue
        flag = "--" + name.replace("_", "-")
        if dataclasses.is_dataclass(value):
            for key, sub in to_dict(value).items():
                if sub != to_dict(default).get(key):
                    words.extend(["--set", f"{name}.{key}={sub}"])
        elif isinstance(value, bool):
            words.append(flag if value else "--no-" + name.replace("_", "-"))
        elif value is not None:
            words.extend([flag, _cli_value(value)])
    return shlex.join(words)


@dataclass(frozen=True)
class StageAdapter:
    name: str
    config_class: Callable[[], type]
    entry: Callable[[], Callable[[Any], Any]]
    input_key: str | None  # the config field holding the previous stage's folder
    positional: tuple[str, ...] = ()

    def input_folder(self, workdir: Path) -> Path | None:
        previous = {"tokenize": "collect", "train": "tokenize", "eval": "train"}.get(self.name)
        return workdir / FOLDERS[previous] if previous else None

    def output_folder(self, workdir: Path) -> Path:
        return workdir / FOLDERS[self.name]

    def wire(self, table: dict[str, Any], workdir: Path) -> dict[str, Any]:
        for key in ("output", self.input_key):
            if key and key in table:
                raise UsageError(
                    f"[{self.name}] key {key!r}: `codegen run` sets it to the workdir's folder; remove it"
                )
        table["output"] = str(self.output_folder(workdir))
        if self.input_key:
            table[self.input_key] = str(self.input_folder(workdir))
        return table

    def build(self, table: dict[str, Any], workdir: Path, where: str) -> Any:
        return from_mapping(self.config_class(), self.wire(dict(table), workdir), where=where)

    def run(self, config: Any) -> tuple[Any, dict[str, Any]]:
        """The stage's own summary object (for its renderer) and its JSON-able dict."""
        result = self.entry()(config)
        return result, _summary_dict(result)

    def command(self, config: Any) -> str:
        return command_line(self.name, config, self.positional)


def _collect_config() -> type:
    from codegen_cli.collect.config import CollectConfig

    return CollectConfig


def _collect_entry():
    from codegen_cli.collect.build_corpus import collect

    return collect


def _tokenize_config() -> type:
    from codegen_cli.tokenizer.config import TokenizeConfig

    return TokenizeConfig


def _tokenize_entry():
    from codegen_cli.tokenizer.build_tokens import tokenize

    return tokenize


def _train_config() -> type:
    from codegen_cli.train.config import TrainConfig

    return TrainConfig


def _train_entry():
    from codegen_cli.train.loop import train

    return train


def _eval_config() -> type:
    from codegen_cli.evaluate.model_eval import ModelEvalConfig

    return ModelEvalConfig


def _eval_entry():
    from codegen_cli.evaluate.model_eval import evaluate

    return evaluate


class EvalAdapter(StageAdapter):
    """eval reads the trained model from RUN/hf; the recipe may also score a samples file instead."""

    def wire(self, table: dict[str, Any], workdir: Path) -> dict[str, Any]:
        if "output" in table:
            raise UsageError("[eval] key 'output': `codegen run` sets it to the workdir's folder; remove it")
        table["output"] = str(self.output_folder(workdir))
        if not table.get("samples") and not table.get("check_references") and not table.get("model"):
            table["model"] = str(workdir / FOLDERS["train"] / "hf")
        return table

    def command(self, config: Any) -> str:
        return command_line(self.name, config, ())


ADAPTERS: dict[str, StageAdapter] = {
    "collect": StageAdapter("collect", _collect_config, _collect_entry, None, ("sources",)),
    "tokenize": StageAdapter("tokenize", _tokenize_config, _tokenize_entry, "corpus", ("corpus",)),
    "train": StageAdapter("train", _train_config, _train_entry, "tokens", ("tokens",)),
    "eval": EvalAdapter("eval", _eval_config, _eval_entry, None),
}
