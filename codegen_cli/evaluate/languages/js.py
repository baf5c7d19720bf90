"""JavaScript: prompt + completion + test, run by node.

HumanEval-X tests use console.assert, which only prints and exits 0; it is replaced first by one that
throws, so a failed assertion fails the sample. JavaScript/162 needs the npm package js-md5, installed
once into the tool cache (`<cache>/js/node_modules`) and shared read-only.
"""

from __future__ import annotations

from pathlib import Path

from codegen_cli.evaluate.languages.base import MARKER_PLACEHOLDER, Built, Program, RunSpec, marker_verdict
from codegen_cli.evaluate.problems import Problem

ASSERT = (
    "console.assert = (condition, ...message) => {\n"
    "  if (!condition) throw new Error('Assertion failed ' + message.join(' '));\n"
    "};\n"
)


def js_deps_dir(cache_dir: Path) -> Path:
    return cache_dir / "js"


class JavaScript:
    key = "js"
    batch_size = 1
    tools = ("node",)

    def assemble(self, problem: Problem, completion: str) -> Program:
        tail = f"\nprocess.stdout.write('\\n{MARKER_PLACEHOLDER}\\n');\n"
        source = ASSERT + problem.prompt + completion + "\n" + problem.test + "\n" + tail
        return Program(self.key, problem.task_id, source)

    def prepare(self, ctx) -> None:
        return None  # js-md5 is installed by the preflight/CI step (npm), not here

    def build(self, programs: list[Program], marker: str, workdir: Path, ctx) -> dict[str, Built]:
        built = {}
        for program in programs:
            path = workdir / f"{program.name}.js"
            path.write_text(program.text(marker), encoding="utf-8")
            built[program.sha256] = Built(ok=True, seconds=0.0, files={"main.js": path})
        return built

    def run_spec(self, program: Program, rundir: Path, ctx) -> RunSpec:
        deps = js_deps_dir(ctx.cache_dir)
        return RunSpec(["node", "main.js"], {"NODE_PATH": str(deps / "node_modules")})

    def verdict(self, program: Program, result, marker: str) -> str:
        return marker_verdict(result, marker)
