"""Hits -> Answer through any OpenAI-compatible chat endpoint, with citations checked after.

Every [n] the model writes is checked against the sources it was given; invalid markers are
removed, an answer left with no valid citation becomes a refusal, and any endpoint failure
falls back to the extractive answerer and says so.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence

import openai

from assistant.answer import (ExtractiveAnswerer, Sentence, citation_for, refusal,
                              sentences_of)
from assistant.retrieve import query_terms
from core.models import Answer, Hit, StreamEvent, Turn
from core.settings import Settings

log = logging.getLogger(__name__)
MARKER = re.compile(r"\[(\d+)\]")
NOT_COVERED = "NOT_COVERED"
SOURCES_GIVEN = 6
SYSTEM_PROMPT = (
    "You answer questions for NHS and local government staff using ONLY the numbered sources "
    "provided. Be concise (at most 5 sentences or a short list). After every sentence or "
    "bullet, cite the source(s) it comes from as [n], using only the numbers given. If the "
    f"sources do not answer the question, reply with exactly {NOT_COVERED} and nothing else."
)


def build_messages(question: str, hits: Sequence[Hit], history: Sequence[Turn]) -> list[dict]:
    """System rules, earlier turns, then the numbered sources and the question."""
    sources = "\n\n".join(
        f"[{n}] {h.chunk.title} (page {h.chunk.page_start}, section: {h.chunk.section or '-'})\n"
        f"{h.chunk.text}" for n, h in enumerate(hits, start=1)
    )
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    messages += [{"role": t.role, "content": t.content} for t in history[-6:]]
    messages.append({"role": "user", "content": f"Sources:\n{sources}\n\nQuestion: {question}"})
    return messages


def _best_sentence(claim: str, hit: Hit) -> Sentence:
    """The sentence of a source that shares most words with the claim citing it."""
    claim_terms = query_terms(claim)
    candidates = sentences_of(hit.chunk, 0) or [Sentence(hit.chunk, hit.chunk.text, 0, 0)]
    return max(candidates, key=lambda s: len(claim_terms & query_terms(s.text)))


def repair_citations(text: str, hits: Sequence[Hit], mode: str = "llm") -> Answer:
    """Keep only markers that name a given source, renumber them 1..m in order of first use,
    and attach each citation's page, section and quote. No valid marker -> refusal."""
    text = text.strip()
    if not text or text.startswith(NOT_COVERED):
        return refusal(hits, mode=mode)
    renumber: dict[int, int] = {}
    claims: dict[int, str] = {}
    for line in re.split(r"(?<=[.!?])\s+|\n", text):
        for match in MARKER.finditer(line):
            n = int(match.group(1))
            if 1 <= n <= len(hits) and n not in renumber:
                renumber[n] = len(renumber) + 1
                claims[n] = MARKER.sub("", line)

    def replace(match: re.Match) -> str:
        n = int(match.group(1))
        return f"[{renumber[n]}]" if n in renumber else ""

    cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", MARKER.sub(replace, text))
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    if not renumber:
        return refusal(hits, mode=mode, notice="the model's answer cited no valid source")
    citations = [
        citation_for(_best_sentence(claims[old], hits[old - 1]), new)
        for old, new in sorted(renumber.items(), key=lambda item: item[1])
    ]
    return Answer(answer=cleaned, citations=citations, refused=False, mode=mode)


def as_fallback(answer: Answer, exc: Exception) -> Answer:
    """Mark an extractive answer as given because the LLM failed, and say why."""
    return answer.model_copy(update={
        "mode": "fallback",
        "notice": f"The language model was unavailable ({type(exc).__name__}); "
                  "this answer quotes the documents directly.",
    })


class LLMAnswerer:
    """Answers with the configured chat model; falls back to `fallback` when it fails."""

    def __init__(self, settings: Settings, fallback: ExtractiveAnswerer,
                 client: openai.OpenAI | None = None) -> None:
        self.settings = settings
        self.fallback = fallback
        self.client = client or openai.OpenAI(
            base_url=settings.llm_base_url, api_key=settings.llm_api_key,
            timeout=settings.llm_timeout_s, max_retries=0,
        )

    def _fallback(self, question: str, hits: Sequence[Hit], clearance: str,
                  history: Sequence[Turn], exc: Exception) -> Answer:
        log.warning("LLM endpoint failed (%s: %s); answering extractively", type(exc).__name__, exc)
        answer = self.fallback.answer(question, hits, clearance=clearance, history=history)
        return as_fallback(answer, exc)

    def answer(self, question: str, hits: Sequence[Hit], *, clearance: str = "public",
               history: Sequence[Turn] = ()) -> Answer:
        if not hits:
            return refusal(hits, mode="llm")
        sources = list(hits[:SOURCES_GIVEN])
        try:
            completion = self.client.chat.completions.create(
                model=self.settings.llm_model, temperature=0,
                messages=build_messages(question, sources, history),
            )
            text = completion.choices[0].message.content or ""
        except (openai.OpenAIError, IndexError, AttributeError) as exc:
            return self._fallback(question, hits, clearance, history, exc)
        return repair_citations(text, sources)

    def stream(self, question: str, hits: Sequence[Hit], *, clearance: str = "public",
               history: Sequence[Turn] = ()) -> Iterator:
        if not hits:
            yield StreamEvent("final", answer=refusal(hits, mode="llm"))
            return
        sources = list(hits[:SOURCES_GIVEN])
        parts: list[str] = []
        try:
            stream = self.client.chat.completions.create(
                model=self.settings.llm_model, temperature=0, stream=True,
                messages=build_messages(question, sources, history),
            )
            for event in stream:
                delta = event.choices[0].delta.content if event.choices else None
                if delta:
                    parts.append(delta)
                    yield StreamEvent("delta", text=delta)
        except (openai.OpenAIError, IndexError, AttributeError) as exc:
            if parts:  # text already shown: finish with what was said, repaired
                log.warning("LLM stream broke after %d pieces: %s", len(parts), exc)
            else:
                answer = self._fallback(question, hits, clearance, history, exc)
                yield StreamEvent("delta", text=answer.answer)
                yield StreamEvent("final", answer=answer)
                return
        yield StreamEvent("final", answer=repair_citations("".join(parts), sources))
