"""The report's charts, drawn with matplotlib as inline SVG (no JavaScript, no network, small files).

Why matplotlib and static SVG (docs/report.md): the page must open from disk anywhere, including viewers
that strip scripts (CI artefact browsers, mail); SVG text stays text (searchable, copyable, testable);
a chart costs a few tens of KB where an interactive library inlines ~3.5 MB of JavaScript per page. Only
the object-oriented API is used (`Figure`, never pyplot), so nothing global changes and no GUI backend loads.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

# Text as <text> elements (not glyph paths), no timestamps or random ids: small and reproducible SVG.
RC = {"svg.fonttype": "none", "svg.hashsalt": "codegen-report", "font.size": 9,
      "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3}
WIDTH, HEIGHT = 6.4, 3.0  # inches at 100 dpi: fits a laptop column


def _figure(rows: int = 1, cols: int = 1, height: float = HEIGHT) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH, height), dpi=100, layout="constrained"), rows, cols


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "codegen report"})
    text = buffer.getvalue()
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)  # RDF block: no use inline
    return text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE: the SVG is inlined in HTML


def _draw(draw: Any, *, height: float = HEIGHT) -> str:
    import matplotlib

    with matplotlib.rc_context(RC):
        fig, _, _ = _figure(height=height)
        draw(fig)
        return _svg(fig)


def training(curves: dict[str, list[tuple[float, float]]]) -> str:
    """Loss and validation loss against step; learning rate and tokens/s below, sharing the step axis."""
    def draw(fig: Any) -> None:
        loss, lr, speed = fig.subplots(3, 1, sharex=True, height_ratios=[2, 1, 1])
        for key, label, style in (("loss", "training loss", "-"), ("val_loss", "validation loss", "o-")):
            if curves.get(key):
                xs, ys = zip(*curves[key])
                loss.plot(xs, ys, style, label=label, markersize=3, linewidth=1.2)
        loss.set_ylabel("loss (nats/token)")
        loss.legend(loc="upper right")
        for axis, key, label in ((lr, "lr", "learning rate"), (speed, "tokens_per_s", "tokens/s")):
            if curves.get(key):
                xs, ys = zip(*curves[key])
                axis.plot(xs, ys, linewidth=1.2, color="tab:green" if key == "lr" else "tab:purple")
            axis.set_ylabel(label)
        speed.set_xlabel("optimizer step")
        lr.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))

    return _draw(draw, height=5.2)


def hbar(labels: Sequence[str], values: Sequence[float], *, xlabel: str, title: str) -> str:
    """Horizontal bars, largest on top (language mix, drop reasons, bytes per token)."""
    def draw(fig: Any) -> None:
        axis = fig.subplots()
        order = sorted(range(len(values)), key=lambda i: values[i])
        axis.barh([labels[i] for i in order], [values[i] for i in order], color="tab:blue")
        for y, i in enumerate(order):
            axis.annotate(f"{values[i]:,.3g}", (values[i], y), xytext=(3, 0), textcoords="offset points",
                          va="center", fontsize=8)
        axis.set_xlabel(xlabel)
        axis.set_title(title)
        axis.grid(axis="y", visible=False)

    return _draw(draw, height=max(1.6, 0.32 * len(labels) + 1.0))


def pass_at_k(per_language: dict[str, dict[str, float]], *, title: str) -> str:
    """Grouped bars: pass@k (percent) per language, one bar per k."""
    languages = list(per_language)
    ks = sorted({k for scores in per_language.values() for k in scores}, key=lambda k: int(k.split("@")[-1]))

    def draw(fig: Any) -> None:
        axis = fig.subplots()
        width = 0.8 / max(1, len(ks))
        for j, k in enumerate(ks):
            xs = [i + (j - (len(ks) - 1) / 2) * width for i in range(len(languages))]
            ys = [100 * per_language[lang].get(k, 0.0) for lang in languages]
            bars = axis.bar(xs, ys, width, label=k)
            axis.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
        axis.set_xticks(range(len(languages)), languages)
        axis.set_ylabel("pass@k (%)")
        axis.set_ylim(0, 118)  # room above 100 % for the bar labels and the legend
        axis.set_yticks(range(0, 101, 20))
        axis.set_title(title)
        axis.legend(loc="upper left", ncols=max(1, len(ks)), fontsize=8)
        axis.grid(axis="x", visible=False)

    return _draw(draw)


def heatmap(sources: Sequence[str], targets: Sequence[str], values: dict[str, dict[str, float | None]], *,
            title: str) -> str:
    """The translation matrix: rows are source languages, columns targets, cells pass@k in percent."""
    import numpy as np

    grid = np.full((len(sources), len(targets)), np.nan)
    for i, source in enumerate(sources):
        for j, target in enumerate(targets):
            value = (values.get(source) or {}).get(target)
            if value is not None:
                grid[i, j] = 100 * value

    def draw(fig: Any) -> None:
        axis = fig.subplots()
        image = axis.imshow(np.ma.masked_invalid(grid), cmap="viridis", vmin=0, vmax=100, aspect="auto")
        axis.set_xticks(range(len(targets)), targets)
        axis.set_yticks(range(len(sources)), sources)
        axis.set_xlabel("target language")
        axis.set_ylabel("source language")
        axis.grid(False)
        for i in range(len(sources)):
            for j in range(len(targets)):
                text = "-" if np.isnan(grid[i, j]) else f"{grid[i, j]:.1f}"
                axis.text(j, i, text, ha="center", va="center", fontsize=8,
                          color="gray" if np.isnan(grid[i, j]) else "white" if grid[i, j] < 60 else "black")
        axis.set_title(title)
        fig.colorbar(image, ax=axis, label="pass@k (%)")

    return _draw(draw, height=max(2.4, 0.45 * len(sources) + 1.2))
