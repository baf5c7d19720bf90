"""Every pair of the six languages (30), two problems each: canonical translations all pass, the source
pasted unchanged never does. Slow: it compiles Java, Go and Rust programs."""

from __future__ import annotations

import pytest

from codegen_cli.evaluate.translation import translate
from codegen_cli.languages import LANGUAGE_KEYS
from tests.conftest import require_toolchains

from .conftest import eval_config, write_translations

PAIRS = [(s, t) for s in LANGUAGE_KEYS for t in LANGUAGE_KEYS if s != t]
# Not problem 2: its JavaScript and Rust solutions are the same text (`return number % 1.0;`), so the
# source pasted unchanged IS a correct translation between those two (it passes, rightly).
NUMBERS = [0, 3]


@pytest.mark.slow
@pytest.mark.parametrize("paste_source", [False, True], ids=["canonical", "pasted"])
def test_all_pairs(tmp_path, problems, paste_source):
    require_toolchains("python", "cpp", "java", "js", "go", "rust")
    samples = write_translations(tmp_path / "s.jsonl", problems, PAIRS, NUMBERS, paste_source=paste_source)
    summary = translate(eval_config(samples=samples, source_language="all", output=tmp_path / "r",
                                    tasks=[str(n) for n in NUMBERS], timeout=30.0))
    assert len(summary["pairs"]) == 30
    expected = 0.0 if paste_source else 1.0
    wrong = {name: pair["statuses"] for name, pair in summary["pairs"].items()
             if pair["pass_at_k"].get("pass@1") != expected}
    assert not wrong
    assert summary["mean_pass_at_k"] == {"pass@1": expected}
