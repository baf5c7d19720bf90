"""One module per HumanEval-X language: assembly, build (batched where it pays), run command, verdict."""

from __future__ import annotations

from codegen_cli.evaluate.languages.cpp import Cpp
from codegen_cli.evaluate.languages.go import Go
from codegen_cli.evaluate.languages.java import Java
from codegen_cli.evaluate.languages.js import JavaScript
from codegen_cli.evaluate.languages.python import Python
from codegen_cli.evaluate.languages.rust import Rust

_CLASSES = {"python": Python, "cpp": Cpp, "java": Java, "js": JavaScript, "go": Go, "rust": Rust}


def get_language(key: str):
    """A fresh language object for a HumanEval-X key (python|cpp|java|js|go|rust)."""
    return _CLASSES[key]()
