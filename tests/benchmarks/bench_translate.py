"""Translation scoring figures on the full HumanEval-X data (all 164 problems per pair, cheap languages).

For six pairs among Python, C++ and JavaScript, scores (1) the target's canonical solutions as the
"translations" (must pass except the documented data bugs) and (2) the source's canonical solution pasted
unchanged (must fail, except where both languages' solutions are the same text). Prints wall time, pass@1
and the task ids that break the expectation. Usage: python tests/benchmarks/bench_translate.py [OUT_DIR]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from codegen_cli.evaluate.problems import load_problems
from codegen_cli.evaluate.translation import translate
from tests.translation.conftest import HUMANEVAL_X, eval_config, write_translations

PAIRS = [("python", "cpp"), ("python", "js"), ("cpp", "python"), ("cpp", "js"), ("js", "python"), ("js", "cpp")]


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="bench_translate_"))
    problems: dict[str, dict[int, object]] = {}
    for problem in load_problems(HUMANEVAL_X):
        problems.setdefault(problem.language, {})[problem.number] = problem
    for paste in (False, True):
        kind = "pasted" if paste else "canonical"
        folder = out / kind
        folder.mkdir(parents=True, exist_ok=True)
        samples = write_translations(folder / "samples.jsonl", problems, PAIRS, range(164), paste_source=paste)
        start = time.monotonic()
        summary = translate(eval_config(samples=samples, output=folder / "results", workers=2))
        print(f"{kind}: {len(PAIRS)} pairs x 164 problems scored in {time.monotonic() - start:.0f} s")
        for name, pair in summary["pairs"].items():
            rows = [json.loads(line) for line in (folder / "results" / name / "results.jsonl").open()]
            odd = [r["task_id"] for r in rows if (r["status"] == "passed") == paste]
            print(f"  {name:16s} pass@1 {100 * pair['pass_at_k']['pass@1']:5.1f}%  "
                  f"{'passing' if paste else 'failing'}: {', '.join(odd) or '-'}")


if __name__ == "__main__":
    main()
