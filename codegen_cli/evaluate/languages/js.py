"""JavaScript: prompt + completion + test, run by node.

HumanEval-X tests use console.assert, which only prints and exits 0; it is replaced first by one that
throws, so a failed assertion fails the sample. JavaScript/162 needs the npm package js-md5, installed
once into the tool cache (`<cache>/js/node_modules`) and shared read-only.
"""

from __future__ import annotations

from pathlib import Path

from codegen_cli.evaluate.languages import tamper
from codegen_cli.evaluate.languages.base import Built, Program, RunSpec, marker_verdict
from codegen_cli.evaluate.problems import Problem

# Runs before any sample code: reads the secret from stdin into a closure, freezes the names the tests use
# (a throwing console.assert that cannot be reassigned, console itself, JSON, Math), and keeps a private
# writer for the final evidence line.
PRELUDE = (
    "const __codegen_done = (() => {\n"
    "  let secret = '';\n"
    "  try { secret = require('fs').readFileSync(0, 'utf8').split('\\n')[0].trim(); } catch (e) {}\n"
    "  const out = process.stdout, write = out.write.bind(out);\n"
    "  const strict = (condition, ...message) => {\n"
    "    if (!condition) throw new Error('Assertion failed ' + message.join(' '));\n"
    "  };\n"
    "  Object.defineProperty(console, 'assert', { value: strict, writable: false, configurable: false });\n"
    "  for (const name of ['console', 'JSON', 'Math']) {\n"
    "    Object.defineProperty(globalThis, name, { value: globalThis[name], writable: false, configurable: false });\n"
    "  }\n"
    "  Object.freeze(JSON); Object.freeze(Math);\n"
    "  return () => { write('\\n' + secret + ' done\\n'); };\n"
    "})();\n"
)


def js_deps_dir(cache_dir: Path) -> Path:
    return cache_dir / "js"


class JavaScript:
    key = "js"
    batch_size = 1
    tools = ("node",)

    def assemble(self, problem: Problem, completion: str) -> Program:
        source = PRELUDE + problem.prompt + completion + "\n" + problem.test + "\n__codegen_done();\n"
        return Program(self.key, problem.task_id, source,
                       meta={"tampered": tamper.check("js", completion, problem.test)})

    def prepare(self, ctx) -> None:
        return None  # js-md5 is installed by the preflight/CI step (npm), not here

    def build(self, programs: list[Program], marker: str, workdir: Path, ctx) -> dict[str, Built]:
        built = {}
        for program in programs:
            path = workdir / f"{program.name}.js"
            path.write_text(program.text(), encoding="utf-8")
            built[program.sha256] = Built(ok=True, seconds=0.0, files={"main.js": path})
        return built

    def run_spec(self, program: Program, rundir: Path, ctx) -> RunSpec:
        deps = js_deps_dir(ctx.cache_dir)
        return RunSpec(["node", "main.js"], {"NODE_PATH": str(deps / "node_modules")})

    def verdict(self, program: Program, result, marker: str) -> str:
        return marker_verdict(result, marker)
