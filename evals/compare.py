"""Deltas between two eval runs: markdown tables, or a side-by-side HTML page; B minus A."""
from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evals.report import STYLE, _settings_rows, fmt, plots

KIND_METRICS = ("hit@5_page", "key_fact_recall", "answered_rate", "refusal_rate_unanswerable")


def load_results(path: Path) -> dict[str, Any]:
    """A run's results.json, given the file or the run folder holding it."""
    path = path / "results.json" if path.is_dir() else path
    return json.loads(path.read_text(encoding="utf-8"))


def delta(a: Any, b: Any) -> str:
    """b - a with a sign, or n/a when either side is missing."""
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return "n/a"
    d = b - a
    rate = isinstance(d, float) and max(abs(a), abs(b)) <= 1  # a rate, not milliseconds
    return f"{d:+.3f}" if rate else f"{d:+.0f}"


def _rows(a: Mapping[str, Any], b: Mapping[str, Any], metrics: Any = None) -> list[str]:
    names = [m for m in (metrics or a) if m in a and m in b and m != "n"]
    return [f"| {m} | {fmt(a[m])} | {fmt(b[m])} | {delta(a[m], b[m])} |" for m in names]


def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """Markdown: overall, baseline and per-kind figures of run A and run B, with B - A."""
    header = ["| metric | A | B | B - A |", "|---|---|---|---|"]
    parts = [f"A: {a['meta']['started']} ({a['meta']['backend']}, {a['meta']['questions']} q)",
             f"B: {b['meta']['started']} ({b['meta']['backend']}, {b['meta']['questions']} q)"]
    for clearance in [c for c in a["runs"] if c in b["runs"]]:
        ra, rb = a["runs"][clearance], b["runs"][clearance]
        parts += [f"\n## {clearance}: overall", *header, *_rows(ra["overall"], rb["overall"])]
        for mode in [m for m in ra["baselines"] if m in rb["baselines"] and m != "hybrid"]:
            parts += [f"\n## {clearance}: baseline {mode}", *header,
                      *_rows(ra["baselines"][mode]["overall"], rb["baselines"][mode]["overall"])]
        for kind in [k for k in ra["by_kind"] if k in rb["by_kind"]]:
            parts += [f"\n## {clearance}: {kind}", *header,
                      *_rows(ra["by_kind"][kind], rb["by_kind"][kind], KIND_METRICS)]
    return "\n".join(parts) + "\n"


# ---- the side-by-side HTML report (issue 14) ---------------------------------------------------

LOWER_IS_BETTER = ("confidential_leaks", "errors", "ask_ms_p50", "ask_ms_p95", "search_ms_p50",
                   "search_ms_p95")
COMPARE_STYLE = STYLE + """
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1em}.cols h4{margin:.2em 0}
td.better{background:#e3f4e3}td.worse{background:#fbe3e3}tr.differs td{background:#fff6d6}
"""


def verdict(metric: str, a: Any, b: Any) -> str:
    """better / worse / '' for B against A, knowing which figures are lower-is-better."""
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or a == b:
        return ""
    lower = metric in LOWER_IS_BETTER or metric.startswith(("ask_ms", "search_ms"))
    return "better" if (b < a) == lower else "worse"


def _delta_table(a: Mapping[str, Any], b: Mapping[str, Any], metrics: Any = None) -> str:
    e = html.escape
    names = [m for m in (metrics or a) if m in a and m in b and m != "n"]
    rows = "".join(
        f"<tr><th>{e(m)}</th><td class=num>{e(fmt(a[m]))}</td><td class=num>{e(fmt(b[m]))}</td>"
        f"<td class='num {verdict(m, a[m], b[m])}'>{e(delta(a[m], b[m]))}</td></tr>" for m in names)
    return f"<table><tr><th>metric</th><th>A</th><th>B</th><th>B - A</th></tr>{rows}</table>"


def compare_html(a: Mapping[str, Any], b: Mapping[str, Any], names: tuple[str, str] = ("A", "B")
                 ) -> str:
    """A self-contained page: both runs' settings side by side, B - A per figure (green where
    B is better, red where worse), and each run's plots next to the other's."""
    e = html.escape
    rows_a, rows_b = dict(_settings_rows(a["meta"])), dict(_settings_rows(b["meta"]))
    settings = "".join(
        f"<tr class='{'differs' if rows_a.get(k) != rows_b.get(k) and k not in ('started', 'duration') else ''}'>"
        f"<th>{e(k)}</th><td>{e(rows_a.get(k, 'n/a'))}</td><td>{e(rows_b.get(k, 'n/a'))}</td></tr>"
        for k in dict.fromkeys([*rows_a, *rows_b]))
    body = [f"<h1>Eval runs compared</h1><p>A: <code>{e(names[0])}</code><br>B: "
            f"<code>{e(names[1])}</code></p><h2>What was run</h2><table><tr><th></th><th>A</th>"
            f"<th>B</th></tr>{settings}</table>"]
    for clearance in [c for c in a["runs"] if c in b["runs"]]:
        ra, rb = a["runs"][clearance], b["runs"][clearance]
        body.append(f"<h2>{e(clearance)} clearance</h2><div class=cols><div><h4>Overall</h4>"
                    f"{_delta_table(ra['overall'], rb['overall'])}</div><div>")
        for kind in [k for k in ra["by_kind"] if k in rb["by_kind"]]:
            body.append(f"<h4>{e(kind)}</h4>"
                        f"{_delta_table(ra['by_kind'][kind], rb['by_kind'][kind], KIND_METRICS)}")
        body.append("</div></div>")
    images_a, images_b = plots(a), plots(b)
    for name in [n for n in images_a if n in images_b]:
        cells = "".join(f"<div><h4>{label}</h4><img alt='{e(name[:-4])} {label}' "
                        f"src='data:image/png;base64,{base64.b64encode(png).decode()}'></div>"
                        for label, png in (("A", images_a[name]), ("B", images_b[name])))
        body.append(f"<h3>{e(name[:-4])}</h3><div class=cols>{cells}</div>")
    return (f"<!doctype html><html lang=en><head><meta charset='utf-8'><title>Eval runs compared"
            f"</title><style>{COMPARE_STYLE}</style></head><body>{''.join(body)}</body></html>")
