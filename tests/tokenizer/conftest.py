"""A small real corpus for the tokenize tests: Python stdlib files + hand-written C/Java/Go/JS + edge cases.

Written in the corpus/ layout of contracts.md (two parquet files, small row groups so the stage has
several work units), with a `collect` manifest, exactly as `codegen collect` would leave it.
"""

from __future__ import annotations

import hashlib
import sysconfig
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codegen_cli.manifest import Manifest, write_manifest

STDLIB = Path(sysconfig.get_paths()["stdlib"])
STDLIB_FILES = ["json/__init__.py", "json/decoder.py", "json/encoder.py", "json/scanner.py", "json/tool.py",
                "textwrap.py", "shlex.py", "glob.py", "fnmatch.py", "bisect.py", "heapq.py", "colorsys.py",
                "keyword.py", "numbers.py", "queue.py", "sched.py", "stat.py", "string.py", "token.py",
                "copy.py", "calendar.py", "difflib.py", "csv.py", "base64.py", "abc.py", "this.py"]

C_FILE = """#include <stdio.h>\n#include <stdlib.h>\n\nstatic int add(int a, int b) {\n    return a + b;\n}\n
int main(int argc, char **argv) {\n    int total = 0;\n    for (int i = 0; i < argc; i++) {\n        total = add(total, atoi(argv[i]));\n    }\n    printf("%d\\n", total);\n    return 0;\n}\n"""
CPP_FILE = """#include <vector>\n#include <string>\n\nnamespace demo {\ntemplate <typename T>\nclass Stack {\n public:\n    void push(const T& value) { items_.push_back(value); }\n    T pop() {\n        T top = items_.back();\n        items_.pop_back();\n        return top;\n    }\n\n private:\n    std::vector<T> items_;\n};\n}  // namespace demo\n"""
JAVA_FILE = """package demo;\n\nimport java.util.ArrayList;\nimport java.util.List;\n\npublic class Main {\n    public static void main(String[] args) {\n        List<Integer> values = new ArrayList<>();\n        for (int i = 0; i < 10; i++) {\n            if (i % 2 == 0) {\n                values.add(i);\n            }\n        }\n        System.out.println(values);\n    }\n}\n"""
GO_FILE = """package main\n\nimport (\n\t"fmt"\n\t"strings"\n)\n\ntype Point struct {\n\tX, Y int\n}\n\nfunc (p Point) String() string {\n\treturn fmt.Sprintf("(%d, %d)", p.X, p.Y)\n}\n\nfunc main() {\n\tfor i := 0; i < 3; i++ {\n\t\tif i > 0 {\n\t\t\tfmt.Println(strings.Repeat("-", i), Point{i, i})\n\t\t}\n\t}\n}\n"""
JS_FILE = """'use strict';\n\nconst path = require('path');\n\nfunction walk(tree, visit) {\n  for (const node of tree.children) {\n    if (node.children) {\n      walk(node, visit);\n    } else {\n      visit(path.join(tree.name, node.name));\n    }\n  }\n}\n\nmodule.exports = { walk };\n"""

# Round-trip traps: tabs, CRLF, trailing spaces, emoji, CJK, odd escapes, literal special tokens, NBSP, NUL.
EDGE_CASES = [
    ("edge/crlf.py", "Python", "def f(x):\r\n\tif x:  \r\n\t\treturn '😀 中文'  \r\n\treturn None\r\n"),
    ("edge/specials.py", "Python", "EOS = '<|endoftext|>'\nPAD = \"<|pad|>\"  # <|fim_prefix|><|lang:Python|>\n"),
    ("edge/escapes.c", "C", "char *s = \"\\x00\\u12\\\\q\\\" \\e\";\n/* \u00a0nbsp\u2028sep\u200bzw \ufeffbom */\n"),
    ("edge/unicode.js", "JavaScript", "const 名前 = '日本語テキスト';\nconst s = `${名前} 🚀🚀`;\t\t\n\n\n   \n"),
    ("edge/lonely.go", "Go", "package x\n\n\n\n        \t  \n// trailing tab\t"),
    ("edge/nul.java", "Java", "class A { char c = '\0'; String s = \"\\r\\n\r\"; }"),
    ("edge/empty.py", "Python", ""),
]


def _variants(name: str, lang: str, text: str, count: int) -> list[tuple[str, str, str]]:
    """Distinct files of one language: renamed identifiers keep the corpus deduplicated but realistic."""
    return [(f"{name}_{i}", lang, text.replace("main", f"main{i}" if i else "main").replace("demo", f"demo{i}"))
            for i in range(count)]


def corpus_documents() -> list[tuple[str, str, str]]:
    """(path, language, content) rows in corpus order."""
    docs = [(f"stdlib/{rel}", "Python", (STDLIB / rel).read_text(encoding="utf-8"))
            for rel in STDLIB_FILES if (STDLIB / rel).is_file()]
    docs += _variants("c/main.c", "C", C_FILE, 6) + _variants("cpp/stack.hpp", "C++", CPP_FILE, 6)
    docs += _variants("java/Main.java", "Java", JAVA_FILE, 6) + _variants("go/main.go", "Go", GO_FILE, 6)
    docs += _variants("js/walk.js", "JavaScript", JS_FILE, 6) + EDGE_CASES
    return docs


def write_corpus(folder: Path, docs: list[tuple[str, str, str]], *, files: int = 2, row_group_size: int = 16,
                 per_language_extra: dict | None = None) -> Path:
    """Write docs as corpus/data/part-NNNNN.parquet (zstd) + a collect manifest."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    rows = [{"id": hashlib.sha256(content.replace("\r\n", "\n").encode("utf-8")).hexdigest(),
             "content": content, "language": lang, "path": path, "source": "tests", "license": None,
             "size_bytes": len(content.encode("utf-8")), "num_lines": content.count("\n")}
            for path, lang, content in docs]
    per_file = max(1, -(-len(rows) // files))
    schema = pa.schema([("id", pa.string()), ("content", pa.string()), ("language", pa.string()),
                        ("path", pa.string()), ("source", pa.string()), ("license", pa.string()),
                        ("size_bytes", pa.int64()), ("num_lines", pa.int64())])
    for number, start in enumerate(range(0, len(rows), per_file)):
        table = pa.Table.from_pylist(rows[start:start + per_file], schema=schema)
        pq.write_table(table, folder / "data" / f"part-{number:05d}.parquet", compression="zstd",
                       row_group_size=row_group_size)
    per_language: dict = {}
    for row in rows:
        entry = per_language.setdefault(row["language"], {"files": 0, "bytes": 0})
        entry["files"] += 1
        entry["bytes"] += row["size_bytes"]
    per_language.update(per_language_extra or {})
    write_manifest(folder, Manifest(stage="collect", counts={"documents": len(rows), "per_language": per_language,
                                                             "dropped": {}}))
    return folder


@pytest.fixture(scope="session")
def corpus_docs() -> list[tuple[str, str, str]]:
    return corpus_documents()


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory, corpus_docs) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus") / "corpus", corpus_docs)


def run_stage(corpus: Path, output: Path, **options):
    """The real stage with small, fast settings (2000-token vocab, 8-document work units)."""
    from codegen_cli.tokenizer import TokenizeConfig, tokenize

    settings = {"vocab_size": 2000, "val_fraction": 0.2, "chunk_docs": 8, "workers": 1, "verify": True}
    settings.update(options)
    return tokenize(TokenizeConfig(corpus=corpus, output=output, **settings))


@pytest.fixture(scope="session")
def tokens_token(tmp_path_factory, corpus_dir):
    """A tokens folder in token tag style, encoded by 2 worker processes."""
    out = tmp_path_factory.mktemp("tokens") / "tokens"
    return run_stage(corpus_dir, out, tag_style="token", workers=2), out


@pytest.fixture(scope="session")
def tokens_comment(tmp_path_factory, corpus_dir):
    """A tokens folder in comment (CodeGeeX) tag style, encoded in-process."""
    out = tmp_path_factory.mktemp("tokens") / "tokens"
    return run_stage(corpus_dir, out, tag_style="comment"), out


def read_split(folder: Path, split: str):
    """One split's shards concatenated (a numpy array)."""
    import json

    import numpy as np

    meta = json.loads((folder / "meta.json").read_text())
    parts = [np.fromfile(folder / rel, dtype=np.dtype(meta["dtype"]).newbyteorder("<")) for rel in meta["splits"][split]["shards"]]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=meta["dtype"])
