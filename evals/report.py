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

HEADLINE = ("hit@1_doc", "hit@5_doc", "hit@5_page", "mrr_page", "citation_page_precision",
            "key_fact_recall", "answered_rate", "refusal_rate_unanswerable", "refusal_rate_hidden",
            "confidential_probe_fact_recall", "confidential_leaks", "errors",
            "doc_coverage", "false_premise_corrected_rate", "answer_words_median",
            "ask_ms_p50", "ask_ms_p95", "search_ms_p50", "search_ms_p95")
KIND_BARS = ("hit@5_page", "citation_page_precision", "key_fact_recall", "answered_rate",
             "refusal_rate_unanswerable", "refusal_rate_hidden")
RETRIEVAL = ("hit@1_doc", "hit@5_doc", "hit@1_page", "hit@3_page", "hit@5_page", "mrr_doc",
             "mrr_page")


def fmt(value: Any) -> str:
    """A figure for a table: 3 decimals, whole milliseconds, or a dash when missing."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) <= 1 else f"{value:.0f}"
    return str(value)


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


def _grouped_bars(title: str, groups: Mapping[str, Mapping[str, Any]],
                  metrics: Sequence[str]) -> bytes:
    """One cluster of bars per metric, one bar per group (kind or retrieval mode)."""
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / max(len(groups), 1)
    for i, (name, figures) in enumerate(groups.items()):
        values = [figures.get(m) or 0.0 for m in metrics]
        ax.bar([x + i * width for x in range(len(metrics))], values, width, label=name)
    ax.set_xticks([x + width * (len(groups) - 1) / 2 for x in range(len(metrics))], metrics,
                  rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.legend(fontsize="small", ncols=min(len(groups), 7), loc="upper center",
              bbox_to_anchor=(0.5, -0.28))
    return _png(fig)


def _latency_histogram(results: Mapping[str, Any]) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for clearance, run in results["runs"].items():
        for field, label in (("ask_ms", "ask"), ("search_ms", "search")):
            values = [c[field] for c in run["cases"] if c[field] is not None]
            if values:
                ax.hist(values, bins=30, alpha=0.5, label=f"{label} ({clearance})")
    ax.set_xlabel("milliseconds")
    ax.set_ylabel("questions")
    ax.set_title("Latency")
    ax.legend(fontsize="small")
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
    out["latency.png"] = _latency_histogram(results)
    return out


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) if not isinstance(v, str) else v for v in row) + " |"
              for row in rows]
    return "\n".join(lines)


def summary_markdown(results: Mapping[str, Any], gate: Sequence[Any] = ()) -> str:
    """The run in markdown: headline figures, baselines, per kind, gate, failures."""
    meta, runs = results["meta"], results["runs"]
    parts = [f"# Eval run {meta['started']}",
             f"{meta['questions']} questions from `{meta['questions_file']}` against "
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
        parts += ["## Gate", "\n".join(f"- {check.message}" for check in gate)]
    for clearance, run in runs.items():
        failed = failures(run["cases"])
        parts += [f"## Failures ({clearance}): {len(failed)}", _md_table(
            ["id", "kind", "why", "expected", "top retrieved"],
            [[c["id"], c["kind"], why, _pages(c["expected"]), _retrieved(c["retrieved"][:3])]
             for c, why in failed[:40]])]
    return "\n\n".join(parts) + "\n"


def _pages(expected: Mapping[str, Sequence[int]]) -> str:
    return "; ".join(f"{d} p{','.join(map(str, p))}" for d, p in expected.items()) or "(none)"


def _retrieved(items: Sequence[Sequence[Any]]) -> str:
    return "; ".join(f"{d} p{a}" + (f"-{b}" if b != a else "") for d, a, b in items) or "(none)"


def report_html(results: Mapping[str, Any], images: Mapping[str, bytes],
                gate: Sequence[Any] = ()) -> str:
    """A self-contained HTML page: the markdown tables as HTML, plots inline, failure details."""
    e = html.escape
    meta, runs = results["meta"], results["runs"]
    body = [f"<h1>Eval run {e(meta['started'])}</h1><p>{meta['questions']} questions, backend "
            f"{e(meta['backend'])}, {meta['seconds']} s"
            + (". <b>Judged</b> figures (judged_*) come from an LLM grader." if meta["judged"] else "")
            + "</p>"]
    names = [m for m in HEADLINE if any(m in r["overall"] for r in runs.values())]
    names += sorted({k for r in runs.values() for k in r["overall"] if k.startswith("judged_")})
    rows = "".join(f"<tr><th>{e(m)}</th>" + "".join(f"<td>{fmt(r['overall'].get(m))}</td>"
                                                   for r in runs.values()) + "</tr>" for m in names)
    body.append(f"<h2>Overall</h2><table><tr><th>metric</th>"
                + "".join(f"<th>{e(c)}</th>" for c in runs) + f"</tr>{rows}</table>")
    if gate:
        body.append("<h2>Gate</h2><ul>" + "".join(
            f"<li class={'ok' if g.passed else 'bad'}>{e(g.message)}</li>" for g in gate) + "</ul>")
    for name, png in images.items():
        body.append(f"<h3>{e(name[:-4])}</h3><img src='data:image/png;base64,"
                    f"{base64.b64encode(png).decode()}'>")
    for clearance, run in runs.items():
        rows = "".join(
            f"<tr><td>{e(c['id'])}</td><td>{e(c['kind'])}</td><td>{e(c['question'])}</td>"
            f"<td>{e(_pages(c['expected']))}</td><td>{e(_retrieved(c['retrieved']))}</td>"
            f"<td>{e(c['answer'][:300])}</td><td>{e(str(c['citations']))}</td><td>{e(why)}</td></tr>"
            for c, why in failures(run["cases"]))
        body.append(f"<h2>Failures ({e(clearance)})</h2><table><tr><th>id</th><th>kind</th>"
                    "<th>question</th><th>expected</th><th>retrieved (top 5)</th><th>answer</th>"
                    f"<th>citations</th><th>why</th></tr>{rows}</table>")
    style = ("body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:"
             "collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:"
             "top}.bad{color:#b00;font-weight:bold}.ok{color:#070}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Eval report</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>")


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
