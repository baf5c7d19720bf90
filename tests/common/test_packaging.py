"""The wheel carries what the product reads at run time: the HumanEval-X copy and its licence."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from codegen_cli.evaluate.problems import PACKAGED_DIR

REPO = Path(__file__).resolve().parents[2]


def test_wheel_contains_the_packaged_humaneval_x(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "codegen_cli", source / "codegen_cli",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(source),
         "-w", str(tmp_path / "dist")],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    folder = "codegen_cli/evaluate/data/humaneval-x/"
    expected = {folder + path.name for path in PACKAGED_DIR.iterdir()}
    assert len(expected) == 8 and expected <= names
