"""`codegen report`: gather each stage folder's figures, draw them, write one self-contained HTML file."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen_cli.atomic import atomic_write_text
from codegen_cli.errors import UsageError
from codegen_cli.languages import HUMANEVAL_X_KEYS
from codegen_cli.report import charts, page
from codegen_cli.report.config import ReportConfig
from codegen_cli.report.gather import (
    StageFolder,
    find_stage_folders,
    problems_table,
    summary_of,
    training_curves,
)

INSTALL = "pip install 'matplotlib>=3.7'"


@dataclass
class ReportSummary:
    output: str
    stages: list[str]  # "<stage>:<folder>" for every section written
    charts: int
    problems: int
    bytes: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _mb(n: float) -> str:
    return f"{n / 1e6:,.2f}"


def _collect(folder: StageFolder) -> tuple[str, int]:
    counts = folder.manifest.get("counts", {})
    langs = counts.get("per_language", {})
    dropped = counts.get("dropped", {})
    svgs = []
    if langs:
        svgs.append(charts.hbar(list(langs), [v["bytes"] / 1e6 for v in langs.values()], xlabel="MB kept",
                                title="language mix (kept)"))
    if dropped:
        svgs.append(charts.hbar(list(dropped), [float(v["files"]) for v in dropped.values()], xlabel="files",
                                title="files dropped, per reason"))
    summary = (f"<p>{counts.get('documents', 0):,} files kept ({_mb(counts.get('bytes_out', 0))} MB) of "
               f"{counts.get('files_seen', 0):,} seen ({_mb(counts.get('bytes_in', 0))} MB).</p>")
    rows = [[lang, f"{v['files']:,}", _mb(v["bytes"])] for lang, v in sorted(langs.items(), key=lambda kv: -kv[1]["bytes"])]
    return summary + page.charts(*svgs) + page.table(["language", "files", "MB"], rows, {1, 2}), len(svgs)


def _tokenize(folder: StageFolder) -> tuple[str, int]:
    counts = folder.manifest.get("counts", {})
    bpt = counts.get("bytes_per_token", {})
    split = (counts.get("splits") or {}).get("train", {}).get("languages", {})
    svg = charts.hbar(list(bpt), [float(v) for v in bpt.values()], xlabel="bytes per token (higher: cheaper)",
                      title="tokenizer efficiency per language") if bpt else ""
    rows = [[lang, f"{v.get('documents', 0):,}", f"{v.get('tokens', 0):,}", _mb(v.get("bytes", 0)),
             f"{bpt.get(lang, 0):.3f}"] for lang, v in sorted(split.items())]
    return page.charts(svg) + page.table(["language", "train documents", "train tokens", "MB", "bytes/token"],
                                         rows, {1, 2, 3, 4}), int(bool(svg))


def _train(folder: StageFolder) -> tuple[str, int]:
    curves = training_curves(folder.path)
    if not curves["loss"] and not curves["val_loss"]:
        return '<p class="muted">No metrics.jsonl rows yet.</p>', 0
    summary = folder.manifest.get("summary") or {}
    facts = [["steps", summary.get("steps"), ","], ["tokens", summary.get("tokens"), ","],
             ["parameters", summary.get("parameters"), ","], ["final training loss", summary.get("final_train_loss"), ".4f"],
             ["final validation loss", summary.get("final_val_loss"), ".4f"],
             ["tokens/s", summary.get("tokens_per_s"), ",.0f"]]
    rows = [[name, format(value, spec)] for name, value, spec in facts if isinstance(value, (int, float))]
    return page.charts(charts.training(curves)) + page.table(["", ""], rows, {1}), 1


def _eval(folder: StageFolder, cfg: ReportConfig) -> tuple[str, int, int]:
    summary = summary_of(folder.path)
    per_language = {HUMANEVAL_X_KEYS.get(k, k): v.get("pass_at_k") or {}
                    for k, v in sorted((summary.get("per_language") or {}).items())}
    svg = charts.pass_at_k(per_language, title="pass@k per language") if any(per_language.values()) else ""
    overall = ", ".join(f"{k} {100 * v:.1f}%" for k, v in (summary.get("pass_at_k") or {}).items())
    rows = [[lang, v.get("problems", ""), v.get("samples", ""), v.get("passed", ""),
             ", ".join(f"{k} {100 * s:.1f}" for k, s in (v.get("pass_at_k") or {}).items())]
            for lang, v in sorted((summary.get("per_language") or {}).items())]
    entries = problems_table(folder.path, per_problem=cfg.samples_per_problem, max_chars=cfg.max_chars)
    inner = (f"<p>{esc_join(summary.get('benchmark'), summary.get('mode'))} overall: {overall or 'n/a'}.</p>"
             + page.charts(svg) + page.table(["language", "problems", "samples", "passed", "pass@k (%)"], rows)
             + "<h3>Problems</h3>" + page.problems(entries, anchor=f"problems-{folder.path.name}"))
    return inner, int(bool(svg)), len(entries)


def esc_join(*parts: Any) -> str:
    return page.esc(" ".join(str(p) for p in parts if p))


def _translate(folder: StageFolder, cfg: ReportConfig) -> tuple[str, int, int]:
    summary = summary_of(folder.path)
    svgs = [charts.heatmap(summary.get("sources", []), summary.get("targets", []), grid,
                           title=f"translation {k} (%), rows: source, columns: target")
            for k, grid in (summary.get("matrix") or {}).items()]
    entries: list[dict[str, Any]] = []
    for name in sorted(summary.get("pairs") or {}):
        entries += problems_table(folder.path / name, per_problem=cfg.samples_per_problem, max_chars=cfg.max_chars)
    mean = ", ".join(f"{k} {100 * v:.1f}%" for k, v in (summary.get("mean_pass_at_k") or {}).items())
    inner = (f"<p>{len(summary.get('pairs') or {})} pairs; mean {mean or 'n/a'}.</p>" + page.charts(*svgs)
             + "<h3>Problems</h3>" + page.problems(entries, anchor=f"problems-{folder.path.name}"))
    return inner, len(svgs), len(entries)


def _before_after(folders: list[StageFolder]) -> list[tuple[str, str, str, int]]:
    """(anchor, heading, inner HTML, charts) per X-base/ + X/ pair of eval folders: the starting model
    against the trained one on the same problems, with the held-out loss of the run between them."""
    from codegen_cli.report.compare import baseline_pairs, compare_results

    evals = [f.path for f in folders if f.stage == "eval"]
    runs = [f.path for f in folders if f.stage == "train"]
    sections = []
    for before, after in baseline_pairs(evals):
        comparison = compare_results(before, after, runs[0] if len(runs) == 1 else None)
        rows = [[r["language"], r["metric"], r["problems"] or "", f"{100 * r['before']:.1f}",
                 f"{100 * r['after']:.1f}", f"{100 * r['delta']:+.1f}"] for r in comparison["rows"]]
        scores = {}
        for r in comparison["rows"]:
            if r["language"] != "all":
                scores.setdefault(f"{r['language']} before", {})[r["metric"]] = r["before"]
                scores.setdefault(f"{r['language']} after", {})[r["metric"]] = r["after"]
        svgs = [charts.pass_at_k(scores, title="pass@k before and after")] if scores else []
        if runs:
            curves = training_curves(runs[0])
            if curves["loss"] or curves["val_loss"]:
                svgs.append(charts.training(curves))
        loss = comparison.get("val_loss") or {}
        loss_line = (f"<p>Held-out loss (nats/token): {loss['before']:.4f} before training, {loss['after']:.4f} "
                     f"after ({loss['delta']:+.4f}).</p>" if loss.get("after") is not None else "")
        inner = (f'<p class="muted">{page.esc(before.name)}/ (the starting model) against {page.esc(after.name)}/ '
                 "(the trained one)</p>" + loss_line + page.charts(*svgs)
                 + page.table(["language", "metric", "problems", "before (%)", "after (%)", "delta (points)"],
                              rows, {2, 3, 4, 5}))
        sections.append((f"compare-{after.name}", f"Before and after: {before.name}/ vs {after.name}/", inner,
                         len(svgs)))
    return sections


HEADINGS = {"collect": "Corpus", "tokenize": "Tokenizer", "train": "Training", "eval": "Evaluation",
            "translate": "Translation"}


def report(cfg: ReportConfig) -> ReportSummary:
    """Write the HTML report of cfg.folder (a workdir or a stage folder) to cfg.output."""
    started = time.monotonic()
    try:
        import matplotlib  # noqa: F401  (the one plotting dependency; checked before any work)
    except ImportError as exc:
        raise UsageError(f"codegen report needs matplotlib; install it with `{INSTALL}`") from exc
    folders = find_stage_folders(cfg.folder)
    output = Path(cfg.output) if cfg.output else Path(cfg.folder) / "report.html"
    sections, n_charts, n_problems = [], 0, 0
    for anchor, heading, inner, drawn in _before_after(folders):
        sections.append((anchor, heading, inner))
        n_charts += drawn
    for folder in folders:
        if folder.stage in ("eval", "translate"):
            inner, drawn, problems = (_eval if folder.stage == "eval" else _translate)(folder, cfg)
            n_problems += problems
        else:
            inner, drawn = {"collect": _collect, "tokenize": _tokenize, "train": _train}[folder.stage](folder)
        n_charts += drawn
        heading = f"{HEADINGS[folder.stage]}: {folder.path.name}/"
        sections.append((f"{folder.stage}-{folder.path.name}", heading,
                         f'<p class="muted">{page.esc(folder.path)}</p>' + inner))
    text = page.document(f"codegen report: {Path(cfg.folder).resolve().name}",
                         f"{Path(cfg.folder).resolve()} ({time.strftime('%Y-%m-%d %H:%M')})", sections)
    output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output, text)
    return ReportSummary(str(output), [f"{f.stage}:{f.path}" for f in folders], n_charts, n_problems,
                         len(text.encode("utf-8")), round(time.monotonic() - started, 2))
