"""Run the question set through the assistant (in-process or over HTTP) and score every answer."""
from __future__ import annotations

import logging
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from tqdm import tqdm

from core.models import Answer
from core.settings import Clearance, visible_to
from evals.dataset import Question, load_corpus_pages
from evals.metrics import (CaseScores, Passage, answer_words, by_kind, citation_page_precision,
                           confidential_leaks, contains, doc_coverage, first_relevant_rank,
                           key_fact_recall, premise_corrected, retrieval_summary, summarise)

log = logging.getLogger("evals")
THRESHOLDS = Path(__file__).parent / "thresholds.toml"
BASELINE_MODES = ("keyword", "dense", "hybrid-no-rescore")
SEARCH_TOP_K = 10


class Backend(Protocol):
    """What the runner needs from the assistant: an answer, and a ranked search."""

    label: str
    modes: tuple[str, ...]  # baseline retrieval modes this backend can run

    def ask(self, question: str, clearance: Clearance) -> Answer: ...

    def search(self, query: str, clearance: Clearance, top_k: int, mode: str) -> list[Passage]: ...


class InProcessBackend:
    """The assistant's own functions, called directly: what the API and the bot call."""

    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant
        self.label = "in-process"
        can_toggle = hasattr(getattr(assistant, "retriever", None), "rescore")
        self.modes = BASELINE_MODES if can_toggle else BASELINE_MODES[:2]

    def ask(self, question: str, clearance: Clearance) -> Answer:
        return self.assistant.ask(question, clearance)

    def search(self, query: str, clearance: Clearance, top_k: int, mode: str) -> list[Passage]:
        with self._rescoring(mode != "hybrid-no-rescore"):
            hits = self.assistant.search(query, clearance, top_k=top_k,
                                         mode="hybrid" if mode.startswith("hybrid") else mode)
        return [Passage(h.chunk.doc_id, h.chunk.page_start, h.chunk.page_end) for h in hits]

    @contextmanager
    def _rescoring(self, on: bool) -> Iterator[None]:
        """Switch the retriever's coverage rescoring for one call (hybrid without rescoring)."""
        retriever = getattr(self.assistant, "retriever", None)
        if on or not hasattr(retriever, "rescore"):
            yield
            return
        before, retriever.rescore = retriever.rescore, False
        try:
            yield
        finally:
            retriever.rescore = before


class ApiBackend:
    """The live HTTP API: POST /v1/ask and /v1/search with a bearer key (its clearance is the key's)."""

    modes = ("keyword", "dense")

    def __init__(self, url: str, key: str | None, timeout_s: float = 60.0) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout_s)
        self.label, self.warned = url, False

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(path, json=body)
        if response.status_code != 200:
            try:
                error = response.json()["error"]
                detail = f"{error['code']}: {error['message']}"
            except (ValueError, KeyError, TypeError):
                detail = response.text[:200]
            raise RuntimeError(f"{path} returned {response.status_code} ({detail})")
        return response.json()

    def ask(self, question: str, clearance: Clearance) -> Answer:
        return Answer.model_validate(self._post("/v1/ask", {"question": question}))

    def search(self, query: str, clearance: Clearance, top_k: int, mode: str) -> list[Passage]:
        body = self._post("/v1/search", {"query": query, "top_k": top_k, "mode": mode})
        if body["results"] and "page_end" not in body["results"][0] and not self.warned:
            self.warned = True
            log.warning("%s/v1/search gives no page_end: a passage counts only on its first "
                        "page, so (doc, page) hits read lower than in-process", self.label)
        return [Passage(r["doc_id"], int(r["page"]), int(r.get("page_end") or r["page"]))
                for r in body["results"]]


def leak_markers(questions: Sequence[Question], corpus_dir: Path,
                 visibility: Mapping[str, str]) -> list[str]:
    """Key facts of confidential probes that no public document contains: seeing one in a
    public answer means confidential text got through."""
    facts = sorted({f for q in questions if q.kind == "confidential_probe" for f in q.key_facts})
    public = load_corpus_pages(corpus_dir, [d for d, v in visibility.items() if v == "public"])
    if not public:
        log.warning("%s: no public PDFs found; every probe fact counts as a leak marker", corpus_dir)
    text = "\n".join(page for pages in public.values() for page in pages)
    return [f for f in facts if not contains(text, f)]


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - start) * 1000


def run_question(q: Question, backend: Backend, clearance: Clearance, *,
                 visibility: Mapping[str, str], markers: Sequence[str], modes: Sequence[str],
                 judge: Any = None) -> dict[str, Any]:
    """Ask one question under one clearance; its scores plus what came back, for the report."""
    allowed = visible_to(clearance)
    gold = {d: pages for d, pages in q.pages.items() if visibility.get(d, "confidential") in allowed}
    scores = CaseScores(id=q.id, kind=q.kind, clearance=clearance, answerable=q.answerable,
                        expects_answer=q.answerable and bool(gold))
    case: dict[str, Any] = {"question": q.question, "expected": {d: list(p) for d, p in gold.items()},
                            "retrieved": [], "answer": "", "citations": [], "baseline_ranks": {}}
    try:
        retrieved, scores.search_ms = _timed(
            lambda: backend.search(q.question, clearance, SEARCH_TOP_K, "hybrid"))
        answer, scores.ask_ms = _timed(lambda: backend.ask(q.question, clearance))
        baselines = {m: backend.search(q.question, clearance, SEARCH_TOP_K, m) for m in modes}
    except Exception as exc:  # one question's failure is recorded, the run carries on
        scores.error = f"{type(exc).__name__}: {exc}"
        log.warning("%s (%s): %s", q.id, clearance, scores.error)
        return {**asdict(scores), **case}
    cited = [Passage(c.doc_id, c.page, c.page) for c in answer.citations]
    scores.refused = answer.refused
    scores.words = answer_words(answer.answer)
    scores.cited = len(answer.citations)
    if q.kind == "false_premise" and gold:
        scores.corrected = premise_corrected(answer.answer, answer.refused, q.key_facts)
    scores.doc_rank = first_relevant_rank(retrieved, gold, by_page=False)
    scores.page_rank = first_relevant_rank(retrieved, gold, by_page=True)
    if scores.expects_answer:
        scores.citation_precision = citation_page_precision(cited, gold)
        scores.first_cited_gold = cited[0].covers(gold) if cited else None
        scores.fact_recall = key_fact_recall(answer.answer, q.key_facts)
        scores.doc_coverage = doc_coverage(cited, gold)
    if clearance == "public":
        seen = [p.doc_id for p in retrieved + cited + [p for ps in baselines.values() for p in ps]]
        seen += [d.doc_id for d in answer.closest_documents]
        secret = [d for d, v in visibility.items() if v not in allowed]
        scores.leaks = confidential_leaks(seen, answer.answer, secret, markers)
    if judge is not None and not answer.refused and scores.expects_answer:
        scores.judged = judge.score(q.question, answer.answer, [c.quote for c in answer.citations])
    case.update(
        retrieved=[[p.doc_id, p.page_start, p.page_end] for p in retrieved[:5]],
        answer=answer.answer, citations=[[c.doc_id, c.page] for c in answer.citations],
        baseline_ranks={m: [first_relevant_rank(ps, gold, by_page=False),
                            first_relevant_rank(ps, gold, by_page=True)]
                        for m, ps in baselines.items()})
    return {**asdict(scores), **case}


def _scores(case: Mapping[str, Any]) -> CaseScores:
    return CaseScores(**{k: case[k] for k in CaseScores.__dataclass_fields__})


def summarise_run(cases: Sequence[Mapping[str, Any]], modes: Sequence[str]) -> dict[str, Any]:
    """Overall and per-kind figures for one clearance, with the retrieval baselines beside them."""
    scores = [_scores(c) for c in cases]
    baselines: dict[str, Any] = {}
    for mode in ("hybrid", *modes):
        if mode == "hybrid":
            variant = scores
        else:
            variant = [replace(s, doc_rank=c["baseline_ranks"].get(mode, [None, None])[0],
                               page_rank=c["baseline_ranks"].get(mode, [None, None])[1])
                       for s, c in zip(scores, cases)]
        kinds = sorted({s.kind for s in variant})
        baselines[mode] = {"overall": retrieval_summary(variant), "by_kind": {
            k: retrieval_summary([s for s in variant if s.kind == k]) for k in kinds}}
    overall = summarise(scores)
    probes = [s for s in scores if s.kind == "confidential_probe" and s.expects_answer]
    if probes:
        overall["confidential_probe_fact_recall"] = summarise(probes)["key_fact_recall"]
    return {"overall": overall, "by_kind": by_kind(scores), "baselines": baselines,
            "cases": list(cases)}


def run_suite(questions: Sequence[Question], backend: Backend, clearances: Sequence[Clearance], *,
              visibility: Mapping[str, str], markers: Sequence[str], baselines: bool = False,
              judge: Any = None, progress: bool = True,
              questions_file: str = "") -> dict[str, Any]:
    """Every question under every clearance: the results.json document."""
    modes = backend.modes if baselines else ()
    started = datetime.now(timezone.utc)
    runs: dict[str, Any] = {}
    for clearance in clearances:
        bar = tqdm(questions, desc=f"eval {clearance}", unit="q", disable=not progress)
        cases = [run_question(q, backend, clearance, visibility=visibility, markers=markers,
                              modes=modes, judge=judge) for q in bar]
        runs[clearance] = summarise_run(cases, modes)
        o = runs[clearance]["overall"]
        log.info("%s: hit@5 (doc,page) %s, key-fact recall %s, refusal on unanswerable %s, "
                 "leaks %s, errors %s", clearance, _fmt(o["hit@5_page"]),
                 _fmt(o["key_fact_recall"]), _fmt(o["refusal_rate_unanswerable"]),
                 o["confidential_leaks"], o["errors"])
    return {"meta": {
        "started": started.isoformat(timespec="seconds"),
        "seconds": round((datetime.now(timezone.utc) - started).total_seconds(), 1),
        "backend": backend.label, "questions_file": questions_file,
        "questions": len(questions), "clearances": list(clearances),
        "baselines": ["hybrid", *modes] if modes else [], "search_top_k": SEARCH_TOP_K,
        "judged": judge is not None, "judge_model": getattr(judge, "model", None),
        "leak_markers": list(markers),
    }, "runs": runs}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@dataclass(frozen=True)
class GateCheck:
    """One threshold applied to one clearance's figures."""

    name: str
    clearance: str
    value: float | int | None
    limit: float | int
    passed: bool

    @property
    def message(self) -> str:
        sign = "<=" if self.name.startswith("max_") else ">="
        verdict = "ok" if self.passed else "FAILED"
        return (f"{self.name} [{self.clearance}]: {_fmt(self.value) if isinstance(self.value, float) else self.value}"
                f" (needs {sign} {self.limit}) {verdict}")


GATE_METRICS = {"max_confidential_leaks": "confidential_leaks", "min_hit_at_5_page": "hit@5_page",
                "min_refusal_unanswerable": "refusal_rate_unanswerable",
                "min_key_fact_recall": "key_fact_recall", "min_answered_rate": "answered_rate",
                "min_citation_page_precision": "citation_page_precision"}


def load_thresholds(path: Path = THRESHOLDS) -> dict[str, Any]:
    """The [gate] table of the thresholds file."""
    with path.open("rb") as handle:
        return tomllib.load(handle)["gate"]


def gate_checks(results: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[GateCheck]:
    """Each threshold checked against each clearance it applies to; a missing figure fails."""
    checks = []
    for name, metric in GATE_METRICS.items():
        if name not in thresholds:
            continue
        limit = thresholds[name]
        applies = ["public"] if name == "max_confidential_leaks" else thresholds.get(
            "clearances", list(results["runs"]))
        for clearance in applies:
            if clearance not in results["runs"]:
                continue
            value = results["runs"][clearance]["overall"].get(metric)
            passed = value is not None and (value <= limit if name.startswith("max_")
                                            else value >= limit)
            checks.append(GateCheck(name, clearance, value, limit, passed))
    return checks


# `python -m evals sets`: several question sets side by side, with each one's gap to the first
SET_FIGURES: tuple[tuple[str | None, str], ...] = (
    (None, "n"), (None, "hit@5_page"), (None, "mrr_page"), (None, "citation_page_precision"),
    (None, "first_citation_on_gold_page"),
    (None, "key_fact_recall"), (None, "answered_rate"), (None, "refusal_rate_unanswerable"),
    (None, "refusal_rate_hidden"), (None, "confidential_leaks"), (None, "doc_coverage"),
    (None, "answer_words_median"), (None, "citations_mean"), (None, "ask_ms_p95"),
    ("list", "key_fact_recall"), ("list", "answered_rate"), ("table", "key_fact_recall"),
    ("paraphrase", "answered_rate"), ("paraphrase", "key_fact_recall"),
    ("sloppy", "answered_rate"), ("front_matter", "key_fact_recall"), ("who", "key_fact_recall"),
    ("definition", "key_fact_recall"),
    ("comparison", "doc_coverage"), ("comparison", "key_fact_recall"),
    ("unanswerable", "refusal_rate_unanswerable"), ("false_premise", "refusal_rate_unanswerable"),
    ("confidential_probe", "key_fact_recall"),
)


def set_figure(results: Mapping[str, Any], clearance: str, kind: str | None,
               metric: str) -> float | int | None:
    """One figure of one run: overall, or for one kind of question (None if absent)."""
    run = results["runs"].get(clearance)
    if run is None:
        return None
    figures = run["overall"] if kind is None else run["by_kind"].get(kind, {})
    return figures.get(metric)


def side_by_side(named: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown, one table per clearance: each set's figures and each later set minus the first
    (the gap between the tuned set and a held-out one)."""
    names = list(named)
    clearances = list(dict.fromkeys(c for r in named.values() for c in r["runs"]))
    parts = []
    for clearance in clearances:
        header = ["figure", *names, *(f"{n} - {names[0]}" for n in names[1:])]
        rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for kind, metric in SET_FIGURES:
            values = [set_figure(named[n], clearance, kind, metric) for n in names]
            if all(v is None for v in values):
                continue
            gaps = [_gap(values[0], v) if metric != "n" else "" for v in values[1:]]
            label = metric if kind is None else f"{kind}: {metric}"
            rows.append("| " + " | ".join([label, *(_cell(v) for v in values), *gaps]) + " |")
        parts.append(f"## {clearance}\n\n" + "\n".join(rows))
    return "\n\n".join(parts) + "\n"


def _cell(value: float | int | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and abs(value) <= 1:
        return f"{value:.3f}"
    return f"{value:.2f}" if isinstance(value, float) and abs(value) < 10 else f"{value:.0f}"


def _gap(first: float | int | None, other: float | int | None) -> str:
    if first is None or other is None:
        return "–"
    d = other - first
    return f"{d:+.3f}" if isinstance(d, float) and abs(d) <= 1 else f"{d:+.0f}"
