"""The assistant's public face: the one set of functions the API, Slack bot and evals call."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.errors import BadQuestion, NotFound
from core.models import Answer, Document, Hit, Turn
from core.settings import Clearance, Settings, visible_to

RetrievalMode = Literal["hybrid", "dense", "keyword"]


@dataclass(frozen=True)
class StreamEvent:
    """One piece of a streamed answer: text deltas, then one final event with the Answer."""

    kind: Literal["delta", "final"]
    text: str = ""
    answer: Answer | None = None


def validate_question(question: object, settings: Settings) -> str:
    """The question, stripped, or BadQuestion saying what is wrong with it."""
    if not isinstance(question, str):
        raise BadQuestion("question must be a string")
    cleaned = question.strip()
    if not cleaned:
        raise BadQuestion("question is empty")
    if len(cleaned) > settings.max_question_chars:
        raise BadQuestion(
            f"question is {len(cleaned)} characters; the limit is {settings.max_question_chars}"
        )
    return cleaned


class Assistant:
    """Retrieval + answering for one deployment; build it with `build_assistant(settings)`."""

    def __init__(self, settings: Settings, retriever, answerer, catalogue) -> None:
        self.settings = settings
        self.retriever = retriever
        self.answerer = answerer
        self.catalogue = catalogue

    def ask(self, question: str, clearance: Clearance, history: Sequence[Turn] = ()) -> Answer:
        """A cited answer, or a plain refusal, using only documents the clearance may see."""
        question = validate_question(question, self.settings)
        hits = self.retriever.retrieve(question, clearance, history=history)
        return self.answerer.answer(question, hits, clearance=clearance, history=history)

    def ask_stream(
        self, question: str, clearance: Clearance, history: Sequence[Turn] = ()
    ) -> Iterator[StreamEvent]:
        """The same answer as `ask`, as text deltas followed by a final event."""
        question = validate_question(question, self.settings)
        hits = self.retriever.retrieve(question, clearance, history=history)
        yield from self.answerer.stream(question, hits, clearance=clearance, history=history)

    def search(
        self, query: str, clearance: Clearance, top_k: int = 8, mode: RetrievalMode = "hybrid"
    ) -> list[Hit]:
        """Ranked passages the clearance may see (no answer composed)."""
        query = validate_question(query, self.settings)
        return self.retriever.retrieve(query, clearance, top_k=top_k, mode=mode)

    def documents(self, clearance: Clearance) -> list[Document]:
        """Documents in the index that the clearance may see."""
        allowed = visible_to(clearance)
        return [doc for doc in self.catalogue.documents() if doc.visibility in allowed]

    def pdf_path(self, doc_id: str, clearance: Clearance) -> Path:
        """The PDF of a document, or NotFound if it has none or the caller may not see it."""
        for doc in self.documents(clearance):
            if doc.doc_id == doc_id:
                path = self.catalogue.pdf_path(doc_id)
                if path is not None and path.exists():
                    return path
        raise NotFound(f"no document {doc_id!r}")

    def pdf(self, doc_id: str, clearance: Clearance) -> bytes:
        """The PDF's bytes (from where every replica reads them), or NotFound if it has none
        or the caller may not see it."""
        if doc_id in {doc.doc_id for doc in self.documents(clearance)}:
            data = self.catalogue.pdf(doc_id) if hasattr(self.catalogue, "pdf") else None
            if data is None:
                path = self.catalogue.pdf_path(doc_id)
                data = path.read_bytes() if path is not None and path.exists() else None
            if data is not None:
                return data
        raise NotFound(f"no document {doc_id!r}")

    def start(self) -> None:
        """Begin loading what the retriever derives from the store, without waiting for it."""
        start = getattr(self.retriever, "start", None)
        if start is not None:
            start()

    def readiness(self) -> dict[str, dict]:
        """Where the replica stands against the store; raises IndexNotReady if it is not ready."""
        return self.retriever.readiness()


class Catalogue:
    """The documents the store's records serve now (read on every call) and their files."""

    def __init__(self, settings: Settings, keyword) -> None:
        self.settings = settings
        self.keyword = keyword

    def documents(self) -> list[Document]:
        return self.keyword.documents()

    def pdf_path(self, doc_id: str) -> Path | None:
        path = self.settings.corpus_dir / f"{doc_id}.pdf"
        return path if path.exists() else None

    def pdf(self, doc_id: str) -> bytes | None:
        """The shared copy (state database or PDF_DIR), else this machine's corpus copy."""
        from core.pdfs import PdfStore

        if getattr(self, "_pdfs", None) is None:
            self._pdfs = PdfStore(self.settings)  # opened on first use, shared by requests
        data = self._pdfs.get(doc_id)
        if data is None:
            path = self.pdf_path(doc_id)
            data = path.read_bytes() if path is not None else None
        return data


def build_assistant(settings: Settings, *, embedder=None, answerer=None) -> Assistant:
    """Wire store, keyword index, embedder and answerer as the settings say."""
    from assistant.answer import ExtractiveAnswerer
    from assistant.retrieve import Retriever
    from ingest.embed import build_embedder
    from assistant.index import LiveIndex
    from ingest.store import ChunkStore

    embedder = embedder or build_embedder(settings)
    store = ChunkStore(settings)
    keyword = LiveIndex(store)
    retriever = Retriever(settings, store, keyword, embedder)
    if answerer is None:
        answerer = ExtractiveAnswerer(settings, next_chunk=keyword.next_chunk,
                                      known_terms=keyword.known_terms)
        if settings.llm_base_url:
            from assistant.llm import LLMAnswerer

            answerer = LLMAnswerer(settings, fallback=answerer)
    return Assistant(settings, retriever, answerer, Catalogue(settings, keyword))
