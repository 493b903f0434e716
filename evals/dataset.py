"""Evaluation questions: load them from JSON Lines and check each quote and page against the corpus."""
from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from evals.metrics import contains

DEV_SET = Path(__file__).parent / "data" / "dev.jsonl"
# written after the refusal rules were tuned on the dev set, to see how far they carry;
# not a gate, and not to be tuned on
HOLDOUT_SET = Path(__file__).parent / "data" / "holdout.jsonl"
KINDS = ("fact", "paraphrase", "list", "numeric", "multi_doc", "unanswerable", "confidential_probe")
_PAGE_FOOTER = re.compile(r"^\s*Page \d+ of \d+\s*$", re.MULTILINE)


class DatasetError(ValueError):
    """A question file line that does not fit the schema; the message names file, line and id."""


@dataclass(frozen=True)
class Question:
    """One evaluation question and its gold answer: documents, pages, key facts, quote."""

    id: str
    question: str
    answerable: bool
    kind: str
    pages: Mapping[str, tuple[int, ...]]  # gold doc_id -> 1-based PDF pages; empty if unanswerable
    key_facts: tuple[str, ...] = ()
    quote: str | None = None

    @property
    def docs(self) -> tuple[str, ...]:
        """Gold documents, in the order the question file lists them."""
        return tuple(self.pages)


def parse_question(row: object) -> Question:
    """A Question from one decoded JSON object, or DatasetError saying which field is wrong."""
    if not isinstance(row, dict):
        raise DatasetError("each line must be a JSON object")
    missing = [k for k in ("id", "question", "answerable", "doc", "pages", "key_facts", "quote",
                           "kind") if k not in row]
    if missing:
        raise DatasetError(f"missing field(s): {', '.join(missing)}")
    if not isinstance(row["id"], str) or not row["id"]:
        raise DatasetError("id must be a non-empty string")
    if not isinstance(row["question"], str) or not row["question"].strip():
        raise DatasetError("question must be a non-empty string")
    if not isinstance(row["answerable"], bool):
        raise DatasetError("answerable must be true or false")
    if row["kind"] not in KINDS:
        raise DatasetError(f"kind {row['kind']!r} is not one of {', '.join(KINDS)}")
    facts = row["key_facts"]
    if not isinstance(facts, list) or not all(isinstance(f, str) and f.strip() for f in facts):
        raise DatasetError("key_facts must be a list of non-empty strings")
    if row["quote"] is not None and not isinstance(row["quote"], str):
        raise DatasetError("quote must be a string or null")
    return Question(
        id=row["id"], question=row["question"].strip(), answerable=row["answerable"],
        kind=row["kind"], pages=_gold_pages(row["doc"], row["pages"]),
        key_facts=tuple(facts), quote=row["quote"],
    )


def _gold_pages(doc: object, pages: object) -> dict[str, tuple[int, ...]]:
    """Normalise the three accepted `doc`/`pages` shapes into doc_id -> pages."""
    def page_list(value: object) -> tuple[int, ...]:
        if not isinstance(value, list) or not all(
                isinstance(p, int) and not isinstance(p, bool) and p >= 1 for p in value):
            raise DatasetError("pages must be lists of 1-based page numbers")
        return tuple(value)

    if doc is None:
        if pages not in ([], {}, None):
            raise DatasetError("pages must be empty when doc is null")
        return {}
    if isinstance(doc, str):
        return {doc: page_list(pages)}
    if isinstance(doc, list) and doc and all(isinstance(d, str) for d in doc):
        if isinstance(pages, dict):
            if set(pages) != set(doc):
                raise DatasetError("pages must have one entry per doc")
            return {d: page_list(pages[d]) for d in doc}
        if isinstance(pages, list):  # the same pages in every document
            return {d: page_list(pages) for d in doc}
    raise DatasetError("doc must be a doc_id, a non-empty list of doc_ids, or null")


def load_questions(path: Path = DEV_SET) -> list[Question]:
    """Every question in a JSON Lines file; blank lines are skipped, duplicate ids are errors."""
    questions: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            question = parse_question(json.loads(line))
        except (json.JSONDecodeError, DatasetError) as exc:
            raise DatasetError(f"{path}:{number}: {exc}") from None
        if question.id in seen:
            raise DatasetError(f"{path}:{number}: duplicate id {question.id!r}")
        seen.add(question.id)
        questions.append(question)
    return questions


def read_manifest(corpus_dir: Path, manifest_name: str = "documents.csv") -> dict[str, str]:
    """doc_id -> visibility, from the corpus manifest (the `file` column is the doc_id)."""
    with (corpus_dir / manifest_name).open(newline="", encoding="utf-8") as handle:
        return {row["file"]: row["visibility"].strip() for row in csv.DictReader(handle)}


def read_pdf_pages(pdf: Path) -> list[str]:
    """Text of each page of a PDF (index 0 is page 1), without the "Page N of M" footer."""
    from pypdf import PdfReader  # imported here: only the validator needs it

    return [_PAGE_FOOTER.sub("", page.extract_text() or "") for page in PdfReader(pdf).pages]


def load_corpus_pages(corpus_dir: Path, doc_ids: Iterable[str]) -> dict[str, list[str]]:
    """doc_id -> page texts for every document that has a PDF in the corpus folder."""
    return {d: read_pdf_pages(corpus_dir / f"{d}.pdf") for d in doc_ids
            if (corpus_dir / f"{d}.pdf").exists()}


def _found_on(text: str, doc_pages: Sequence[str], wanted: Sequence[int]) -> bool:
    """Whether text occurs on one listed page, or across two adjacent listed pages."""
    in_range = [p for p in sorted(set(wanted)) if 1 <= p <= len(doc_pages)]
    if any(contains(doc_pages[p - 1], text) for p in in_range):
        return True
    return any(contains(doc_pages[p - 1] + "\n" + doc_pages[p], text)
               for p in in_range if p + 1 in in_range)


def validate_question(q: Question, visibility: Mapping[str, str],
                      corpus: Mapping[str, list[str]]) -> list[str]:
    """Problems with one question against the manifest and the PDF text; empty if none."""
    problems: list[str] = []
    expect_unanswerable = q.kind == "unanswerable"
    if q.answerable == expect_unanswerable:
        problems.append("answerable must be false exactly when kind is 'unanswerable'")
    if not q.answerable:
        if q.pages or q.key_facts or q.quote:
            problems.append("an unanswerable question has no doc, pages, key_facts or quote")
        return [f"{q.id}: {p}" for p in problems]
    if not q.key_facts:
        problems.append("an answerable question needs key_facts")
    for fact in q.key_facts:
        if not 1 <= len(fact.split()) <= 5:
            problems.append(f"key fact {fact!r} should be 1-5 words")
    if q.quote is None:
        problems.append("an answerable question needs a quote")
    if q.kind == "multi_doc" and len(q.docs) < 2:
        problems.append("a multi_doc question names at least two documents")
    confidential = [d for d in q.docs if visibility.get(d) == "confidential"]
    if q.kind == "confidential_probe" and len(confidential) != len(q.docs):
        problems.append("a confidential_probe question is answered only by confidential documents")
    for doc_id, pages in q.pages.items():
        if doc_id not in visibility:
            problems.append(f"doc {doc_id!r} is not in the manifest")
        elif doc_id not in corpus:
            problems.append(f"doc {doc_id!r} has no PDF in the corpus")
        elif not pages:
            problems.append(f"no pages listed for {doc_id}")
        elif bad := [p for p in pages if p > len(corpus[doc_id])]:
            problems.append(f"{doc_id} has {len(corpus[doc_id])} pages; {bad} out of range")
    listed = [(corpus[d], pages) for d, pages in q.pages.items() if d in corpus]
    if q.quote and not any(_found_on(q.quote, text, pages) for text, pages in listed):
        problems.append(f"quote not found on the listed pages: {q.quote[:60]!r}")
    for fact in q.key_facts:
        if not any(_found_on(fact, text, pages) for text, pages in listed):
            problems.append(f"key fact {fact!r} not found on the listed pages")
    return [f"{q.id}: {p}" for p in problems]


def validate_questions(questions: Sequence[Question], corpus_dir: Path,
                       manifest_name: str = "documents.csv") -> list[str]:
    """Every problem in a question set, checked against the real corpus PDFs."""
    visibility = read_manifest(corpus_dir, manifest_name)
    corpus = load_corpus_pages(corpus_dir, visibility)
    return [problem for q in questions for problem in validate_question(q, visibility, corpus)]
