"""The contracts between the assistant's parts: what a retriever, an answerer and a catalogue do.

`assistant.service.Assistant` is built from one of each; any object with these methods will do
(the real ones are `assistant.retrieve.Retriever`, `assistant.compose.UnitAnswerer`,
`assistant.answer.ExtractiveAnswerer`,
`assistant.llm.LLMAnswerer` and `assistant.service.Catalogue`; tests pass small fakes).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from core.models import Answer, Document, Hit, StreamEvent, Turn
from core.settings import Clearance

RetrievalMode = Literal["hybrid", "dense", "keyword"]


@runtime_checkable
class RetrieverProtocol(Protocol):
    """Question -> the best passages the clearance may see, best first.

    The clearance filter must act inside the search, never on its results."""

    def retrieve(self, question: str, clearance: Clearance, *, history: Sequence[Turn] = (),
                 top_k: int | None = None, mode: RetrievalMode = "hybrid") -> list[Hit]: ...

    def readiness(self) -> dict[str, int]:
        """Counts proving the index is loaded; raises core.errors.IndexNotReady if not."""
        ...


@runtime_checkable
class AnswererProtocol(Protocol):
    """Question + passages -> a cited Answer, or a refusal; whole, or streamed."""

    def answer(self, question: str, hits: Sequence[Hit], *, clearance: Clearance = "public",
               history: Sequence[Turn] = ()) -> Answer: ...

    def stream(self, question: str, hits: Sequence[Hit], *, clearance: Clearance = "public",
               history: Sequence[Turn] = ()) -> Iterator[StreamEvent]:
        """Text deltas, then exactly one `final` event carrying the same Answer as `answer`."""
        ...


@runtime_checkable
class CatalogueProtocol(Protocol):
    """The documents in the index and their files (callers filter by clearance)."""

    def documents(self) -> list[Document]: ...

    def pdf_path(self, doc_id: str) -> Path | None: ...
