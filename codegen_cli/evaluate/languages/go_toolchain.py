"""Go programs built by the compiler and linker directly, without the `go` command per program (issue 16).

Measured on 40 canonical solutions (CPU seconds per program, no sandbox, 2-core VM): `go test -exec` in one
batch 0.246 (the go command itself 0.066: action graph, content hashes, cache look-ups; two compiles 0.038;
the link 0.141); compile + compile + link called directly 0.193; the same with testify's HTTP assertions
left out 0.164, since the link no longer loads net/http, crypto/tls and x509 (151 -> ~90 packages).

What is built ONCE into the tool cache, from trusted inputs only (`prepare`):
- `importcfg`: where the export data of every standard package and of testify's dependencies lives (what
  `go list -export` reports; files inside GOCACHE are copied next to it, so a cache trim never breaks it);
- `assert.a`: Debian's testify/assert compiled from its own sources minus the HTTP assertions
  (http_assertions.go and the forwarders whose signature names net/http or net/url); if that does not
  compile (another testify version), the unmodified package is used instead.

Per program (`build_script`), inside ONE sandbox call for a whole batch, each program in its own folder:
`compile` the program as package `prog` (the source still says `package main`, exactly what `go test`
compiles), `compile` a test main that lists every `TestXxx(*testing.T)` of the file (what `go test`
generates: `testing.MainStart(testdeps.TestDeps{}, ...)`, then the file's TestMain), `link` with `-s -w`
(what `go test` passes). No program code runs during the build. The compiler can only import what the
importcfg lists (the standard library and testify); the assembly rebuilds every import block from the
problem's fields anyway, so a completion cannot add an import.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

from codegen_cli.evaluate.languages.lexing import blank_literals

TESTIFY = "github.com/stretchr/testify/assert"
TRIM_VERSION = "1"  # bump when what is left out of testify changes
# A test function as `go test` finds one: `Test`, then nothing or a character that is not a lower-case letter.
_TEST = re.compile(r"^func\s+(Test(?![a-z])\w*)\s*\(\s*\w+\s+\*\s*testing\s*\.\s*T\s*\)", re.MULTILINE)


def go_output(argv: list[str], env: dict[str, str]) -> str:
    return subprocess.run(argv, env=env, check=True, capture_output=True, text=True, timeout=600).stdout.strip()


def entry_dir(cache_dir: Path, env: dict[str, str]) -> Path:
    """`<cache>/go/direct-<key>`: the key covers the Go version and testify's sources (an upgrade of either
    builds a new entry)."""
    digest = hashlib.sha256(f"{TRIM_VERSION}\0{go_output(['go', 'version'], env)}".encode())
    source = Path(go_output(["go", "list", "-f", "{{.Dir}}", TESTIFY], env))
    for path in sorted(source.glob("*.go")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return cache_dir / "go" / f"direct-{digest.hexdigest()[:12]}"


def trimmed_sources(source: Path, names: list[str]) -> dict[str, str]:
    """testify/assert's files without the HTTP assertions: the file that defines them, and each top-level
    function whose signature names net/http or net/url (gofmt'd source: a function ends at a `}` in column
    0), with those two imports dropped."""
    kept = {}
    for name in names:
        if name == "http_assertions.go":
            continue
        lines = (source / name).read_text(encoding="utf-8").splitlines(keepends=True)
        out: list[str] = []
        skipping = False
        for line in lines:
            if not skipping and line.startswith("func ") and re.search(r"\b(http|url)\.", line):
                while out and out[-1].startswith("//"):  # the function's doc comment goes with it
                    out.pop()
                skipping = True
            if not skipping:
                out.append(line)
            elif line.rstrip("\n") == "}":
                skipping = False
        text = "".join(out)
        kept[name] = re.sub(r'^\s*(?:\w+\s+)?"net/(?:http|url)"\s*\n', "", text, flags=re.MULTILINE)
    return kept


def prepare(cache_dir: Path, env: dict[str, str]) -> Path:
    """Build the entry (importcfg + trimmed testify) once; returns its folder. Trusted inputs only."""
    folder = entry_dir(cache_dir, env)
    if (folder / "importcfg").is_file():
        return folder
    work = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    (work / "pkg").mkdir(parents=True)
    listed = go_output(["go", "list", "-export", "-deps", "-f", "{{if .Export}}{{.ImportPath}}={{.Export}}{{end}}",
                        "std", "testing/internal/testdeps", TESTIFY], env)
    gocache = env.get("GOCACHE", "")
    lines = []
    for entry in listed.splitlines():
        path, export = entry.split("=", 1)
        if gocache and export.startswith(gocache):  # GOCACHE can be trimmed: keep a copy of our own
            copy = work / "pkg" / (path + ".a")
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(export, copy)
            export = str(copy)
        lines.append(f"packagefile {path}={export}")
    (work / "importcfg").write_text("\n".join(lines) + "\n")
    assert_a = _trimmed_assert(work, env)
    if assert_a:
        lines = [f"packagefile {TESTIFY}={assert_a}" if line.startswith(f"packagefile {TESTIFY}=") else line
                 for line in lines]
    # the paths inside the entry as they will be once it is renamed into place
    (work / "importcfg").write_text("\n".join(lines).replace(str(work), str(folder)) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    work.rename(folder)
    return folder


def _trimmed_assert(work: Path, env: dict[str, str]) -> str:
    """Compile testify/assert without its HTTP assertions into `work`; its path, or "" when the trimmed
    sources do not compile (then the unmodified package stays in the importcfg)."""
    source = Path(go_output(["go", "list", "-f", "{{.Dir}}", TESTIFY], env))
    names = go_output(["go", "list", "-f", "{{join .GoFiles \" \"}}", TESTIFY], env).split()
    trimmed = work / "assert-src"
    trimmed.mkdir()
    for name, text in trimmed_sources(source, names).items():
        (trimmed / name).write_text(text, encoding="utf-8")
    target = work / "pkg" / "testify-assert-trimmed.a"
    done = subprocess.run(
        [str(tool(env, "compile")), "-o", str(target), "-p", TESTIFY, "-complete", "-importcfg",
         str(work / "importcfg"), "-pack", *sorted(str(p) for p in trimmed.glob("*.go"))],
        env=env, capture_output=True, text=True, timeout=600, check=False)
    shutil.rmtree(trimmed)
    return str(target) if done.returncode == 0 else ""


def tool(env: dict[str, str], name: str) -> Path:
    return Path(go_output(["go", "env", "GOTOOLDIR"], env)) / name


def test_names(source: str) -> list[str]:
    """Every test function `go test` would run in this file (comments and literals ignored)."""
    return [m.group(1) for m in _TEST.finditer(blank_literals(source, "go"))]


def testmain(tests: list[str]) -> str:
    """The test main `go test` generates for a package whose file has a TestMain."""
    listed = "".join(f'\t{{"{name}", _test.{name}}},\n' for name in tests)
    return (
        "package main\n\nimport (\n\t\"os\"\n\t\"reflect\"\n\t\"testing\"\n\t\"testing/internal/testdeps\"\n\n"
        "\t_test \"prog\"\n)\n\nvar tests = []testing.InternalTest{\n" + listed + "}\n\n"
        "func main() {\n\tm := testing.MainStart(testdeps.TestDeps{}, tests, nil, nil, nil)\n"
        "\t_test.TestMain(m)\n"
        "\tos.Exit(int(reflect.ValueOf(m).Elem().FieldByName(\"exitCode\").Int()))\n}\n"
    )


# One sandbox call builds a batch: `sh build.sh TOOLDIR IMPORTCFG dir...`. Each program's folder holds
# main_test.go and testmain.go; what the tools print goes to its `errors` file, and `t.test` exists only
# when all three steps succeeded.
BUILD_SCRIPT = """set -u
tools=$1; cfg=$2; shift 2
for dir in "$@"; do
  ( cd "$dir" &&
    "$tools/compile" -o pkg.a -p prog -complete -importcfg "$cfg" -pack -nolocalimports main_test.go &&
    { cat "$cfg"; echo "packagefile prog=$PWD/pkg.a"; } > link.cfg &&
    "$tools/compile" -o main.a -p main -complete -importcfg link.cfg -pack testmain.go &&
    "$tools/link" -o t.test -importcfg link.cfg -s -w -buildmode=exe main.a
  ) > "$dir/errors" 2>&1
done
"""


def toolchain_env(env: dict[str, str]) -> dict[str, str]:
    """What compile and link need in the sandbox: GOROOT (the linker records it in the binary)."""
    return {"GOROOT": go_output(["go", "env", "GOROOT"], env), "CGO_ENABLED": "0"}
