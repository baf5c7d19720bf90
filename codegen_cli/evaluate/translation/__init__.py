"""HumanEval-X code translation (`codegen eval --task translate`).

Public API:
    translate(cfg) -> dict                       # generate or read translations, score every pair
    render_matrix(summary)                       # the Rich source x target table on stderr
    translation_prompt(source, target) -> str    # CodeGeeX's prompt text for one problem pair
"""

from __future__ import annotations

from codegen_cli.evaluate.translation.engine import parse_sources, translate
from codegen_cli.evaluate.translation.prompt import pair_name, translation_format, translation_prompt
from codegen_cli.evaluate.translation.report import render_matrix

__all__ = ["pair_name", "parse_sources", "render_matrix", "translate", "translation_format",
           "translation_prompt"]
