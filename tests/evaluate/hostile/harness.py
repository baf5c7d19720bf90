"""Build and run the hostile programs of this folder inside the sandbox, and check the host afterwards.

Programs are named `<lang>/<threat>.<ext>` and take their targets on the command line; they print
"ESCAPED ..." when something they should not manage succeeds, but the tests judge by the host's state
(files, listener, processes), never by what a hostile program says.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from codegen_cli.evaluate.sandbox import Limits, Sandbox, SandboxResult

HOSTILE_DIR = Path(__file__).resolve().parent
MARK_VAR = "HOSTILE_MARK"  # set by the tests in the program's env, to find its processes afterwards


@dataclass(frozen=True)
class Lang:
    key: str
    ext: str
    tool: str  # the executable that must exist for this language
    source_name: str
    compile_argv: tuple[str, ...] = ()  # run in the sandbox with the workdir as cwd
    run_argv: tuple[str, ...] = ("./prog",)
    env: dict[str, str] = field(default_factory=dict)
    jvm: bool = False  # JVMs reserve more address space than any sane RLIMIT_AS: use -Xmx instead


LANGS = {
    "python": Lang("python", "py", sys.executable, "prog.py", run_argv=(sys.executable, "-I", "prog.py")),
    "cpp": Lang("cpp", "cpp", "g++", "prog.cpp", ("g++", "-O0", "-o", "prog", "prog.cpp")),
    "js": Lang("js", "js", "node", "prog.js", run_argv=("node", "prog.js")),
    "java": Lang("java", "java", "javac", "Main.java", ("javac", "-J-Xmx256m", "Main.java"),
                 ("java", "-Xmx256m", "-XX:+UseSerialGC", "-cp", ".", "Main"), jvm=True),
    "go": Lang("go", "go", "go", "main.go", ("go", "build", "-o", "prog", "main.go"),
               env={"GO111MODULE": "off"}),
    "rust": Lang("rust", "rs", "rustc", "prog.rs", ("rustc", "--edition", "2021", "-o", "prog", "prog.rs")),
}


def hostile_programs() -> list[tuple[str, str]]:
    """(lang, threat) for every program in this folder."""
    found = []
    for lang in LANGS.values():
        for path in sorted((HOSTILE_DIR / lang.key).glob(f"*.{lang.ext}")):
            found.append((lang.key, path.stem))
    return found


def prepare(sandbox: Sandbox, lang: str, threat: str, workdir: Path) -> list[str]:
    """Copy the program into `workdir`, compile it there inside the sandbox, return the run argv."""
    spec = LANGS[lang]
    shutil.copy(HOSTILE_DIR / lang / f"{threat}.{spec.ext}", workdir / spec.source_name)
    if spec.compile_argv:
        env = {**spec.env, "GOCACHE": str(workdir / ".gocache")}
        res = sandbox.run(list(spec.compile_argv), workdir=workdir, env=env,
                          limits=Limits(wall_seconds=180, memory_bytes=None, output_bytes=8 << 10))
        assert res.returncode == 0, f"compiling {lang}/{threat} failed: {res.stderr}"
    return list(spec.run_argv)


def run_limits(lang: str, **overrides) -> Limits:
    limits = Limits(**overrides)
    return replace(limits, memory_bytes=None) if LANGS[lang].jvm else limits


def processes_with_mark(mark: str) -> list[int]:
    needle = f"{MARK_VAR}={mark}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as f:
                    if needle in f.read():
                        found.append(int(entry.name))
            except OSError:
                pass
    return found


class Listener:
    """A TCP listener on the host's loopback that records whether anyone connected."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.connections.append(conn.recv(100))
                except OSError:
                    self.connections.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def summary(res: SandboxResult) -> str:
    return (f"rc={res.returncode} timed_out={res.timed_out} mem={res.memory_exceeded} "
            f"trunc={res.output_truncated} {res.seconds:.2f}s stdout={res.stdout[:300]!r} "
            f"stderr={res.stderr[-300:]!r}")
