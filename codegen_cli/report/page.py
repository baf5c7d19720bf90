"""The HTML page: sections per stage folder, inline SVG charts, a browsable problems table.

Everything is inline (CSS, SVG, a few lines of JavaScript for the table filter), so the file opens from
disk with no server and no network. Every text from the run (code, output, paths) is HTML-escaped:
generated code is hostile, and so is its output.
"""

from __future__ import annotations

import html
from typing import Any

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 16px 48px;color:#222}
h1{margin:20px 0 4px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
.muted{color:#666}.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{flex:1 1 460px;min-width:0}
.chart svg{width:100%;height:auto}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f7f7f7;border:1px solid #e4e4e4;padding:6px;overflow:auto;max-height:360px;margin:4px 0}
.passed{color:#176b2c}.failed,.compile_error,.timeout,.memory,.sandbox_error{color:#a11}
details{margin:2px 0}summary{cursor:pointer}.filter{margin:8px 0}.filter input{width:260px}
nav a{margin-right:12px}
"""

# The problems-table filter: show rows whose text contains the query and whose status matches.
SCRIPT = """
document.querySelectorAll('.problems').forEach(function (box) {
  var query = box.querySelector('input'), status = box.querySelector('select');
  function apply() {
    var q = query.value.toLowerCase(), s = status.value;
    box.querySelectorAll('tbody tr').forEach(function (row) {
      var show = row.textContent.toLowerCase().indexOf(q) >= 0 && (!s || row.dataset.status.indexOf(s) >= 0);
      row.style.display = show ? '' : 'none';
    });
  }
  query.addEventListener('input', apply);
  status.addEventListener('change', apply);
});
document.body.setAttribute('data-ready', '1');
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def table(header: list[str], rows: list[list[Any]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="num">{esc(c)}</td>' if i in numeric else f"<td>{esc(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def charts(*svgs: str) -> str:
    return '<div class="charts">' + "".join(f'<div class="chart">{svg}</div>' for svg in svgs if svg) + "</div>"


def problems(entries: list[dict[str, Any]], *, anchor: str) -> str:
    """A filterable table: one row per task (counts by status), its samples folded in <details>."""
    if not entries:
        return '<p class="muted">No results.jsonl rows.</p>'
    statuses = sorted({s for e in entries for s in e["statuses"]})
    options = "".join(f'<option value="{esc(s)}">{esc(s)}</option>' for s in statuses)
    rows = []
    for entry in entries:
        counts = ", ".join(f'<span class="{esc(s)}">{esc(s)} {n}</span>' for s, n in sorted(entry["statuses"].items()))
        samples = "".join(
            f'<details><summary>sample {esc(s["sample_idx"])}: <span class="{esc(s["status"])}">{esc(s["status"])}'
            f'</span></summary><div>code</div><pre>{esc(s["code"])}</pre><div>output</div>'
            f'<pre>{esc(s["output"]) or "(none)"}</pre></details>' for s in entry["samples"])
        shown = len(entry["samples"])
        more = f'<div class="muted">{entry["total"] - shown} more not shown</div>' if entry["total"] > shown else ""
        rows.append(f'<tr data-status="{esc(" ".join(entry["statuses"]))}"><td>{esc(entry["task_id"])}</td>'
                    f'<td>{esc(entry["language"])}</td><td>{counts}</td><td>{samples}{more}</td></tr>')
    return (f'<div class="problems" id="{esc(anchor)}"><div class="filter">filter: <input type="search" '
            f'placeholder="task id, code or output"> status: <select><option value="">any</option>{options}'
            f'</select></div><table><thead><tr><th>task</th><th>language</th><th>samples by status</th>'
            f'<th>samples (failures first)</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def document(title: str, subtitle: str, sections: list[tuple[str, str, str]]) -> str:
    """sections: (anchor, heading, inner HTML)."""
    nav = "".join(f'<a href="#{esc(a)}">{esc(h)}</a>' for a, h, _ in sections)
    body = "".join(f'<section id="{esc(a)}"><h2>{esc(h)}</h2>{inner}</section>' for a, h, inner in sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{esc(title)}</title>'
            f'<style>{STYLE}</style></head><body><h1>{esc(title)}</h1><p class="muted">{esc(subtitle)}</p>'
            f'<nav>{nav}</nav>{body}<script>{SCRIPT}</script></body></html>\n')
