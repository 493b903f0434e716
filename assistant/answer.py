"""Hits -> Answer without any LLM: the best supporting sentences, each with its citation."""
from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterator, Sequence

from assistant.citations import neutralise_markers
from assistant.refusal import (question_subject, unstated_notice, unsupported_names,
                               value_unstated)
from assistant.retrieve import query_terms
from assistant.units import Sentence  # one quotable-piece type for both engines
from core.models import (Answer, AnswerPart, Chunk, Citation, DocumentRef, Hit, StreamEvent,
                         Turn)
from core.settings import Settings, visible_to
from ingest.chunk import NUMBERED, SENTENCE_END

log = logging.getLogger(__name__)
REFUSAL = "The documents I can search do not answer this."
CHUNKS_CONSIDERED = 4
MAX_SENTENCES_SCORED = 64
MIN_SENTENCE_WORDS = 4
RANK_DECAY = 0.25  # a sentence from the k-th passage counts 1 / (1 + 0.25 k)
CUTOFF = 0.5  # keep sentences scoring at least this share of the best one
MAX_SENTENCE_WORDS = 70  # longer "sentences" are unpunctuated runs of PDF lines


def sentences_of(chunk: Chunk, rank: int) -> list[Sentence]:
    """Split a chunk into sentences, keeping list items whole and marked as items."""
    out: list[Sentence] = []
    cursor = 0
    for line in chunk.text.split("\n"):
        line_at = chunk.text.find(line, cursor)
        cursor = line_at + len(line)
        if line.startswith("- "):
            out.append(Sentence(chunk, line[2:].strip(), line_at + 2, rank, is_item=True))
            continue
        pos = 0
        for part in SENTENCE_END.split(line):
            part = part.strip()
            if not part:
                continue
            at = line.find(part, pos)
            pos = at + len(part)
            out.append(Sentence(chunk, part, line_at + max(at, 0), rank))
    return out


def list_after(sentence: Sentence, pool: Sequence[Sentence]) -> list[Sentence]:
    """The list items that directly follow a sentence ending in ':' in the same chunk."""
    items, seen = [], False
    for s in pool:
        if s.chunk.id != sentence.chunk.id:
            continue
        if s is sentence:
            seen = True
            continue
        if seen:
            if not s.is_item and len(s.text.split()) >= 6:
                break
            if s.is_item:  # short non-items are wrapped tails like "3 Oxfordshire)"
                items.append(s)
    return items


def select_evidence(question: str, hits: Sequence[Hit],
                    max_sentences: int) -> tuple[list[Sentence], float]:
    """The sentences that best answer the question, and the evidence strength (0..1).

    Sentences are scored lexically (idf-weighted share of the question's terms they contain,
    discounted by their chunk's rank): the semantic work was done by dense retrieval, and
    this keeps an answer well under the latency budget with no second embedding pass.
    """
    pool: list[Sentence] = []
    for rank, hit in enumerate(hits[:CHUNKS_CONSIDERED]):
        pool.extend(sentences_of(hit.chunk, rank))
    candidates = [s for s in pool
                  if MIN_SENTENCE_WORDS <= len(s.text.split()) <= MAX_SENTENCE_WORDS]
    terms = query_terms(question)
    if not candidates:
        return [], 0.0
    sentence_terms = [query_terms(s.text) for s in candidates]
    n = len(candidates)
    idf = {t: math.log(1 + n / (1 + sum(t in st for st in sentence_terms))) for t in terms}
    total = sum(idf.values()) or 1.0
    coverage = [sum(idf[t] for t in terms & st) / total for st in sentence_terms]
    score = [c / (1 + RANK_DECAY * s.rank) for c, s in zip(coverage, candidates)]
    similarity = max((h.similarity for h in hits[:CHUNKS_CONSIDERED]
                      if h.similarity is not None), default=0.0)
    order = sorted(range(n), key=lambda i: (-score[i], i))
    best = score[order[0]]
    if best == 0:  # a paraphrase sharing no words: lead with the top passage's opening
        chosen = [s for s in candidates if s.rank == 0][:2]
        return chosen, 0.6 * similarity
    strength = 0.6 * similarity + 0.4 * coverage[order[0]]
    chosen: list[Sentence] = []
    for index in order:
        if len(chosen) >= max_sentences or score[index] < CUTOFF * best:
            break
        if all(candidates[index].text != c.text for c in chosen):
            chosen.append(candidates[index])
    return chosen, strength


def closest_documents(hits: Sequence[Hit], limit: int = 3) -> list[DocumentRef]:
    """Distinct documents among the hits (already limited to what the caller may see)."""
    refs: list[DocumentRef] = []
    for hit in hits:
        if all(r.doc_id != hit.chunk.doc_id for r in refs):
            refs.append(DocumentRef(doc_id=hit.chunk.doc_id, title=hit.chunk.title))
    return refs[:limit]


def refusal(hits: Sequence[Hit], mode: str = "extractive", notice: str | None = None) -> Answer:
    """A plain 'not covered', naming the closest documents the caller may see."""
    refs = closest_documents(hits)
    text = REFUSAL
    if refs:
        text += " The closest documents are: " + "; ".join(r.title for r in refs) + "."
    return Answer(answer=text, refused=True, mode=mode, closest_documents=refs, notice=notice)


def citation_for(sentence: Sentence, n: int) -> Citation:
    chunk = sentence.chunk
    return Citation(n=n, doc_id=chunk.doc_id, title=chunk.title,
                    page=chunk.page_of(sentence.offset), section=chunk.section_of(sentence.offset),
                    quote=neutralise_markers(sentence.text))


def compose(chosen: Sequence[Sentence], pool_items: dict[str, list[Sentence]]) -> Answer:
    """Sentences in retrieval order, each followed by [n]; a list intro brings its items."""
    parts: list[str] = []
    structured: list[AnswerPart] = []
    citations: list[Citation] = []
    used: set[tuple[str, int]] = set()
    for sentence in chosen:
        key = (sentence.chunk.id, sentence.offset)
        if key in used:
            continue
        used.add(key)
        citations.append(citation_for(sentence, len(citations) + 1))
        marker = f"[{citations[-1].n}]"
        items = pool_items.get(f"{sentence.chunk.id}:{sentence.offset}", [])
        if items:
            lines = [f"{sentence.text} {marker}"]
            structured.append(AnswerPart(text=sentence.text, citations=[citations[-1].n]))
            for item in items:
                used.add((item.chunk.id, item.offset))
                citations.append(citation_for(item, len(citations) + 1))
                lines.append(f"- {item.text} [{citations[-1].n}]")
                structured.append(AnswerPart(text=item.text, citations=[citations[-1].n],
                                             kind="item"))
            parts.append("\n".join(lines))
        elif sentence.is_item:
            parts.append(f"- {sentence.text} {marker}")
            structured.append(AnswerPart(text=sentence.text, citations=[citations[-1].n],
                                         kind="item"))
        else:
            parts.append(f"{sentence.text} {marker}")
            structured.append(AnswerPart(text=sentence.text, citations=[citations[-1].n]))
    return Answer(answer="\n".join(parts), citations=citations, parts=structured,
                  refused=False, mode="extractive")


LIST_INTRO = re.compile(r"\b(two|three|four|five|six|seven|eight|following|includes?)\b", re.I)


def introduces_list(text: str) -> bool:
    """'...principles:' or '...associated to one of three themes.' announce a list."""
    return text.endswith(":") or bool(LIST_INTRO.search(text) and text.endswith("."))


def is_heading(sentence: Sentence) -> bool:
    """A heading chosen as evidence should bring the lines under it."""
    section = sentence.chunk.section_of(sentence.offset)
    return sentence.text == section.rpartition(" > ")[2].strip()


def lines_after(sentence: Sentence, limit: int = 8) -> list[Sentence]:
    """The lines after a list intro ('...principles:') when the PDF lost the bullet marks:
    each following paragraph of the chunk is one item, until a short heading-like line."""
    text = sentence.chunk.text
    end = text.find("\n", sentence.offset)
    items: list[Sentence] = []
    while end != -1 and len(items) < limit:
        start = end + 1
        end = text.find("\n", start)
        line = text[start:end if end != -1 else len(text)].strip()
        if line.startswith("- "):
            line, start = line[2:], start + 2
        if len(line.split()) < 4 and line.endswith("."):
            continue  # the tail of a wrapped item, already clear from its start
        if len(line.split()) < 4 or NUMBERED.match(line):
            break
        if len(line.split()) > 2 * MAX_SENTENCE_WORDS:  # bullets run together: show the start
            line = " ".join(line.split()[:MAX_SENTENCE_WORDS])
            items.append(Sentence(sentence.chunk, line, start, sentence.rank, is_item=True))
            break
        items.append(Sentence(sentence.chunk, line, start, sentence.rank, is_item=True))
    return items


def leading_items(chunk: Chunk | None, limit: int = 10) -> list[Sentence]:
    """The list items a chunk opens with (after any heading lines): a list cut by a chunk
    boundary continues there."""
    if chunk is None:
        return []
    items: list[Sentence] = []
    for sentence in sentences_of(chunk, 0):
        if sentence.is_item:
            items.append(sentence)
        elif items or len(sentence.text.split()) > 12:
            break
    return items[:limit]


class ExtractiveAnswerer:
    """The embedded default: quotes the best sentences of the retrieved passages."""

    def __init__(self, settings: Settings,
                 next_chunk: Callable[[Chunk], Chunk | None] | None = None,
                 known_terms: Callable[[set[str], Sequence[str]], set[str]] | None = None) -> None:
        self.settings = settings
        self.next_chunk = next_chunk or (lambda chunk: None)
        self.known_terms = known_terms

    def asks_about_the_unmentioned(self, question: str, clearance: str) -> bool:
        """True when what the question asks for ("salary band", "fee") is named only in words
        that no document the caller may read ever uses: passages about neighbouring topics
        would otherwise be quoted as if they answered it. One known word is enough to go on
        ("the Place Partnership Lead job"), so a user's own word for a thing is not refused."""
        if self.known_terms is None:
            return False
        terms = query_terms(" ".join(question_subject(question)))
        return bool(terms) and not self.known_terms(terms, visible_to(clearance))

    def refusal_reason(self, question: str, hits: Sequence[Hit], chosen: Sequence[Sentence],
                       strength: float, clearance: str) -> tuple[str, str | None] | None:
        """Why these passages cannot answer the question, or None if they can: the rule (for
        the log) and, where it helps the caller rephrase, a notice quoting their own words.
        Both are built from the question and what the caller may read, never another document."""
        passages = hits[:CHUNKS_CONSIDERED]
        if unsupported_names(question, [f"{h.chunk.title} {h.chunk.organisation} {h.chunk.text}"
                                        for h in passages]):  # no notice: names are not echoed
            return "names a place or person no passage mentions", None
        if self.asks_about_the_unmentioned(question, clearance):
            words = question_subject(question)
            return ("asks for something no readable document mentions",
                    f'None of the documents you can search use the words "{" ".join(words)}"; '
                    "try the words the guidance would use.")
        unstated = value_unstated(question, [s.text for rank, h in enumerate(passages)
                                             for s in sentences_of(h.chunk, rank)])
        if unstated:
            return f"no passage gives the {unstated} asked for", unstated_notice(unstated, question)
        if not chosen or strength < self.settings.refusal_threshold:
            return f"evidence {strength:.3f} below {self.settings.refusal_threshold}", None
        return None

    def answer(self, question: str, hits: Sequence[Hit], *, clearance: str = "public",
               history: Sequence[Turn] = ()) -> Answer:
        if not hits:
            return refusal(hits)
        chosen, strength = select_evidence(question, hits, self.settings.answer_max_sentences)
        reason = self.refusal_reason(question, hits, chosen, strength, clearance)
        if reason:
            log.info("refused (%s): %s", reason[0], question[:200])
            return refusal(hits, notice=reason[1])
        pool: list[Sentence] = []
        for rank, hit in enumerate(hits[:CHUNKS_CONSIDERED]):
            pool.extend(sentences_of(hit.chunk, rank))
        by_text = {(s.chunk.id, s.offset): s for s in pool}
        items = {}
        for sentence in chosen:
            if introduces_list(sentence.text) or is_heading(sentence):
                original = by_text.get((sentence.chunk.id, sentence.offset), sentence)
                found = list_after(original, pool)
                last = found[-1].text if found else sentence.text
                if sentence.chunk.text.rstrip().endswith(last):  # the list runs on
                    found += leading_items(self.next_chunk(sentence.chunk))
                if not found:
                    found = lines_after(sentence)
                items[f"{sentence.chunk.id}:{sentence.offset}"] = found
        return compose(chosen, items)

    def stream(self, question: str, hits: Sequence[Hit], *, clearance: str = "public",
               history: Sequence[Turn] = ()) -> Iterator[StreamEvent]:
        yield from streamed(self.answer(question, hits, clearance=clearance, history=history))


def streamed(result: Answer) -> Iterator[StreamEvent]:
    """An extractive answer as stream events: its lines as deltas, then the whole answer."""
    for piece in re.split(r"(?<=\n)", result.answer):
        if piece:
            yield StreamEvent("delta", text=piece)
    yield StreamEvent("final", answer=result)
