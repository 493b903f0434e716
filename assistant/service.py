"""The assistant's public face: the one set of functions the API, Slack bot and evals call."""
from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path

from assistant.protocols import (AnswererProtocol, CatalogueProtocol, RetrievalMode,
                                 RetrieverProtocol)
from core.errors import BadQuestion, IndexNotReady, NotFound
from core.models import Answer, Document, Hit, StreamEvent, Turn
from core.observability import AssistantMetrics
from core.settings import Clearance, Settings, visible_to


def validate_question(question: object, settings: Settings) -> str:
    """The question, stripped, or BadQuestion saying what is wrong with it."""
    if not isinstance(question, str):
        raise BadQuestion("question must be a string")
    if _has_surrogate(question):  # not text: the tokenizers fail on it
        raise BadQuestion("question contains an invalid character (a lone UTF-16 surrogate)")
    cleaned = question.strip()
    if not cleaned or all(unicodedata.category(c)[0] in "CZ" for c in cleaned):
        raise BadQuestion("question is empty")  # also when only zero-width or control characters
    if len(cleaned) > settings.max_question_chars:
        raise BadQuestion(
            f"question is {len(cleaned)} characters; the limit is {settings.max_question_chars}"
        )
    return cleaned


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in text)


def bounded_history(history: Sequence[Turn], settings: Settings) -> list[Turn]:
    """The last `history_max_turns` turns, each cut to its first `history_max_chars`:
    retrieval reads only the last user turn and the LLM a few turns, so more only costs time
    (7 turns of 8,000 characters made an answer ~14x slower). BadQuestion if a turn is not text."""
    kept: list[Turn] = []
    for turn in list(history)[-settings.history_max_turns:] if settings.history_max_turns else []:
        if _has_surrogate(turn.content):
            raise BadQuestion("history contains an invalid character (a lone UTF-16 surrogate)")
        content = turn.content.strip()
        if len(content) > settings.history_max_chars:
            content = content[:settings.history_max_chars]
        kept.append(Turn(role=turn.role, content=content))
    return kept


class Assistant:
    """Retrieval + answering for one deployment; build it with `build_assistant(settings)`."""

    def __init__(self, settings: Settings, retriever: RetrieverProtocol,
                 answerer: AnswererProtocol, catalogue: CatalogueProtocol,
                 metrics: AssistantMetrics | None = None) -> None:
        self.settings = settings
        self.retriever = retriever
        self.answerer = answerer
        self.catalogue = catalogue
        self.metrics = metrics or AssistantMetrics()

    def ask(self, question: str, clearance: Clearance, history: Sequence[Turn] = ()) -> Answer:
        """A cited answer, or a plain refusal, using only documents the clearance may see."""
        question = validate_question(question, self.settings)
        history = bounded_history(history, self.settings)
        with self.metrics.timed("retrieve"):
            hits = self.retriever.retrieve(question, clearance, history=history)
        with self.metrics.timed("answer"):
            answer = self.answerer.answer(question, hits, clearance=clearance, history=history)
        self.metrics.count_answer(answer.mode, answer.refused)
        return answer

    def ask_stream(
        self, question: str, clearance: Clearance, history: Sequence[Turn] = ()
    ) -> Iterator[StreamEvent]:
        """The same answer as `ask`, as text deltas followed by a final event."""
        question = validate_question(question, self.settings)
        history = bounded_history(history, self.settings)
        with self.metrics.timed("retrieve"):
            hits = self.retriever.retrieve(question, clearance, history=history)
        for event in self.answerer.stream(question, hits, clearance=clearance, history=history):
            if event.kind == "final" and event.answer is not None:
                self.metrics.count_answer(event.answer.mode, event.answer.refused)
            yield event

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
        """Begin loading what the retriever derives from the store, and embedding the
        answerability model's precedent questions (about a second), without waiting."""
        start = getattr(self.retriever, "start", None)
        if start is not None:
            start()
        answerer = getattr(self.answerer, "fallback", self.answerer)
        precedents = getattr(answerer, "precedents", None)
        if precedents is not None:
            threading.Thread(target=precedents, daemon=True, name="precedents").start()

    def readiness(self) -> dict[str, dict]:
        """Where the replica stands against the store; raises IndexNotReady if it is not ready."""
        return self.retriever.readiness()

    def index_state(self) -> tuple[str | None, int | None]:
        """The loaded keyword index's version and its public chunk count (public-safe, for
        metrics), or (None, None) when it cannot be loaded."""
        keyword = getattr(self.retriever, "keyword", None)
        if keyword is None or not hasattr(keyword, "public_state"):
            return None, None
        return keyword.public_state()


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


def build_assistant(settings: Settings, *, embedder=None, answerer=None,
                    answer_model=None) -> Assistant:
    """Wire store, keyword index, embedder and answerer as the settings say (`answer_model`:
    an answerability model other than the shipped one, for refitting it)."""
    from assistant.answer import ExtractiveAnswerer
    from assistant.retrieve import Retriever
    from ingest.embed import build_embedder
    from assistant.index import LiveIndex
    from ingest.store import ChunkStore

    embedder = embedder or build_embedder(settings)
    store = ChunkStore(settings)
    keyword = LiveIndex(store)
    retriever = Retriever(settings, store, keyword, embedder)
    metrics = AssistantMetrics()
    retriever.dense = metrics.timing("dense", retriever.dense)  # stage timings, per instance
    retriever.sparse = metrics.timing("keyword", retriever.sparse)
    if answerer is None:
        if settings.answer_engine == "units":
            from assistant.compose import UnitAnswerer

            answerer = UnitAnswerer(settings, next_chunk=keyword.next_chunk,
                                    known_terms=keyword.known_terms,
                                    first_chunk=keyword.first_chunk,
                                    last_chunk=keyword.last_chunk,
                                    sections_named=keyword.sections_named,
                                    piece_vectors=store.piece_vectors,
                                    embed_query=retriever.query_vector,
                                    embed_texts=embedder.embed,
                                    model=answer_model)
        else:
            answerer = ExtractiveAnswerer(settings, next_chunk=keyword.next_chunk,
                                          known_terms=keyword.known_terms)
        if settings.llm_base_url:
            from assistant.llm import LLMAnswerer

            answerer = LLMAnswerer(settings, fallback=answerer)
    return Assistant(settings, retriever, answerer, Catalogue(settings, keyword), metrics)
