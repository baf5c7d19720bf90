"""Rust: prompt + declaration + completion + test, built with `rustc --test` against prebuilt crates.

Every HumanEval-X Rust prompt imports rand, regex and md5; crates.io is unreachable, so the Debian crate
sources (/usr/share/cargo/registry) are built ONCE into the tool cache with cargo, offline, keyed by the
rustc version (rlibs only load in the rustc that built them). Each program is then one `rustc --test`
(~0.1 s) instead of a cargo project. No `fn main` is added: the test harness has its own.
The harness owns `main` (`#![no_main]` + an exported C `main`): it calls every `#[test]` function of the
dataset's test by name (their `assert!`s spelled `::core::assert!`, so a sample's `macro_rules! assert_eq`
cannot switch them off), and only when all of them returned does it read the run's secret from stdin and
print `<secret> ok <name>` per test and `<secret> done`. Libtest is not used, so a forged "test result: ok" proves nothing, and a
sample's own #[test] functions are simply not compiled (extra tests never fail a sample). A test module
that is commented out (Rust/32) leaves no test to call: failed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

from codegen_cli.evaluate.languages import tamper
from codegen_cli.evaluate.languages.base import (
    PLACEHOLDER,
    Built,
    Program,
    RunSpec,
    marker_verdict,
    new_harness_name,
    strip_c_comments,
)
from codegen_cli.evaluate.languages.batch import Step, build_binaries
from codegen_cli.evaluate.languages.context import cache_lock
from codegen_cli.evaluate.problems import Problem

REGISTRY = Path("/usr/share/cargo/registry")
CRATES = {"rand": "0.8", "regex": "1", "md5": "0.7"}
_TEST_FN = re.compile(r"#\[test\]\s*fn\s+(\w+)")
_ASSERTS = re.compile(r"(?<![\w:])(assert|assert_eq|assert_ne|panic)!")


def harness_test(test: str) -> tuple[str, list[str]]:
    """The dataset's test module made callable from our main: `#[cfg(test)]` dropped, each `#[test] fn`
    public, asserts fully qualified. Returns (text, test function names)."""
    plain = strip_c_comments(test)
    names = _TEST_FN.findall(plain)
    text = re.sub(r"#\[cfg\(test\)\]", "", test)  # the original text: strings may hold "//"
    text = _TEST_FN.sub(lambda m: f"pub fn {m.group(1)}", text)
    text = _ASSERTS.sub(lambda m: f"::core::{m.group(1)}!", text)
    return text, names


def harness_main(names: list[str]) -> str:
    """Our `main`: every dataset test in turn (a panic returns 101 at once), then the verdict routine, which
    reads the secret from stdin only now and prints `<secret> ok <test>` per test and `<secret> done`.
    Both functions are named from base.PLACEHOLDER (random per build), so no sample code can call them."""
    calls = "".join(
        f"    if ::std::panic::catch_unwind(|| tests::{n}()).is_err() {{ return 101; }}\n" for n in names)
    listed = ", ".join(f'"{n}"' for n in names)
    return (
        f"\n#[export_name = \"main\"]\npub extern \"C\" fn {PLACEHOLDER}_main(_argc: i32, _argv: *const *const u8)"
        " -> i32 {\n" + calls + f"    {PLACEHOLDER}(&[{listed}]);\n    0\n}}\n\n"
        f"fn {PLACEHOLDER}(names: &[&str]) {{\n"
        "    let mut secret = ::std::string::String::new();\n"
        "    let _ = ::std::io::BufRead::read_line(&mut ::std::io::stdin().lock(), &mut secret);\n"
        "    let secret = secret.trim();\n"
        "    let mut line = ::std::string::String::new();\n"
        "    for name in names {\n"
        '        line.push_str(&::std::format!("\\n{} ok {}\\n", secret, name));\n    }\n'
        '    line.push_str(&::std::format!("\\n{} done\\n", secret));\n'
        "    let mut out = ::std::io::stdout().lock();\n"
        "    let _ = ::std::io::Write::write_all(&mut out, line.as_bytes());\n"
        "    let _ = ::std::io::Write::flush(&mut out);\n}\n"
    )


_lock = threading.Lock()


def rustc_binary() -> str:
    """The real rustc, not the rustup proxy (one process less per compile, and its sysroot is known)."""
    proxy = shutil.which("rustc") or "rustc"
    try:
        sysroot = subprocess.run(
            [proxy, "--print", "sysroot"], capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return proxy
    candidate = Path(sysroot) / "bin" / "rustc"
    return str(candidate) if candidate.is_file() else proxy


def _dynamic_std(sysroot: Path) -> list[str]:
    """Link std as a shared library when the toolchain ships one: linking is half of a test build's time
    and the static std is most of what the linker reads. The absolute rpath keeps working after the
    binary is copied into its run dir (the sysroot is visible read-only inside the sandbox)."""
    version = subprocess.run(
        [str(sysroot / "bin" / "rustc"), "-vV"], check=False, capture_output=True, text=True
    )
    host = next(
        (line.split(":", 1)[1].strip() for line in version.stdout.splitlines() if line.startswith("host:")),
        "",
    )
    lib = sysroot / "lib" / "rustlib" / host / "lib"
    if host and lib.is_dir():
        if any(lib.glob("libstd-*.so")):
            return ["-C", "prefer-dynamic", "-C", f"link-arg=-Wl,-rpath,{lib}"]
    return []


def _deps_dir(cache_dir: Path, rustc: str) -> Path:
    version = subprocess.run([rustc, "-vV"], check=False, capture_output=True, text=True, timeout=60).stdout
    return cache_dir / "rust" / hashlib.sha256(version.encode()).hexdigest()[:16]


class Rust:
    key = "rust"
    batch_size = 8  # programs per sandbox call (batch.py)
    tools = ("rustc", "cargo")

    def __init__(self) -> None:
        self._rustc: str | None = None
        self._externs: list[str] | None = None
        self._link_args: list[str] | None = None

    def _linking(self, sysroot: Path) -> list[str]:
        if self._link_args is None:
            self._link_args = _dynamic_std(sysroot)
        return self._link_args

    def assemble(self, problem: Problem, completion: str) -> Program:
        head = problem.prompt
        if problem.declaration.strip() and problem.declaration.strip() not in problem.prompt:
            head += problem.declaration
        test, names = harness_test(problem.test)
        source = "#![no_main]\n" + head + completion + "\n" + test + "\n" + harness_main(names)
        reason = tamper.check("rust", completion, problem.test, tamper.allowed_names(problem))
        meta = {"tests": names, "tampered": reason}
        return Program(self.key, problem.task_id, source, meta=meta)

    @property
    def rustc(self) -> str:
        if self._rustc is None:
            self._rustc = rustc_binary()
        return self._rustc

    def prepare(self, ctx) -> None:
        """Build rand/regex/md5 from the Debian sources once, offline, and remember the rlib paths."""
        with _lock, cache_lock(ctx.cache_dir, "rust"):
            deps = _deps_dir(ctx.cache_dir, self.rustc)
            index = deps / "externs.json"
            if not index.is_file():
                self._build_deps(deps)
            self._externs = json.loads(index.read_text())

    def _build_deps(self, deps: Path) -> None:
        project = deps / "project"
        (project / "src").mkdir(parents=True, exist_ok=True)
        (project / ".cargo").mkdir(exist_ok=True)
        (project / "src" / "main.rs").write_text("fn main() {}\n")
        requires = "".join(f'{name} = "{version}"\n' for name, version in CRATES.items())
        (project / "Cargo.toml").write_text(
            '[package]\nname = "codegen_eval_deps"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n'
            + requires
            + "\n[profile.dev]\ndebug = 0\n"
        )
        (project / ".cargo" / "config.toml").write_text(
            f'[source.crates-io]\nreplace-with = "debian"\n\n[source.debian]\ndirectory = "{REGISTRY}"\n\n'
            "[net]\noffline = true\n"
        )
        env = {**os.environ, "CARGO_HOME": str(deps / "cargo-home"), "RUSTC": self.rustc}
        result = subprocess.run(
            ["cargo", "build", "--offline", "--message-format=json"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode != 0:
            raise RuntimeError(f"building the Rust crates rand/regex/md5 failed: {result.stderr[-2000:]}")
        externs = []
        for line in result.stdout.splitlines():
            message = json.loads(line) if line.startswith("{") else {}
            target = message.get("target", {})
            if message.get("reason") == "compiler-artifact" and target.get("name") in CRATES:
                rlibs = [f for f in message.get("filenames", []) if f.endswith(".rlib")]
                externs += [f"{target['name']}={rlibs[0]}"] if rlibs else []
        (deps / "externs.json").write_text(json.dumps(sorted(externs)))

    def build(self, programs: list[Program], marker: str, workdir: Path, ctx) -> dict[str, Built]:
        """One sandbox call for the batch (batch.py), one rustc per program."""
        if self._externs is None:
            self.prepare(ctx)
        deps_folder = Path(self._externs[0].split("=", 1)[1]).parent if self._externs else workdir
        sysroot = Path(self.rustc).parent.parent
        steps = []
        for program in programs:
            (workdir / f"{program.name}.rs").write_text(program.text(new_harness_name()), encoding="utf-8")
            argv = [self.rustc, "--edition", "2021", "-C", "debuginfo=0", "-C", "codegen-units=1", "-A", "warnings",
                    f"{program.name}.rs", "-o", program.name, "-L", f"dependency={deps_folder}"]
            for extern in self._externs or []:
                argv += ["--extern", extern]
            steps.append(Step(program.name, argv + self._linking(sysroot)))
        return build_binaries(programs, steps, workdir, ctx, readonly=(sysroot,))

    def run_spec(self, program: Program, rundir: Path, ctx) -> RunSpec:
        return RunSpec(["./main"], {"RUST_BACKTRACE": "0"})

    def evidence_needed(self, program: Program, marker: str) -> tuple[str, ...]:
        return tuple(f"{marker} ok {name}" for name in program.meta.get("tests") or ())

    def verdict(self, program: Program, result, marker: str) -> str:
        """Exit 0, `<secret> ok <name>` for every dataset test (at least one), then `<secret> done`."""
        status = marker_verdict(result, marker, need=self.evidence_needed(program, marker))
        return "failed" if status == "passed" and not program.meta.get("tests") else status
