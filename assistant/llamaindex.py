"""Our clearance-aware retrieval and cited answers as LlamaIndex parts: a retriever and a query engine.

Both wrap an `assistant.service.Assistant` and one clearance, fixed when they are built, so the
confidential filter acts inside the store query exactly as it does behind the API. Nothing here
reads llama-index's global `Settings`: our parts embed and answer themselves, and a caller's
RetrieverQueryEngine gets its LLM passed explicitly. See docs/llamaindex.md.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response, StreamingResponse
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo
from llama_index.core.schema import TextNode

from assistant.protocols import RetrievalMode
from assistant.service import Assistant, build_assistant, validate_question
from core.models import Answer, Chunk, Citation, Hit, StreamEvent
from core.settings import CLEARANCE_LEVELS, Clearance, Settings, get_settings

# Shown to a response synthesizer's LLM beside each passage; the rest stays out of its prompt.
PROMPT_METADATA = ("title", "page", "page_end", "section")


def checked_clearance(clearance: str) -> Clearance:
    """The clearance, or ValueError: an adapter is never built with an unknown one."""
    if clearance not in CLEARANCE_LEVELS:
        raise ValueError(f"clearance must be one of {sorted(CLEARANCE_LEVELS)}, not {clearance!r}")
    return clearance  # type: ignore[return-value]


def passage_node(chunk: Chunk, score: float | None, **extra: Any) -> NodeWithScore:
    """A chunk as a LlamaIndex node: its text, and in metadata what is needed to cite it."""
    metadata = {"doc_id": chunk.doc_id, "title": chunk.title, "page": chunk.page_start,
                "page_end": chunk.page_end, "section": chunk.section,
                "visibility": chunk.visibility, "organisation": chunk.organisation,
                "date": chunk.date, "doc_type": chunk.doc_type, **extra}
    node = TextNode(
        id_=chunk.id, text=chunk.text, metadata=metadata,
        excluded_llm_metadata_keys=[k for k in metadata if k not in PROMPT_METADATA],
        excluded_embed_metadata_keys=list(metadata),
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.doc_id)},
    )
    return NodeWithScore(node=node, score=score)


def cited_nodes(answer: Answer, hits: Sequence[Hit]) -> list[NodeWithScore]:
    """One node per citation, in citation order, so `[n]` in the text is `source_nodes[n-1]`:
    the passage the quote came from, with the citation's own page and section."""
    return [_cited_node(citation, hits) for citation in answer.citations]


def _cited_node(citation: Citation, hits: Sequence[Hit]) -> NodeWithScore:
    same_doc = [h for h in hits if h.chunk.doc_id == citation.doc_id]
    hit = next((h for h in same_doc if citation.quote in h.chunk.text), None) or next(
        (h for h in same_doc if h.chunk.page_start <= citation.page <= h.chunk.page_end), None)
    extra = {"citation": citation.n, "quote": citation.quote}
    if hit is not None:
        node = passage_node(hit.chunk, hit.score, **extra)
        node.node.metadata.update(page=citation.page, section=citation.section,
                                  page_end=max(hit.chunk.page_end, citation.page))
        return node
    # A list the answer followed into the next chunk: same document, so same visibility.
    visibility = same_doc[0].chunk.visibility if same_doc else "confidential"
    node = TextNode(id_=f"{citation.doc_id}:p{citation.page}:c{citation.n}", text=citation.quote,
                    metadata={"doc_id": citation.doc_id, "title": citation.title,
                              "page": citation.page, "page_end": citation.page,
                              "section": citation.section, "visibility": visibility, **extra})
    return NodeWithScore(node=node, score=None)


def answer_of(response: Response | StreamingResponse) -> Answer:
    """The Answer (the API's response shape) behind a query engine's response."""
    return Answer.model_validate(response.metadata or {})


class GuidanceRetriever(BaseRetriever):
    """Our hybrid retrieval (dense + BM25, fused, rescored) for one clearance, as a LlamaIndex
    retriever; the same call as the API's /v1/search."""

    def __init__(self, assistant: Assistant, clearance: Clearance, *, top_k: int | None = None,
                 mode: RetrievalMode = "hybrid",
                 callback_manager: CallbackManager | None = None) -> None:
        super().__init__(callback_manager=callback_manager)
        self.assistant = assistant
        self.clearance = checked_clearance(clearance)
        self.top_k = top_k or assistant.settings.top_k
        self.mode = mode

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, clearance: Clearance,
                      **kwargs: Any) -> "GuidanceRetriever":
        """Open the index these settings name (the environment's by default)."""
        return cls(build_assistant(settings or get_settings()), clearance, **kwargs)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.assistant.search(query_bundle.query_str, self.clearance,
                                     top_k=self.top_k, mode=self.mode)
        return [passage_node(hit.chunk, hit.score) for hit in hits]


class GuidanceQueryEngine(BaseQueryEngine):
    """Our cited answers for one clearance, as a LlamaIndex query engine.

    `.query()` returns a Response whose text is the answer with its [n] markers, whose
    `source_nodes[n-1]` is the passage behind [n], and whose `metadata` is the whole Answer as
    the API returns it (`answer_of(response)`). With `streaming=True` it returns a
    StreamingResponse; its source nodes and metadata are filled in when the stream ends.
    """

    def __init__(self, assistant: Assistant, clearance: Clearance, *, streaming: bool = False,
                 callback_manager: CallbackManager | None = None) -> None:
        super().__init__(callback_manager=callback_manager)
        self.assistant = assistant
        self.clearance = checked_clearance(clearance)
        self.streaming = streaming

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, clearance: Clearance,
                      **kwargs: Any) -> "GuidanceQueryEngine":
        """Open the index these settings name, with the answerer they configure."""
        return cls(build_assistant(settings or get_settings()), clearance, **kwargs)

    def _get_prompt_modules(self) -> dict[str, Any]:
        return {}

    def _hits(self, query_bundle: QueryBundle) -> tuple[str, list[Hit]]:
        """The same two steps as Assistant.ask, kept apart so the passages reach source_nodes."""
        question = validate_question(query_bundle.query_str, self.assistant.settings)
        return question, self.assistant.retriever.retrieve(question, self.clearance)

    def retrieve(self, query_bundle: QueryBundle | str) -> list[NodeWithScore]:
        """The passages an answer to this question would be composed from."""
        if isinstance(query_bundle, str):
            query_bundle = QueryBundle(query_bundle)
        _, hits = self._hits(query_bundle)
        return [passage_node(hit.chunk, hit.score) for hit in hits]

    def _query(self, query_bundle: QueryBundle) -> Response | StreamingResponse:
        question, hits = self._hits(query_bundle)
        answerer = self.assistant.answerer
        if self.streaming:
            events = answerer.stream(question, hits, clearance=self.clearance)
            streamed = StreamingResponse(response_gen=iter(()), source_nodes=[], metadata={})
            streamed.response_gen = _deltas(events, streamed, hits)
            return streamed
        answer = answerer.answer(question, hits, clearance=self.clearance)
        return Response(answer.answer, cited_nodes(answer, hits),
                        answer.model_dump(mode="json"))

    async def _aquery(self, query_bundle: QueryBundle) -> Response | StreamingResponse:
        return await asyncio.to_thread(self._query, query_bundle)


def _deltas(events: Iterator[StreamEvent], streamed: StreamingResponse,
            hits: Sequence[Hit]) -> Iterator[str]:
    """Text as it comes; at the final event, the response's source nodes and metadata."""
    for event in events:
        if event.kind == "delta":
            yield event.text
        elif event.answer is not None:
            streamed.source_nodes.extend(cited_nodes(event.answer, hits))
            streamed.metadata.update(event.answer.model_dump(mode="json"))
