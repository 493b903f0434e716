"""Question -> ranked hits: dense (Chroma) + keyword (BM25), fused, rescored, clearance-filtered.

The clearance filter is applied inside both searches; nothing here filters afterwards.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from core.errors import IndexNotReady
from core.models import Chunk, Hit, Turn
from core.settings import Clearance, Settings, visible_to
from ingest.embed import Embedder
from assistant.index import LiveIndex
from ingest.store import ChunkStore, tokenize

FOLLOW_UP = re.compile(r"\b(they|them|their|it|its|this|these|those|he|she|him|her)\b|"
                       r"^\s*(and|but|what about|how about|also|so)\b", re.I)
ELLIPTICAL_WORDS = 3  # "skills needed?": too short to stand alone
CANDIDATES = 50  # settings.retrieve_candidates' default; bench/query.py probes Chroma with it
QUERY_VECTORS_KEPT = 64


def fuse_rrf(rankings: Sequence[Sequence[Hit]], k: int = 60) -> list[Hit]:
    """Reciprocal rank fusion: sum of 1/(k + rank) over the rankings a chunk appears in."""
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    sources: dict[str, tuple[str, ...]] = {}
    similarity: dict[str, float] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            cid = hit.chunk.id
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank)
            first.setdefault(cid, hit)
            sources[cid] = sources.get(cid, ()) + hit.sources
            if hit.similarity is not None:
                similarity[cid] = max(similarity.get(cid, -1.0), hit.similarity)
    ordered = sorted(scores, key=lambda cid: (-scores[cid], cid))
    return [Hit(first[cid].chunk, scores[cid], sources[cid], similarity.get(cid))
            for cid in ordered]


QUESTION_WORDS = re.compile(
    r"\b(who|whom|whose|what|whats|when|where|which|why|how|does|did|do|is|are|was|were|can|could|"
    r"should|would|will|must|may|say|says|said|according|tell|me|us|we|our|i)\b", re.I)


def keyword_query(question: str) -> str:
    """The question without the words that ask it ("what does ... say about"): every chunk
    shares them, so they only dilute the terms that name the subject."""
    stripped = QUESTION_WORDS.sub(" ", question)
    return stripped if re.search(r"\w", stripped) else question


TERMS_KEPT = 65_536  # texts whose terms are remembered: the corpus's sentences and words
_terms_seen: dict[str, frozenset[str]] = {}


def _remember(texts: Sequence[str]) -> None:
    """Tokenize the texts not yet seen in one pass and keep their terms. Each call of the
    tokenizer costs a fixed set-up (~0.3 ms, a progress bar object among it), and the answerer
    asks for the same sentences' and words' terms question after question. The memo is
    emptied when full: a bound on memory, not an LRU's bookkeeping per lookup."""
    unseen = [text for text in dict.fromkeys(texts) if text not in _terms_seen]
    if not unseen:
        return
    if len(_terms_seen) + len(unseen) > TERMS_KEPT:
        _terms_seen.clear()
    for text, terms in zip(unseen, tokenize(unseen)):
        _terms_seen[text] = frozenset(terms)


def _terms(text: str) -> frozenset[str]:
    found = _terms_seen.get(text)
    if found is None:
        found = frozenset(tokenize([text])[0])
        if len(_terms_seen) >= TERMS_KEPT:
            _terms_seen.clear()
        _terms_seen[text] = found
    return found


def query_terms(text: str) -> set[str]:
    """Stemmed content words, as the keyword index sees them."""
    return set(_terms(text))


def terms_of(texts: Sequence[str]) -> list[set[str]]:
    """`query_terms` of many texts, the ones not seen before in one tokenizer pass."""
    _remember(texts)
    return [set(_terms(text)) for text in texts]


def rescore_by_coverage(hits: Sequence[Hit], coverage: Sequence[float],
                        weight: float = 1.0) -> list[Hit]:
    """Boost chunks whose title, section and text cover more of the question's terms
    (`coverage`, one share per hit, from `LiveIndex.term_coverage`).

    RRF only sees ranks; this brings back how much of the question a passage addresses.
    """
    rescored = [replace(hit, score=hit.score * (1.0 + weight * share))
                for hit, share in zip(hits, coverage, strict=True)]
    return sorted(rescored, key=lambda h: (-h.score, h.chunk.id))


# words of titles and organisations too common to name one document
COMMON_NAME_WORDS = frozenset(
    "health care board nhs trust integrated system partnership partnerships place based "
    "place-based guidance paper report council borough london strategic options analysis "
    "wellbeing and the of for local government association england improvement public "
    "agenda item development statutory ics icb hospitals lead leads part systems".split())


def document_names(chunk: Chunk) -> set[str]:
    """Words that name a chunk's document: distinctive words of its organisation and title,
    the first part of its id ("bob", "lbbd") and "x&y" for "X and Y" ("b&d"). Retrieval boosts
    the documents a question names; the answerer drops these words from what a unit must cover."""
    text = f"{chunk.organisation} {chunk.title}"
    words = {w for w in (w.lower() for w in re.findall(r"[A-Za-z][\w&-]{2,}", text))
             if w not in COMMON_NAME_WORDS and w.removesuffix("s") not in COMMON_NAME_WORDS}
    pairs = re.findall(r"\b([A-Z])[a-z]+ and ([A-Z])[a-z]+", text)
    return words | {chunk.doc_id.split("-")[0]} | {f"{a}&{b}".lower() for a, b in pairs}


def named_documents(question: str, chunks: Sequence[Chunk]) -> set[str]:
    """Documents among `chunks` that the question names ("the Sandwell paper", "b&d", "bob");
    a word naming several of them ("West" of Sandwell and West Birmingham, and of Berkshire
    West) names none."""
    asked = {w.lower() for w in re.findall(r"[A-Za-z][\w&-]*", question)}
    names: dict[str, set[str]] = {}
    for chunk in chunks:
        if chunk.doc_id not in names:
            names[chunk.doc_id] = document_names(chunk) & asked
    owners = Counter(word for words in names.values() for word in words)
    return {doc_id for doc_id, words in names.items() if any(owners[w] == 1 for w in words)}


def boost_named(hits: Sequence[Hit], named: set[str], boost: float = 1.0) -> list[Hit]:
    """Raise the chunks of documents the question names: "what risks did the Sandwell paper
    identify" is about that paper even where its pages never say "Sandwell". Only documents
    among the caller's hits can be named, so nothing hidden shapes the order."""
    if not named:
        return list(hits)
    boosted = [replace(hit, score=hit.score * (1.0 + boost)) if hit.chunk.doc_id in named
               else hit for hit in hits]
    return sorted(boosted, key=lambda h: (-h.score, h.chunk.id))


def interleave_named(hits: Sequence[Hit], named: set[str]) -> list[Hit]:
    """A question naming two or more documents ("the b&d paper and the bob paper") gets their
    passages in turns, each document's best first, so the answer can draw on every one."""
    if len(named) < 2:
        return list(hits)
    queues = {doc_id: [h for h in hits if h.chunk.doc_id == doc_id] for doc_id in
              dict.fromkeys(h.chunk.doc_id for h in hits if h.chunk.doc_id in named)}
    turns = [queue[i] for i in range(max(map(len, queues.values()), default=0))
             for queue in queues.values() if i < len(queue)]
    return turns + [h for h in hits if h.chunk.doc_id not in named]


def dedupe_overlaps(hits: Sequence[Hit], limit: int | None = None) -> list[Hit]:
    """Drop a hit whose text is wholly contained in a better one; stop once `limit` are kept
    (comparing all 100 fused candidates pairwise cost ~5 ms a question at 100k chunks)."""
    kept: list[Hit] = []
    for hit in hits:
        if limit is not None and len(kept) >= limit:
            break
        if not any(hit.chunk.text in k.chunk.text for k in kept):
            kept.append(hit)
    return kept


def retrieval_query(question: str, history: Sequence[Turn]) -> str:
    """A follow-up ("and who appoints them?") is searched together with the last question; a
    question that stands alone ("What is a place-based partnership?") is searched alone."""
    earlier = [t.content for t in history if t.role == "user"]
    if earlier and (len(question.split()) <= ELLIPTICAL_WORDS or FOLLOW_UP.search(question)):
        return f"{earlier[-1]} {question}"
    return question


class Retriever:
    """Hybrid retrieval over one store; built once per process and shared."""

    def __init__(self, settings: Settings, store: ChunkStore, keyword: LiveIndex,
                 embedder: Embedder, rescore: bool = True) -> None:
        self.settings = settings
        self.store = store
        self.keyword = keyword
        self.embedder = embedder
        self.rescore = rescore
        self._vectors: dict[str, np.ndarray] = {}

    def query_vector(self, query: str) -> np.ndarray:
        """The query's embedding, kept for the few next calls: the answerer weighs its units
        against the same vector the dense search used."""
        vector = self._vectors.get(query)
        if vector is None:
            vector = self.embedder.embed([query])[0]
            if len(self._vectors) >= QUERY_VECTORS_KEPT:
                self._vectors.pop(next(iter(self._vectors)), None)
            self._vectors[query] = vector
        return vector

    def dense(self, query: str, allowed: Sequence[str], n: int) -> list[Hit]:
        """Nearest chunks by embedding. Chroma returns ids only (fetching the records cost more
        than the search); their text comes from the replica's index of the same generation,
        or from Chroma for chunks it does not hold, only if their document's record serves them."""
        vector = self.query_vector(query)
        nearest = self.store.nearest(vector, allowed, n)
        found = self.keyword.chunks([cid for cid, _ in nearest], allowed)
        return [Hit(found[cid], score, ("dense",), similarity=score)
                for cid, score in nearest if found.get(cid) is not None]

    def sparse(self, query: str, allowed: Sequence[str], n: int) -> list[Hit]:
        return [Hit(chunk, score, ("keyword",)) for chunk, score in self.keyword.search(query, allowed, n)]

    def retrieve(self, question: str, clearance: Clearance, *, history: Sequence[Turn] = (),
                 top_k: int | None = None, mode: str = "hybrid") -> list[Hit]:
        """The best `top_k` chunks the clearance may see, best first."""
        top_k = top_k or self.settings.top_k
        self.keyword.sync()  # one read of the store's generation; follows any publish at once
        allowed = visible_to(clearance)
        query = retrieval_query(question, history)
        if mode == "dense":
            return self.dense(query, allowed, top_k)
        if mode == "keyword":
            return self.sparse(query, allowed, top_k)
        n = self.settings.retrieve_candidates
        words = keyword_query(query)
        fused = fuse_rrf([self.dense(query, allowed, n), self.sparse(words, allowed, n)],
                         k=self.settings.rrf_k)
        if self.rescore:
            coverage = self.keyword.term_coverage(words, [hit.chunk for hit in fused])
            fused = rescore_by_coverage(fused, coverage, self.settings.coverage_weight)
            named = named_documents(query, [hit.chunk for hit in fused])
            fused = boost_named(fused, named, self.settings.named_document_boost)
            fused = interleave_named(fused, named)
        return dedupe_overlaps(fused, top_k)

    def start(self) -> None:
        """Derive the keyword index in the background (an API process at start-up)."""
        self.keyword.start()

    def readiness(self) -> dict[str, dict]:
        """This replica's generation against the store's, and counts; IndexNotReady, naming
        the command that fixes it, if the store is unreachable, empty or inconsistent."""
        from ingest.lock import WriterLock

        self.keyword.sync()
        try:
            chunks = self.store.count()
            writing = WriterLock(self.store).holder() is not None
        except Exception as exc:  # a store that cannot be reached is "not ready", not a crash
            raise IndexNotReady(f"vector store unreachable ({type(exc).__name__}): check that "
                                "Chroma runs (CHROMA_HOST/CHROMA_PORT)") from exc
        records = [r for r in self.keyword.records.values() if r.served]
        expected = sum(r.chunks for r in records if r.complete)
        if not records or chunks == 0:
            raise IndexNotReady("the index is empty: run `python -m ingest`")
        if chunks < expected and not writing:
            raise IndexNotReady("the store lost chunks its document records list: run "
                                "`python -m ingest` to repair it")
        return {"generation": self.keyword.status(),
                "counts": {"documents": len(records), "chunks": chunks,
                           "documents_changed_since_build": len(self.keyword.stale)}}
