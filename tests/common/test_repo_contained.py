"""Nothing the product, its tests, recipes or docs use lives outside the repository: a fresh clone is all a
user has. (The development machine keeps a `shared` folder beside the checkout; a reference to it works
there and fails everywhere else.)"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCANNED = ["README.md", "pyproject.toml", ".ci", "codegen_cli", "docs", "pipelines", "tests"]
SUFFIXES = {".py", ".md", ".toml", ".yaml", ".yml", ".txt", ".cfg", ""}
# Written in pieces so this file does not match itself.
OUTSIDE = re.compile("|".join([r"\.\./" + "shared", r"parents\[\d\]\.parent\b", r"\.parent\s*/\s*\"" + "shared\""]))


def _files():
    for name in SCANNED:
        root = REPO / name
        paths = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in paths:
            if path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts:
                yield path


def test_no_file_points_beside_the_checkout():
    hits = []
    for path in _files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert hits == [], "\n".join(hits)
