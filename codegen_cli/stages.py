"""The stage records: every command's config class and entry function, registered once.

A record names its config dataclass and its entry function `run(config) -> summary` by import path, so
importing this table costs nothing (torch loads only when a stage runs). From a record come the CLI
command (`codegen_cli.cli.stage_command`, which pairs it with the command's renderer), the stage's recipe
table and its `--dry-run` command line (`codegen_cli.pipeline`), and its option tables in docs/
(`python -m codegen_cli.options`). A summary may define `failure() -> CodegenError | None` for a run
that finished but must not exit 0 (eval's canonical solutions failing): the CLI and `codegen run` both
render the summary first, then raise it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class Summary(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def _load(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Stage:
    name: str
    config: str  # "module:ConfigClass"
    entry: str  # "module:function" taking the config, returning the summary
    doc: str = ""  # docs/<doc>.md holds the generated option table ("" = none)
    folder: str = ""  # its output folder under a recipe's workdir (pipeline stages only)
    input_key: str = ""  # the config field that reads the previous stage's folder
    previous: str = ""  # the stage whose folder that is
    # "module:function(config) -> JSON": what the stage reads besides the previous stage's folder (collect:
    # the listing of its sources), part of its `codegen run` fingerprint so a changed input reruns it.
    inputs: str = ""

    def config_class(self) -> type:
        return _load(self.config)

    def entry_function(self) -> Callable[[Any], Any]:
        return _load(self.entry)

    def run(self, config: Any) -> Any:
        return self.entry_function()(config)

    def describe_inputs(self, config: Any) -> Any:
        return _load(self.inputs)(config) if self.inputs else None


STAGES: dict[str, Stage] = {
    stage.name: stage
    for stage in (
        Stage("collect", "codegen_cli.collect.config:CollectConfig", "codegen_cli.collect.build_corpus:collect",
              doc="collect", folder="corpus", inputs="codegen_cli.collect.build_corpus:source_description"),
        Stage("tokenize", "codegen_cli.tokenizer.config:TokenizeConfig",
              "codegen_cli.tokenizer.build_tokens:tokenize", doc="tokenize", folder="tokens", input_key="corpus",
              previous="collect"),
        Stage("train", "codegen_cli.train.config:TrainConfig", "codegen_cli.train.loop:train", doc="train",
              folder="run", input_key="tokens", previous="tokenize"),
        Stage("export", "codegen_cli.train.config:ExportConfig", "codegen_cli.train.export:export_checkpoint",
              doc="train"),
        Stage("eval", "codegen_cli.evaluate.config:EvalConfig", "codegen_cli.evaluate.model_eval:evaluate",
              doc="eval", folder="results", previous="train"),
        Stage("generate", "codegen_cli.generation.config:GenerateConfig",
              "codegen_cli.generation.stream:stream_completion", doc="generation"),
        Stage("run", "codegen_cli.pipeline.runner:RunConfig", "codegen_cli.pipeline.runner:run_pipeline",
              doc="run"),
        Stage("doctor", "codegen_cli.doctor:DoctorConfig", "codegen_cli.doctor:doctor", doc="doctor"),
        Stage("report", "codegen_cli.report.config:ReportConfig", "codegen_cli.report.build:report", doc="report"),
        Stage("judge", "codegen_cli.reward.config:JudgeConfig", "codegen_cli.reward.service:serve", doc="reward"),
    )
}

PIPELINE: tuple[str, ...] = ("collect", "tokenize", "train", "eval")


def did_nothing(summary: Any) -> bool:
    """True when a stage found its output already complete for these inputs and options (nothing ran)."""
    return bool(getattr(summary, "already_complete", False) or getattr(summary, "already_done", False))


def failure_of(summary: Any) -> Exception | None:
    """The error a finished run still ends with (rendered first, then raised), or None."""
    check = getattr(summary, "failure", None)
    return check() if callable(check) else None
