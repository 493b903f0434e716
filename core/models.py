"""Plain data passed between stages: documents, chunks, hits, citations and answers."""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


@dataclass(frozen=True)
class Document:
    """One manifest entry: what staff see as a document's identity."""

    doc_id: str
    title: str
    organisation: str = ""
    date: str = ""
    doc_type: str = ""
    visibility: str = "confidential"
    source_url: str = ""


@dataclass(frozen=True)
class Page:
    """Text of one printed page (PDF) or of a whole text file (page 1)."""

    number: int
    text: str


def value_at(marks: Sequence[tuple[int, T]], offset: int, first: T) -> T:
    """The value of the last (offset, value) mark at or before `offset`; `first` before any."""
    value = first
    for start, marked in marks:
        if start <= offset:
            value = marked
    return value


@dataclass(frozen=True)
class Chunk:
    """A passage of one document with everything needed to cite it."""

    id: str
    doc_id: str
    title: str
    organisation: str
    date: str
    doc_type: str
    visibility: str
    page_start: int
    page_end: int
    section: str
    ordinal: int
    text: str
    content_hash: str
    page_map: tuple[tuple[int, int], ...] = ()  # (offset in text, page) where a page begins
    section_map: tuple[tuple[int, str], ...] = ()  # (offset, heading path) where a later section begins
    source_url: str = ""  # where the document was published (manifest), for the document list

    def page_of(self, offset: int) -> int:
        """The page the character at `offset` of the text was printed on."""
        return value_at(self.page_map, offset, self.page_start)

    def section_of(self, offset: int) -> str:
        """The heading path over the character at `offset` (short sections share a chunk)."""
        return value_at(self.section_map, offset, self.section)

    def metadata(self) -> dict[str, str | int]:
        """Flat metadata for the vector store (everything but the text)."""
        return {
            "doc_id": self.doc_id, "title": self.title, "organisation": self.organisation,
            "date": self.date, "doc_type": self.doc_type, "visibility": self.visibility,
            "page_start": self.page_start, "page_end": self.page_end, "section": self.section,
            "ordinal": self.ordinal, "content_hash": self.content_hash,
            "page_map": ",".join(f"{o}:{p}" for o, p in self.page_map),
            "section_map": json.dumps(self.section_map) if self.section_map else "",
            "source_url": self.source_url,
        }

    @classmethod
    def from_record(cls, chunk_id: str, text: str, meta: dict) -> "Chunk":
        return cls(
            id=chunk_id, text=text,
            doc_id=str(meta["doc_id"]), title=str(meta.get("title", "")),
            organisation=str(meta.get("organisation", "")), date=str(meta.get("date", "")),
            doc_type=str(meta.get("doc_type", "")), visibility=str(meta["visibility"]),
            page_start=int(meta.get("page_start", 1)), page_end=int(meta.get("page_end", 1)),
            section=str(meta.get("section", "")), ordinal=int(meta.get("ordinal", 0)),
            content_hash=str(meta.get("content_hash", "")),
            page_map=tuple(
                (int(o), int(p)) for o, p in
                (pair.split(":") for pair in str(meta.get("page_map", "")).split(",") if pair)
            ),
            section_map=tuple((int(o), str(path)) for o, path
                              in json.loads(str(meta.get("section_map") or "[]"))),
            source_url=str(meta.get("source_url") or ""),
        )


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk and the score that ranked it (higher is better)."""

    chunk: Chunk
    score: float
    sources: tuple[str, ...] = field(default=())  # which retrievers found it: "dense", "keyword"
    similarity: float | None = None  # cosine similarity to the question, when dense found it


class Turn(BaseModel):
    """One earlier turn of a conversation, supplied by the caller."""

    role: Literal["user", "assistant"] = Field(description="Who said it.")
    content: str = Field(max_length=8000, description="What was said.")


class Citation(BaseModel):
    """A numbered source: the document, page and section a claim comes from, and the quote."""

    n: int = Field(description="Marker number used in the answer text as [n], from 1.")
    doc_id: str
    title: str
    page: int = Field(description="1-based PDF page number, as printed in the footer.")
    section: str = Field(description="Heading path of the section the quote is in.")
    quote: str = Field(description="The sentence(s) of the source that support the claim.")


class DocumentRef(BaseModel):
    """A document the caller may see, suggested when a question is not covered."""

    doc_id: str
    title: str


class AnswerPart(BaseModel):
    """One sentence or list item of an answer and the citations supporting it: interfaces
    render markers from `citations`, never by re-reading brackets in the text."""

    text: str = Field(description="Plain text of the sentence or item; no citation markers.")
    citations: list[int] = Field(default_factory=list,
                                 description="Numbers (Citation.n) of the sources supporting it.")
    kind: Literal["sentence", "item"] = Field("sentence", description=(
        "`item` is a list item (render as a bullet under the sentence before it)."))


class Answer(BaseModel):
    """The one response shape every interface returns."""

    answer: str = Field(description="The answer as text, each claim followed by [n] markers.")
    citations: list[Citation] = Field(default_factory=list)
    parts: list[AnswerPart] = Field(default_factory=list, description=(
        "The same answer in structured form: the text of each sentence or list item and its "
        "citation numbers. Empty on a refusal."))
    refused: bool = False
    mode: Literal["extractive", "llm", "fallback"] = "extractive"
    closest_documents: list[DocumentRef] = Field(
        default_factory=list, description="On a refusal: up to 3 documents the caller may see."
    )
    notice: str | None = Field(default=None, description=(
        "Why the LLM was not used, or which of the question's words no document matches."))


@dataclass(frozen=True)
class StreamEvent:
    """One piece of a streamed answer: text deltas, then one final event with the Answer."""

    kind: Literal["delta", "final"]
    text: str = ""
    answer: Answer | None = None
