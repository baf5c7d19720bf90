"""The translation prompt text, pair parsing and the samples-file pair resolution (pure string work)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codegen_cli.errors import InputDataError, UsageError
from codegen_cli.evaluate.translation import parse_sources, translation_format, translation_prompt
from codegen_cli.evaluate.translation.samples import pair_from_filename, read_translation_samples
from codegen_cli.generation.stopping import find_stop, prompt_state


def test_prompt_is_codegeex_text(problems):
    source, target = problems["python"][0], problems["cpp"][0]
    text = translation_prompt(source, target)
    assert text == ("code translation\nPython:\n" + source.declaration + "\n"
                    + source.canonical_solution.rstrip() + "\nC++:\n" + target.declaration)
    assert text.startswith("code translation\nPython:\nfrom typing import List\n")
    assert text.endswith("C++:\n#include<stdio.h>\n#include<vector>\n#include<math.h>\nusing namespace std;\n"
                         "#include<algorithm>\n#include<stdlib.h>\nbool has_close_elements(vector<float> numbers, "
                         "float threshold){\n")
    js = translation_prompt(problems["js"][3], problems["go"][3])
    assert js.startswith("code translation\nJavaScript:\n") and "\nGo:\n" in js


def test_stop_rule_scans_only_the_target_declaration(problems):
    """Python/142's source holds quotes that leave a C-family scan inside a string; the format's scan text
    (the target declaration alone) still says one brace is open, so the completion stops at its `}`."""
    fmt = translation_format("python", problems["python"])
    target = problems["cpp"][142]
    whole = prompt_state(fmt.build(target, "none"), "cpp")
    alone = prompt_state(fmt.scan_text(target), "cpp")
    assert (alone.depth, alone.mode) == (1, "code")
    assert (whole.depth, whole.mode) != (1, "code")  # why the scan text exists
    assert find_stop("    return 1;\n}\nint main(){}", "cpp", alone) == len("    return 1;\n}")
    assert fmt.row_fields == {"source_language": "python"}


def test_parse_sources():
    assert parse_sources(None) is None
    assert parse_sources("all") == ["python", "cpp", "java", "js", "go", "rust"]
    assert parse_sources("C++, javascript") == ["cpp", "js"]
    with pytest.raises(UsageError):
        parse_sources("cobol")


def test_pair_from_filename():
    assert pair_from_filename(Path("codegeex-13b_python-to-cpp_n200.jsonl")) == ("python", "cpp")
    assert pair_from_filename(Path("out/javascript-to-go.jsonl")) == ("js", "go")
    assert pair_from_filename(Path("samples.jsonl")) is None


IDS = {"cpp": {0: "CPP/0", 1: "CPP/1"}, "python": {0: "Python/0", 1: "Python/1"}, "js": {0: "JavaScript/0"}}


def _read(tmp_path, name, rows, sources=None, targets=None):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return read_translation_samples(path, sources=sources, targets=targets, target_ids=IDS)


def test_row_resolution(tmp_path):
    # CodeGeeX: source task ids, pair from the file name, sample_idx by order of appearance
    got = _read(tmp_path, "x_python-to-cpp.jsonl", [{"task_id": "Python/0", "generation": "a"},
                                                   {"task_id": "Python/0", "generation": "b"}])
    assert [(r["task_id"], r["sample_idx"], r["completion"]) for r in got[("python", "cpp")]] == \
        [("CPP/0", 0, "a"), ("CPP/0", 1, "b")]
    # ours: target task ids with source_language
    got = _read(tmp_path, "s.jsonl", [{"task_id": "CPP/1", "source_language": "js", "completion": "c"}])
    assert got[("js", "cpp")][0]["task_id"] == "CPP/1"
    # CodeGeeX rows without a pair in the name: the CLI's single target names it
    got = _read(tmp_path, "t.jsonl", [{"task_id": "Python/1", "generation": "d"}], targets=["cpp"])
    assert list(got) == [("python", "cpp")]
    with pytest.raises(InputDataError, match="cannot tell the translation pair"):
        _read(tmp_path, "u.jsonl", [{"task_id": "Python/1", "generation": "d"}])
    with pytest.raises(InputDataError, match="duplicate sample"):
        _read(tmp_path, "v.jsonl", [{"task_id": "CPP/0", "source_language": "js", "completion": "e",
                                     "sample_idx": 0}] * 2)
