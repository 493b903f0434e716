"""Write a run's results.json, summary.md and report.html (with matplotlib plots) into a folder."""
from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from io import BytesIO
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)
from matplotlib.ticker import MaxNLocator  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

HEADLINE = ("hit@1_doc", "hit@5_doc", "hit@5_page", "mrr_page", "citation_page_precision",
            "first_citation_on_gold_page",
            "key_fact_recall", "answered_rate", "refusal_rate_unanswerable", "refusal_rate_hidden",
            "confidential_probe_fact_recall", "confidential_leaks", "errors",
            "doc_coverage", "false_premise_corrected_rate", "answer_words_median", "citations_mean",
            "ask_ms_p50", "ask_ms_p95", "search_ms_p50", "search_ms_p95")
KIND_BARS = ("hit@5_page", "citation_page_precision", "key_fact_recall", "answered_rate",
             "refusal_rate_unanswerable", "refusal_rate_hidden")
RETRIEVAL = ("hit@1_doc", "hit@5_doc", "hit@1_page", "hit@3_page", "hit@5_page", "mrr_doc",
             "mrr_page")


def fmt(value: Any) -> str:
    """A figure for a table: 3 decimals for a share, 2 for a small count ("citations_mean"),
    whole words and milliseconds, or "n/a" when it does not apply (e.g. no unanswerable
    question under this clearance), never confused with a zero."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if abs(value) <= 1:
            return f"{value:.3f}"
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"
    return str(value)


def bar_label(value: float | None) -> str:
    """The figure printed on a bar: two decimals, or n/a for a bar that is not there."""
    return "n/a" if value is None else f"{value:.2f}"


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip(" ,;:.") + "…"


def document_titles(manifest: Path) -> dict[str, str]:
    """doc_id -> title from the corpus manifest, so the report names documents, not ids."""
    import csv

    if not manifest.exists():
        return {}
    with manifest.open(newline="", encoding="utf-8") as handle:
        return {(row.get("doc_id") or row.get("file") or "").strip(): (row.get("title") or "").strip()
                for row in csv.DictReader(handle)}


def run_settings(settings: Any) -> dict[str, Any]:
    """The settings that change the figures, named in the report's header."""
    engine = f"extractive, {settings.answer_engine}"
    answerer = f"llm ({settings.llm_model}), else {engine}" if settings.llm_base_url else engine
    decides = ("fitted answerability model" if settings.answer_engine == "units"
               else f"evidence >= {settings.refusal_threshold}")
    return {"answerer": answerer, "refusal": decides, "pdf_layout": settings.pdf_layout,
            "embedder": settings.embedder, "top_k": settings.top_k,
            "retrieval": f"rrf k {settings.rrf_k}, {settings.retrieve_candidates} candidates a side,"
                         f" named documents x{1 + settings.named_document_boost:g}",
            "chunk_words": f"{settings.chunk_min_words}-{settings.chunk_max_words}"}


def failures(cases: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], str]]:
    """Cases that went wrong, each with a short reason."""
    out = []
    for c in cases:
        why = []
        if c["error"]:
            why.append(f"error: {c['error']}")
        elif c["leaks"]:
            why.append("LEAK " + ", ".join(c["leaks"]))
        if not c["error"] and c["expects_answer"]:
            if c["page_rank"] is None or c["page_rank"] > 5:
                why.append("gold page not in top 5")
            if c["refused"]:
                why.append("refused")
            elif c["fact_recall"] is not None and c["fact_recall"] < 1:
                why.append(f"key facts {c['fact_recall']:.2f}")
            if not c["refused"] and c.get("doc_coverage") is not None and c["doc_coverage"] < 1:
                why.append(f"cited {c['doc_coverage']:.0%} of the documents")
        if not c["error"] and not c["answerable"] and not c["refused"] and not c.get("corrected"):
            why.append("answered an unanswerable question")
        if why:
            out.append((c, "; ".join(why)))
    return out


def _png(fig: Any) -> bytes:
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


NA_STUB = 0.025  # height of the outline drawn where a figure does not apply


def bar_colours(count: int) -> list[tuple[float, ...]]:
    """One colour per group, none repeated: the default cycle has ten, and a run has thirteen
    question kinds (with ten colours, "unanswerable" looked like "comparison" on the chart)."""
    palette = plt.get_cmap("tab10" if count <= 10 else "tab20").colors
    return [palette[i % len(palette)] for i in range(count)]


def _grouped_bars(title: str, groups: Mapping[str, Mapping[str, Any]],
                  metrics: Sequence[str]) -> bytes:
    """One cluster of bars per metric, one bar per group (kind or retrieval mode), each bar
    labelled with its figure; a figure that does not apply is an outlined stub marked n/a."""
    many = len(groups) * len(metrics) > 24
    fig, ax = plt.subplots(figsize=(12 if many else 10, 4.6))
    width = 0.8 / max(len(groups), 1)
    colours = bar_colours(len(groups))
    for i, (name, figures) in enumerate(groups.items()):
        values = [figures.get(m) for m in metrics]
        xs = [x + i * width for x in range(len(metrics))]
        bars = ax.bar(xs, [NA_STUB if v is None else v for v in values], width, label=name,
                      color=colours[i])
        for value, bar in zip(values, bars):
            if value is None:  # not applicable: a short hatched outline, unlike a real zero
                bar.set_edgecolor(bar.get_facecolor())
                bar.set_fill(False)
                bar.set_hatch("////")
        texts = ax.bar_label(bars, labels=[bar_label(v) for v in values], padding=2,
                             fontsize=6.5 if many else 8, rotation=90 if many else 0)
        for value, text in zip(values, texts):
            if value is None:
                text.set_color("#666")
    ax.set_xticks([x + width * (len(groups) - 1) / 2 for x in range(len(metrics))], metrics,
                  rotation=20, ha="right")
    ax.set_ylim(0, 1.22 if many else 1.12)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title)
    swatches = [Patch(facecolor=colour, label=name) for name, colour in zip(groups, colours)]
    ax.legend(handles=swatches, fontsize="small", ncols=min(len(groups), 7),
              loc="upper center", bbox_to_anchor=(0.5, -0.3))  # solid: n/a stubs are hatched
    return _png(fig)


def _latency_panels(results: Mapping[str, Any]) -> bytes:
    """One histogram per series (ask and search, per clearance), each with its p50 and p95."""
    runs = results["runs"]
    series = [("ask_ms", "ask"), ("search_ms", "search")]
    fig, axes = plt.subplots(len(runs), len(series), figsize=(10, 2.6 * len(runs)),
                             squeeze=False)
    for row, (clearance, run) in enumerate(runs.items()):
        for col, (field, label) in enumerate(series):
            ax = axes[row][col]
            values = sorted(c[field] for c in run["cases"] if c[field] is not None)
            ax.set_title(f"{label}, {clearance} clearance", fontsize=10)
            if not values:
                ax.text(0.5, 0.5, "n/a: no timings", ha="center", va="center",
                        transform=ax.transAxes)
                continue
            ax.hist(values, bins=30, color=f"C{col}")
            for q, style in ((0.5, "--"), (0.95, ":")):
                at = values[min(len(values) - 1, int(q * len(values)))]
                ax.axvline(at, color="black", linestyle=style, linewidth=1)
                ax.annotate(f"p{int(q * 100)} {at:.0f} ms" if at >= 10 else f"p{int(q * 100)} {at:.2g} ms", (at, 1), xycoords=("data", "axes fraction"),
                            xytext=(3, -12), textcoords="offset points", fontsize=8)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("milliseconds", fontsize=8)
            ax.set_ylabel("questions", fontsize=8)
    fig.tight_layout()
    return _png(fig)


def plots(results: Mapping[str, Any]) -> dict[str, bytes]:
    """PNG bytes by file name: metrics per kind, baselines side by side, latency."""
    out = {}
    for clearance, run in results["runs"].items():
        out[f"kinds-{clearance}.png"] = _grouped_bars(
            f"Metrics per kind ({clearance} clearance)", run["by_kind"], KIND_BARS)
        if len(run["baselines"]) > 1:
            out[f"baselines-{clearance}.png"] = _grouped_bars(
                f"Retrieval: hybrid vs baselines ({clearance} clearance)",
                {m: b["overall"] for m, b in run["baselines"].items()}, RETRIEVAL)
    out["latency.png"] = _latency_panels(results)
    return out


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) if not isinstance(v, str) else v for v in row) + " |"
              for row in rows]
    return "\n".join(lines)


def gate_heading(meta: Mapping[str, Any]) -> str:
    """CI gates the dev set only: on any other set (a holdout, a fresh batch) the thresholds
    are shown for reference, so a miss there reads as a gap, not a broken build."""
    if meta.get("gated", True):
        return "Gate"
    return "Gate thresholds, for reference (CI gates the dev set only)"


def summary_markdown(results: Mapping[str, Any], gate: Sequence[Any] = ()) -> str:
    """The run in markdown: headline figures, baselines, per kind, gate, failures."""
    meta, runs = results["meta"], results["runs"]
    parts = [f"# Eval run {meta['started']}",
             f"{meta['questions']} questions from `{meta.get('questions_file') or 'n/a'}` against "
             f"{meta['backend']}, clearances {', '.join(meta['clearances'])}, "
             f"{meta['seconds']} s." + (" Includes LLM-**judged** scores (`judged_*`)."
                                        if meta["judged"] else "")]
    names = [m for m in HEADLINE if any(m in r["overall"] for r in runs.values())]
    names += sorted({k for r in runs.values() for k in r["overall"] if k.startswith("judged_")})
    parts += ["## Overall", _md_table(["metric", *runs],
                                      [[m, *(r["overall"].get(m) for r in runs.values())]
                                       for m in names])]
    for clearance, run in runs.items():
        if len(run["baselines"]) > 1:
            parts += [f"## Retrieval baselines ({clearance})", _md_table(
                ["mode", *RETRIEVAL],
                [[mode, *(b["overall"][m] for m in RETRIEVAL)] for mode, b in run["baselines"].items()])]
        parts += [f"## Per kind ({clearance})", _md_table(
            ["kind", "n", *KIND_BARS, "confidential_leaks", "answer_words_median"],
            [[k, s["n"], *(s[m] for m in KIND_BARS), s["confidential_leaks"],
              s.get("answer_words_median")]
             for k, s in run["by_kind"].items()])]
    if gate:
        parts += [f"## {gate_heading(meta)}", "\n".join(f"- {check.message}" for check in gate)]
    for clearance, run in runs.items():
        failed = failures(run["cases"])
        parts += [f"## Failures ({clearance}): {len(failed)}", _md_table(
            ["id", "kind", "why", "expected", "top retrieved"],
            [[c["id"], c["kind"], why, _pages(c["expected"], meta.get("titles") or {}),
              _retrieved(c["retrieved"][:3], meta.get("titles") or {})]
             for c, why in failed[:40]])]
    return "\n\n".join(parts) + "\n"


def _doc(doc_id: str, titles: Mapping[str, str], limit: int = 48) -> str:
    return shorten(titles.get(doc_id) or doc_id, limit)


def _pages(expected: Mapping[str, Sequence[int]], titles: Mapping[str, str] = {}) -> str:
    return "; ".join(f"{_doc(d, titles)} p. {', '.join(map(str, p))}"
                     for d, p in expected.items()) or "(none)"


def _retrieved(items: Sequence[Sequence[Any]], titles: Mapping[str, str] = {}) -> str:
    return "; ".join(f"{_doc(d, titles)} p. {a}" + (f"-{b}" if b != a else "")
                     for d, a, b in items) or "(none)"


def _settings_rows(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What was run, and how: the header of the report."""
    rows = [("question file", meta.get("questions_file") or "n/a (not recorded)"),
            ("questions", str(meta["questions"])), ("backend", meta["backend"]),
            ("clearances", ", ".join(meta["clearances"])),
            ("retrieval baselines", ", ".join(meta.get("baselines") or []) or "not run"),
            ("passages searched per question", str(meta.get("search_top_k", "n/a"))),
            ("LLM judge", meta.get("judge_model") or "yes" if meta.get("judged") else "off"),
            ("started", meta["started"]), ("duration", f"{meta['seconds']} s")]
    rows += [(name.replace("_", " "), str(value))
             for name, value in (meta.get("settings") or {}).items()]
    return rows


def _list(items: Sequence[str]) -> str:
    e = html.escape
    return "<ul>" + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>" if items else "(none)"


def _citations(citations: Sequence[Sequence[Any]], titles: Mapping[str, str]) -> list[str]:
    """One line per cited document: its markers and pages, "[1] p. 2, [3] p. 14"."""
    by_doc: dict[str, list[str]] = {}
    for n, (doc_id, page) in enumerate(citations, 1):
        by_doc.setdefault(doc_id, []).append(f"[{n}] p. {page}")
    return [f"{_doc(d, titles, 36)}: {', '.join(marks)}" for d, marks in by_doc.items()]


def _failure_rows(cases: Sequence[Mapping[str, Any]], titles: Mapping[str, str]) -> str:
    e = html.escape
    rows = []
    for c, why in failures(cases):
        expected = [f"{_doc(d, titles)} p. {', '.join(map(str, p))}" for d, p in c["expected"].items()]
        retrieved = [f"{_doc(d, titles, 36)} p. {a}" + (f"-{b}" if b != a else "")
                     for d, a, b in c["retrieved"][:3]]
        cited = _citations(c["citations"], titles)
        answer = "(refused) " if c.get("refused") else ""
        rows.append(
            f"<tr><td class=id>{e(c['id'])}</td><td>{e(c['kind'])}</td>"
            f"<td>{e(c['question'])}</td><td class=why>{e(why)}</td><td>{_list(expected)}</td>"
            f"<td>{_list(retrieved)}</td><td>{e(answer + shorten(c['answer'], 280))}</td>"
            f"<td>{_list(cited)}</td></tr>")
    return "".join(rows)


STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.na{color:#777;font-style:italic}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 1em;margin:0}dl.meta dt{color:#555}dl.meta dd{margin:0}
table.failures{table-layout:fixed;width:100%}table.failures td{overflow-wrap:anywhere}
table.failures td.id{font-family:monospace;font-size:12px}
table.failures ul{margin:0;padding-left:1.1em}td.why{color:#a00}
.bad{color:#b00;font-weight:bold}.ok{color:#070}.ref{color:#555}img{max-width:100%}
"""
FAILURE_COLS = ("<colgroup><col style='width:8%'><col style='width:7%'><col style='width:16%'>"
                "<col style='width:10%'><col style='width:13%'><col style='width:13%'>"
                "<col style='width:20%'><col style='width:13%'></colgroup>")


def _cell(value: Any) -> str:
    return f"<td class='num{' na' if value is None else ''}'>{html.escape(fmt(value))}</td>"


def report_html(results: Mapping[str, Any], images: Mapping[str, bytes],
                gate: Sequence[Any] = ()) -> str:
    """A self-contained HTML page: what was run, the figures, plots inline, readable failures."""
    e = html.escape
    meta, runs = results["meta"], results["runs"]
    titles = meta.get("titles") or {}
    body = [f"<h1>Eval run {e(meta['started'])}</h1><dl class=meta>"
            + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in _settings_rows(meta))
            + "</dl>"]
    if meta["judged"]:
        body.append("<p><b>Judged</b> figures (judged_*) come from an LLM grader.</p>")
    names = [m for m in HEADLINE if any(m in r["overall"] for r in runs.values())]
    names += sorted({k for r in runs.values() for k in r["overall"] if k.startswith("judged_")})
    rows = "".join(f"<tr><th>{e(m)}</th>" + "".join(_cell(r["overall"].get(m))
                                                   for r in runs.values()) + "</tr>" for m in names)
    body.append(f"<h2>Overall</h2><table><tr><th>metric</th>"
                + "".join(f"<th>{e(c)}</th>" for c in runs) + f"</tr>{rows}</table>"
                "<p>n/a: the figure does not apply to this run (no such question under this "
                "clearance), which is not the same as 0.</p>")
    if gate:
        missed = "bad" if meta.get("gated", True) else "ref"  # a set the gate is not run on
        body.append(f"<h2>{e(gate_heading(meta))}</h2><ul>" + "".join(
            f"<li class={'ok' if g.passed else missed}>{e(g.message)}</li>" for g in gate) + "</ul>")
    for name, png in images.items():
        body.append(f"<h3>{e(name[:-4])}</h3><img alt='{e(name[:-4])}' src='data:image/png;base64,"
                    f"{base64.b64encode(png).decode()}'>")
    for clearance, run in runs.items():
        count = len(failures(run["cases"]))
        body.append(f"<h2>Failures ({e(clearance)}): {count}</h2><table class=failures>"
                    f"{FAILURE_COLS}<tr><th>id</th><th>kind</th><th>question</th><th>why</th>"
                    "<th>expected</th><th>retrieved (top 3)</th><th>answer</th><th>citations</th>"
                    f"</tr>{_failure_rows(run['cases'], titles)}</table>")
    return (f"<!doctype html><html lang=en><head><meta charset='utf-8'><title>Eval report "
            f"{e(meta['started'])}</title><style>{STYLE}</style></head><body>{''.join(body)}"
            "</body></html>")


def write_report(results: Mapping[str, Any], out_dir: Path, gate: Sequence[Any] = ()) -> Path:
    """results.json, summary.md, report.html and the plot PNGs in `out_dir`; returns the HTML path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False),
                                          encoding="utf-8")
    images = plots(results)
    for name, png in images.items():
        (out_dir / name).write_bytes(png)
    (out_dir / "summary.md").write_text(summary_markdown(results, gate), encoding="utf-8")
    page = out_dir / "report.html"
    page.write_text(report_html(results, images, gate), encoding="utf-8")
    return page
