"""The CLI side of each stage record: its help text (DOC) and its renderer, one module per command.

A command module holds only what truly differs between commands: the help text with examples, how its
summary is drawn, and (for `generate`) a body that streams instead of rendering a summary.
"""

from __future__ import annotations

from types import ModuleType

from codegen_cli.cli import collect, doctor, export, generate, judge, report, run, tokenize, train
from codegen_cli.cli import eval as eval_cmd

COMMANDS: dict[str, ModuleType] = {
    "collect": collect,
    "tokenize": tokenize,
    "train": train,
    "export": export,
    "eval": eval_cmd,
    "generate": generate,
    "run": run,
    "doctor": doctor,
    "report": report,
    "judge": judge,
}
