"""`codegen doctor`: check this machine before a long run (versions, toolchains, sandbox, cache, GPUs, disk)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated

import typer

from codegen_cli.cli._common import JsonOpt, engine_errors, examples
from codegen_cli.errors import EXIT_FAILED
from codegen_cli.output import console, emit_json


def _split(values: list[str] | None) -> list[str]:
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


def doctor_command(
    work_dir: Annotated[Path, typer.Option("--work-dir", "-w", help="Folder the runs will write to.")] = Path("."),
    languages: Annotated[
        list[str] | None,
        typer.Option("--languages", "-l", help="Eval languages to check [default: all six]."),
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Eval tool cache [default: CODEGEN_EVAL_CACHE or "
                                  "~/.cache/codegen/eval].")
    ] = None,
    build: Annotated[
        bool, typer.Option("--build", help="Also build the eval tool cache and prove each language's test "
                           "dependencies in the sandbox, as `codegen eval` does first.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Check everything a run needs; exit 1 with the commands that fix what is missing."""
    with engine_errors():
        from codegen_cli.doctor import DoctorConfig, doctor

        values = {"work_dir": work_dir, "cache_dir": cache_dir, "build": build}
        if languages:
            values["languages"] = _split(languages)
        report = doctor(DoctorConfig(**values))
    render(report)
    if json_out:
        emit_json(report.to_dict())
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


doctor_command.__doc__ = inspect.cleandoc(doctor_command.__doc__ or "") + examples(
    "codegen doctor",
    "codegen doctor -w /scratch/work --build      # also build the eval tool cache (up to a minute once)",
    "codegen doctor --json | jq .accelerators",
)


def render(report) -> None:
    """The report as tables on stderr (stdout stays free for --json)."""
    from rich.markup import escape
    from rich.table import Table

    out = console()
    python = report.python
    out.print(f"python {python['version']} ({escape(python['executable'])}) on {python['platform']}")
    libraries = ", ".join(f"{name} {version or '[red]MISSING[/red]'}" for name, version in report.libraries.items())
    out.print(f"libraries: {libraries}")
    table = Table(title="eval toolchains and test dependencies", title_justify="left")
    for column in ("language", "needs", "version / where", "status"):
        table.add_column(column)
    for language, items in report.toolchains.items():
        crates = [item for item in items if item["name"].startswith("Rust crate ")]
        for item in [item for item in items if item not in crates or not item["found"]]:
            status = "[green]ok[/green]" if item["found"] else "[red]missing[/red]"
            table.add_row(language, escape(item["name"]), escape(item["version"]), status)
        found = [item for item in crates if item["found"]]
        if found:  # twelve rows of crates say less than one
            text = ", ".join(f"{item['name'].split()[-1]} {item['version']}" for item in found[:3])
            more = f" + {len(found) - 3} more" if len(found) > 3 else ""
            table.add_row(language, f"Debian crates ({len(found)})", escape(text + more), "[green]ok[/green]")
    out.print(table)
    out.print(f"sandbox tier: [bold]{report.sandbox['tier']}[/bold] ({escape(report.sandbox['reason'])})")
    cache = report.tool_cache
    built = [key for key, entry in cache["entries"].items() if entry["built"]]
    todo = [key for key, entry in cache["entries"].items() if not entry["built"]]
    out.print(f"eval tool cache: {escape(cache['dir'])}, {cache['bytes'] / 1e6:.1f} MB; built: "
              f"{', '.join(built) or 'none'}; built by the first eval: {', '.join(todo) or 'none'}")
    _render_accelerators(report.accelerators)
    disk = report.disk
    out.print(f"disk: {disk['free_gb']} GB free of {disk['total_gb']} GB at {escape(disk['measured_at'])}")
    for warning in report.warnings:
        out.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    for problem in report.problems:
        out.print(f"[red]missing:[/red] {escape(problem)}")
    if report.fixes:
        out.print("to fix:\n" + "\n".join(f"  {escape(fix)}" for fix in report.fixes))
    out.print("[green]ready[/green]" if report.ok else "[red]not ready[/red]: run the commands above")


def _render_accelerators(acc) -> None:
    out = console()
    if acc.get("torch") is None:
        out.print(f"accelerators: torch does not import ({acc.get('error')})")
    elif acc["cuda"]:
        names = ", ".join(f"{d['name']} ({d['memory_gb']} GB, sm {d['capability']})" for d in acc["cuda"])
        out.print(f"accelerators: torch {acc['torch']}, CUDA {acc['cuda_runtime']}: {names}; bf16 {acc['bf16']}")
    else:
        extra = "Apple MPS" if acc["mps"] else f"CPU only ({acc['cpu_threads']} threads)"
        out.print(f"accelerators: torch {acc['torch']}: no CUDA device; {extra}")
