"""Deltas between two eval runs, as markdown tables: B minus A for every shared figure."""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evals.report import fmt

KIND_METRICS = ("hit@5_page", "key_fact_recall", "answered_rate", "refusal_rate_unanswerable")


def load_results(path: Path) -> dict[str, Any]:
    """A run's results.json, given the file or the run folder holding it."""
    path = path / "results.json" if path.is_dir() else path
    return json.loads(path.read_text(encoding="utf-8"))


def delta(a: Any, b: Any) -> str:
    """b - a with a sign, or a dash when either side is missing."""
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return "–"
    d = b - a
    return f"{d:+.3f}" if isinstance(d, float) and abs(d) < 10 else f"{d:+.0f}"


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
