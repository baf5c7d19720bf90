"""corpus/ is hub-ready: `datasets.load_dataset` reads it two ways, and its README.md is a dataset card."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import planted
from .conftest import python_source, read_rows, run_collect, write_files


def _load(tmp_path: Path, *args, **kwargs):
    import datasets

    return datasets.load_dataset(*args, split="train", cache_dir=str(tmp_path / "hf-cache"), **kwargs)


def test_load_dataset_reads_the_folder_both_ways_and_null_licences_stay_null(tmp_path: Path):
    src = write_files(tmp_path / "src", {f"m{i}.py": python_source(i) for i in range(4)}
                      | {"lib/LICENSE": planted.MIT, "lib/x.py": python_source(9)})
    corpus = tmp_path / "corpus"
    run_collect([src], corpus)
    assert sorted(p.name for p in (corpus / "data").iterdir()) == ["train-00000.parquet"]
    by_folder = _load(tmp_path, str(corpus))
    by_parquet = _load(tmp_path, "parquet", data_dir=str(corpus))  # read manifest.json as Parquet before
    assert by_folder.num_rows == by_parquet.num_rows == len(read_rows(corpus)) == 5
    licences = {row["path"]: row["license"] for row in by_parquet}
    assert licences["lib/x.py"] == "MIT"
    assert [licences[f"m{i}.py"] for i in range(4)] == [None] * 4  # null, not the string 'None'
    assert by_folder.features["license"].dtype == "string"


def test_dataset_card_carries_the_manifest_figures(tmp_path: Path, humaneval_x_dir: Path):
    from huggingface_hub import DatasetCard

    tree = planted.build(tmp_path / "src", tmp_path / "elsewhere", humaneval_x_dir)
    summary = run_collect([tree], tmp_path / "corpus")
    card = DatasetCard.load(tmp_path / "corpus" / "README.md")  # the hub's own parser
    meta = card.data.to_dict()
    assert meta["configs"] == [{"config_name": "default",
                                "data_files": [{"split": "train", "path": "data/train-*.parquet"}]}]
    assert meta["license"] == "other" and meta["language"] == ["code"] and meta["size_categories"] == ["n<1K"]
    assert {"Python", "Go", "C++"} <= set(meta["tags"])
    text = card.text
    assert f"{summary.documents:,} files" in text
    for reason, row in summary.dropped.items():
        assert f"| {reason} | {row['files']:,} |" in text
    for language, row in summary.per_language.items():
        assert f"| {language} | {row['files']:,} |" in text
    assert "| MIT |" in text and "| GPL-3.0 | 1 |" in text
    assert "| max_line_length | `1000` |" in text and "aws_key: 1" in text
    assert str(tree) in text


@pytest.mark.parametrize("licence", ["MIT"])
def test_one_licence_everywhere_is_the_hub_licence(tmp_path: Path, licence: str):
    from huggingface_hub import DatasetCard

    src = write_files(tmp_path / "src", {"LICENSE": planted.MIT, "a.py": python_source(1)})
    run_collect([src], tmp_path / "corpus")
    assert DatasetCard.load(tmp_path / "corpus" / "README.md").data.license == licence.lower()
