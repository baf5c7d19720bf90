"""The options of `codegen report` (flags, recipe keys and docs table come from here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from codegen_cli.config import option


@dataclass
class ReportConfig:
    folder: Path = option(Path("work"), "A recipe's workdir, or one stage folder (corpus, tokens, run, results).",
                          positional=True, required=True)
    output: Path | None = option(None, "The HTML file to write.", short="-o", shown_default="FOLDER/report.html")
    samples_per_problem: int = option(5, "Samples shown per problem in the problems table (failures first).",
                                      why="keeps the page small at n=200 samples per problem", at_least=0)
    max_chars: int = option(4000, "Characters kept of each sample's code and output in the table.",
                            why="a runaway completion or a huge stderr must not bloat the page", at_least=100)
