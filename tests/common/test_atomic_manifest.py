"""Atomic writes leave no temp files; manifests are checked by stage and version."""

import json

import pytest

from codegen_cli.atomic import atomic_open, atomic_write_json
from codegen_cli.errors import UsageError, InputDataError
from codegen_cli.manifest import Manifest, read_manifest, write_manifest


def test_atomic_write_replaces_and_cleans(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_json(target, {"b": 1, "a": 2})
    assert target.read_text() == '{\n  "a": 2,\n  "b": 1\n}\n'
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as handle:
            handle.write("partial")
            raise RuntimeError("killed")
    assert json.loads(target.read_text()) == {"a": 2, "b": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
    assert target.stat().st_mode & 0o044 == 0o044  # readable by others, like a normally created file


def test_manifest_roundtrip_and_errors(tmp_path):
    write_manifest(tmp_path, Manifest(stage="collect", counts={"files": 3}))
    assert read_manifest(tmp_path, stage="collect")["counts"] == {"files": 3}
    with pytest.raises(InputDataError, match="expected 'tokenize'.*codegen tokenize"):
        read_manifest(tmp_path, stage="tokenize")
    with pytest.raises(UsageError, match="no such folder"):  # a path that does not exist: exit 2 everywhere
        read_manifest(tmp_path / "nope", stage="collect")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputDataError, match="missing"):
        read_manifest(tmp_path / "empty", stage="collect")
