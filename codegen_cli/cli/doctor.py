"""`codegen doctor`: its help text and its report (the options come from DoctorConfig)."""

from __future__ import annotations

from codegen_cli.cli._common import examples
from codegen_cli.output import console

DOC = """Check everything a run needs: versions, toolchains, sandbox, cache, GPUs, disk; exit 1 with the commands
that fix what is missing.
""" + examples(
    "codegen doctor",
    "codegen doctor -w /scratch/work --build      # also build the eval tool cache (up to a minute once)",
    "codegen doctor --fix                          # install what is missing (asks first; --yes for scripts)",
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
    if report.isolation == "none":
        out.print("[red bold]NO ISOLATION[/red bold]: neither bubblewrap nor unshare works here; generated code "
                  "would run with only rlimits (see the fix below)")
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
    for record in report.fix_log:
        outcome = (f"skipped: {record['skipped']}" if "skipped" in record
                   else "ok" if record["exit"] == 0 else f"[red]exit {record['exit']}[/red]")
        out.print(f"fixed: {escape(record['command'])}: {outcome}" if record.get("exit") == 0
                  else f"fix: {escape(record['command'])}: {outcome}")
    if report.fixes:
        out.print("to fix (or: codegen doctor --fix):\n" + "\n".join(f"  {escape(fix)}" for fix in report.fixes))
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
