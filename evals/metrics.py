"""Pure metric functions: one question's scores, then the means over a group of questions."""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

K_VALUES: tuple[int, ...] = (1, 3, 5)

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                         "\u2013": "-", "\u2014": "-", "\u00ad": ""})
_NOT_WORD = re.compile(r"[^0-9a-z£%]+")


def normalise(text: str) -> str:
    """NFKC (so "ﬁ" becomes "fi"), straight quotes, one space between words."""
    return " ".join(unicodedata.normalize("NFKC", text).translate(_QUOTES).split())


def squash(text: str) -> str:
    """Lower-case letters, digits, £ and % only: "place-based", "placebased" and
    "place based" all match, so PDF line-break hyphenation never decides a score."""
    return _NOT_WORD.sub("", normalise(text).casefold())


def contains(haystack: str, needle: str) -> bool:
    """Whether `needle` occurs in `haystack`, ignoring case, spacing, hyphens and punctuation."""
    target = squash(needle)
    return bool(target) and target in squash(haystack)


@dataclass(frozen=True)
class Passage:
    """Where one retrieved passage or citation sits: a document and a page range."""

    doc_id: str
    page_start: int
    page_end: int

    def covers(self, gold: Mapping[str, Iterable[int]]) -> bool:
        """True if this passage is in a gold document and spans one of its gold pages."""
        pages = gold.get(self.doc_id)
        if pages is None:
            return False
        return any(self.page_start <= page <= self.page_end for page in pages)


def first_relevant_rank(retrieved: Sequence[Passage], gold: Mapping[str, Iterable[int]],
                        by_page: bool) -> int | None:
    """1-based rank of the first passage in a gold document (and on a gold page if
    `by_page`), or None if none is."""
    for rank, passage in enumerate(retrieved, start=1):
        if passage.covers(gold) if by_page else passage.doc_id in gold:
            return rank
    return None


def hit_at_k(rank: int | None, k: int) -> float:
    """1.0 if the first relevant passage is within the top k, else 0.0."""
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None) -> float:
    """1/rank of the first relevant passage, 0.0 if nothing relevant came back."""
    return 0.0 if rank is None else 1.0 / rank


def citation_page_precision(cited: Sequence[Passage],
                            gold: Mapping[str, Iterable[int]]) -> float | None:
    """Share of citations that point at a gold (document, page); None if nothing was cited."""
    if not cited:
        return None
    return sum(1 for c in cited if c.covers(gold)) / len(cited)


def key_fact_recall(answer: str, key_facts: Sequence[str]) -> float | None:
    """Share of key facts the answer contains (normalised match); None if there are none."""
    if not key_facts:
        return None
    return sum(1 for fact in key_facts if contains(answer, fact)) / len(key_facts)


_MARKER = re.compile(r"\[\d+\]")
_WORD = re.compile(r"\w[\w'\u2019.,/:%£-]*")


def answer_words(answer: str) -> int:
    """Words in an answer, not counting citation markers such as "[2]"."""
    return len(_WORD.findall(_MARKER.sub(" ", answer)))


def doc_coverage(cited: Sequence[Passage], gold: Mapping[str, Iterable[int]]) -> float | None:
    """Share of the gold documents the answer cites at least once: a comparison needs a part
    from each document. None when fewer than two gold documents are visible."""
    if len(gold) < 2:
        return None
    return len({c.doc_id for c in cited} & set(gold)) / len(gold)


def premise_corrected(answer: str, refused: bool, corrections: Sequence[str]) -> bool | None:
    """A false premise is handled by an answer that states every correcting fact (e.g. "may
    choose" for "why must ..."); None when the question names no correcting text."""
    if not corrections:
        return None
    return not refused and all(contains(answer, c) for c in corrections)


def median(values: Sequence[float]) -> float | None:
    """The middle value (mean of the two middle ones); None for no values."""
    return percentile(values, 50)


def confidential_leaks(docs_seen: Iterable[str], answer: str,
                       confidential_docs: Iterable[str], markers: Iterable[str]) -> list[str]:
    """Reasons a public-clearance response leaks: a confidential doc_id among the results,
    citations or suggested documents, or a fact only the confidential papers hold."""
    secret = set(confidential_docs)
    reasons = [f"doc {doc_id}" for doc_id in sorted(set(docs_seen) & secret)]
    reasons += [f"fact {m!r}" for m in markers if contains(answer, m)]
    return reasons


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None if there are none."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


@dataclass
class CaseScores:
    """One question under one clearance: what was expected, what came back, its scores."""

    id: str
    kind: str
    clearance: str
    expects_answer: bool  # answerable and a gold document is visible to this clearance
    answerable: bool
    refused: bool | None = None
    doc_rank: int | None = None
    page_rank: int | None = None
    citation_precision: float | None = None
    first_cited_gold: bool | None = None  # the answer up front: its first citation on a gold page
    fact_recall: float | None = None
    leaks: list[str] = field(default_factory=list)
    ask_ms: float | None = None
    search_ms: float | None = None
    error: str | None = None
    judged: dict[str, float] = field(default_factory=dict)
    words: int | None = None  # answer length in words (citation markers not counted)
    cited: int | None = None  # citations the answer carries
    doc_coverage: float | None = None  # questions with two or more visible gold documents
    corrected: bool | None = None  # false premises: the answer states the correction

    @property
    def declined(self) -> bool:
        """An unanswerable question handled: refused, or its false premise corrected."""
        return self.refused is True or self.corrected is True


def _rate(flags: Iterable[bool]) -> float | None:
    flags = list(flags)
    return sum(flags) / len(flags) if flags else None


def retrieval_summary(cases: Sequence[CaseScores]) -> dict[str, float | None]:
    """hit@k by document and by (document, page), and MRR, over questions expecting an answer."""
    scored = [c for c in cases if c.expects_answer and c.error is None]
    out: dict[str, float | None] = {}
    for k in K_VALUES:
        out[f"hit@{k}_doc"] = mean(hit_at_k(c.doc_rank, k) for c in scored)
        out[f"hit@{k}_page"] = mean(hit_at_k(c.page_rank, k) for c in scored)
    out["mrr_doc"] = mean(reciprocal_rank(c.doc_rank) for c in scored)
    out["mrr_page"] = mean(reciprocal_rank(c.page_rank) for c in scored)
    return out


def summarise(cases: Sequence[CaseScores]) -> dict[str, float | int | None]:
    """Every headline figure for a group of cases (one kind, or all of them)."""
    ok = [c for c in cases if c.error is None]
    answerable = [c for c in ok if c.expects_answer]
    unanswerable = [c for c in ok if not c.answerable]
    hidden = [c for c in ok if c.answerable and not c.expects_answer]  # probes, public clearance
    out: dict[str, float | int | None] = {"n": len(cases), "errors": len(cases) - len(ok)}
    out.update(retrieval_summary(cases))
    out["citation_page_precision"] = mean(c.citation_precision for c in answerable)
    out["first_citation_on_gold_page"] = _rate(c.first_cited_gold for c in answerable
                                               if c.first_cited_gold is not None)
    out["key_fact_recall"] = mean(c.fact_recall for c in answerable)
    out["answered_rate"] = _rate(c.refused is False for c in answerable)
    out["refusal_rate_unanswerable"] = _rate(c.declined for c in unanswerable)
    premises = [c for c in unanswerable if c.kind == "false_premise"]
    out["false_premise_corrected_rate"] = _rate(c.corrected is True for c in premises
                                                if c.corrected is not None)
    out["doc_coverage"] = mean(c.doc_coverage for c in answerable)
    out["answer_words_median"] = median([c.words for c in ok
                                         if c.refused is False and c.words is not None])
    out["citations_mean"] = mean([c.cited for c in ok
                                  if c.refused is False and c.cited is not None])
    out["refusal_rate_hidden"] = _rate(c.refused is True for c in hidden)
    out["confidential_leaks"] = sum(1 for c in ok if c.leaks)
    asks = [c.ask_ms for c in ok if c.ask_ms is not None]
    searches = [c.search_ms for c in ok if c.search_ms is not None]
    out["ask_ms_p50"], out["ask_ms_p95"] = percentile(asks, 50), percentile(asks, 95)
    out["search_ms_p50"], out["search_ms_p95"] = percentile(searches, 50), percentile(searches, 95)
    for name in sorted({key for c in ok for key in c.judged}):
        out[f"judged_{name}"] = mean(c.judged.get(name) for c in ok)
    return out


def by_kind(cases: Sequence[CaseScores]) -> dict[str, dict[str, float | int | None]]:
    """`summarise` for each question kind, in a stable order."""
    kinds = sorted({c.kind for c in cases})
    return {kind: summarise([c for c in cases if c.kind == kind]) for kind in kinds}
