"""A replica's derived view of the store: keyword indexes, chunk text, the document list.

Nothing here is a source of truth. `LiveIndex` reads the store's generation on every use (one
small Chroma read) and, when it moved, re-reads the document records at once (a document whose
record changed stops being served from the old view in that same call) and rebuilds its
keyword indexes from Chroma in the background. There is one BM25 index per clearance, built
only from the chunks that clearance may read, so a public caller's term statistics never
include a confidential passage.
"""
from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import bm25s
import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from core.errors import IndexNotReady
from core.models import Chunk, Document
from core.settings import CLEARANCE_LEVELS, VISIBILITIES
from ingest.store import ChunkStore, DocRecord, Generation, tokenize

log = logging.getLogger(__name__)
VIEWS = sorted({tuple(sorted(v)) for v in CLEARANCE_LEVELS.values()})  # one index per clearance
EVERY = tuple(sorted(VISIBILITIES))


MIN_TYPO_LETTERS = 6  # a longer term no index term begins may be mistyped: "partnersip"
MIN_ABBREVIATION = 4  # letters: "exec" stands for "executive"; "pol" stands for nothing


NUMBERING = re.compile(r"^\s*(\d+(\.\d+)*\.?|[A-Z]\.|[ivx]+\.)\s+")
MIN_HEADING_TERMS = 2  # "Place Partnership Lead"; one word ("Risks") names too much
MAX_QUESTION_TERMS = 8  # a question's terms are looked up in combinations: 2^8 at most


def _sections_begun(chunks: Sequence[Chunk]) -> dict[frozenset[str], list[int]]:
    """The chunks where each section begins, by the terms of its heading (its numbering left
    out): a question that names a section in full finds where it starts even when the section
    begins in the middle of a chunk about something else."""
    headings = [(i, NUMBERING.sub("", path.split(" > ")[-1]))
                for i, chunk in enumerate(chunks) for _, path in chunk.section_map]
    found: dict[frozenset[str], list[int]] = {}
    for (i, _), terms in zip(headings, tokenize([h for _, h in headings]) if headings else []):
        if len(set(terms)) >= MIN_HEADING_TERMS:
            found.setdefault(frozenset(terms), []).append(i)
    return found


class KeywordIndex:
    """BM25 over a fixed list of chunks (one clearance's), in memory."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.chunks = sorted(chunks, key=lambda c: c.id)
        self.position = {c.id: i for i, c in enumerate(self.chunks)}
        self.doc_ids = np.array([c.doc_id for c in self.chunks], dtype=object)
        self.bm25: bm25s.BM25 | None = None
        self.sections = _sections_begun(self.chunks)
        if self.chunks:
            self.bm25 = bm25s.BM25()
            self.bm25.index(tokenize([f"{c.title}\n{c.section}\n{c.text}" for c in self.chunks],
                                     acronyms=True),
                            show_progress=False)

    def mask(self, stale: frozenset[str]) -> np.ndarray:
        """1.0 for each chunk still served, 0.0 for those of documents changed since the build."""
        if not stale:
            return np.ones(len(self.chunks), dtype=np.float32)
        return (~np.isin(self.doc_ids, list(stale))).astype(np.float32)

    def search(self, query: str, n: int, mask: np.ndarray) -> list[tuple[Chunk, float]]:
        if self.bm25 is None:
            return []
        tokens = tokenize([query], acronyms=True)
        if not tokens[0]:
            return []
        ids, scores = self.bm25.retrieve(tokens, k=min(n, len(self.chunks)), weight_mask=mask,
                                         show_progress=False)
        return [(self.chunks[int(i)], float(s)) for i, s in zip(ids[0], scores[0]) if s > 0]

    def postings(self, term: str) -> np.ndarray:
        """Positions of the chunks that contain `term` (none if it is not indexed)."""
        token = self.bm25.vocab_dict.get(term) if self.bm25 is not None else None
        if token is None:
            return np.zeros(0, dtype=np.int64)
        scores = self.bm25.scores
        return scores["indices"][scores["indptr"][token]:scores["indptr"][token + 1]]

    def spellings(self, term: str) -> list[str]:
        """The indexed terms a question's term stands for: itself, for a shortened word
        ("exec") the indexed terms it begins ("execut"), and for a longer word no term begins
        the terms one letter away from it with its first letter ("partnersip": "partnership"):
        a typo is not a word the papers never use."""
        vocab = self.bm25.vocab_dict if self.bm25 is not None else {}
        if term in vocab or len(term) < MIN_ABBREVIATION:
            return [term]
        begun = [word for word in vocab if word.startswith(term)]
        if begun or len(term) < MIN_TYPO_LETTERS:
            return begun or [term]
        return [word for word, _, _ in process.extract(
            term, list(vocab), scorer=Levenshtein.distance, score_cutoff=1, limit=None)
            if word[0] == term[0]] or [term]

    def term_coverage(self, query: str, chunks: Sequence[Chunk]) -> list[float]:
        """Share of the query's index terms each chunk's title, section and text contain,
        read from the postings; a chunk this index does not hold is tokenized instead."""
        terms = set(tokenize([query], acronyms=True)[0])
        if not terms:
            return [0.0] * len(chunks)
        counts = np.zeros(len(self.chunks) + 1, dtype=np.int32)  # the last cell stays 0
        for term in terms:
            counts[self.postings(term)] += 1
        missing = [c for c in chunks if c.id not in self.position]
        found = dict(zip((c.id for c in missing),
                         tokenize([f"{c.title}\n{c.section}\n{c.text}" for c in missing],
                                  acronyms=True)))
        return [len(terms & set(found[c.id])) / len(terms) if c.id in found
                else float(counts[self.position[c.id]]) / len(terms) for c in chunks]


@dataclass
class View:
    """Everything derived from one generation of the store."""

    generation: Generation | None
    records: dict[str, DocRecord]
    indexes: dict[tuple[str, ...], KeywordIndex] = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)  # every chunk served, for the next build


class LiveIndex:
    """The keyword indexes, text cache and document list of one replica, following the store."""

    def __init__(self, store: ChunkStore) -> None:
        self.store = store
        self.built: View | None = None  # what the indexes were built from
        self.seen: Generation | None = None  # the newest generation read from the store
        self.records: dict[str, DocRecord] = {}  # the records of `seen`
        self.stale: frozenset[str] = frozenset()  # documents whose record moved since `built`
        self._masks: dict[tuple[str, ...], np.ndarray] = {}
        self._lock = threading.Lock()
        self._rebuilding = False
        self._building_first = False  # the follower thread is making the first build

    # ---- following the store ----------------------------------------------------------------

    def start(self, every: float = 1.0) -> None:
        """Build in the background (an API at start-up: 100k chunks take tens of seconds;
        until then requests get IndexNotReady instead of waiting), then keep following the
        store every `every` seconds, so an idle replica is current before its next request."""
        self._first = threading.Thread(target=self._follow, args=(every,), daemon=True,
                                       name="keyword-follow")
        self._first.start()

    def _follow(self, every: float) -> None:
        while True:
            try:
                self.sync()
            except Exception as exc:  # noqa: BLE001 - empty or unreachable: requests say so
                log.debug("store not followed: %s", exc)
            time.sleep(every)


    def sync(self) -> None:
        """Cheap when nothing changed (one read of the pointer); otherwise re-read the records,
        stop serving changed documents from the old indexes, and rebuild them."""
        try:
            current = self.store.generation()
        except Exception as exc:  # unreachable or unreadable: a 503 that says what to do
            raise IndexNotReady(f"vector store unreachable ({type(exc).__name__}): check that "
                                "Chroma runs (CHROMA_HOST/CHROMA_PORT), then `python -m ingest`"
                                ) from exc
        if current is None:
            raise IndexNotReady("the index is empty: run `python -m ingest`")
        first_build = getattr(self, "_first", None)
        if self.built is None and first_build is not None and self._building_first \
                and threading.current_thread() is not first_build:
            raise IndexNotReady(f"building the keyword index from Chroma (generation {current}); "
                                "ready in a few seconds")
        if current == self.seen and self.built is not None and (
                self.built.generation == current or self._rebuilding):
            return
        with self._lock:
            if current != self.seen:
                if self.seen is None or current.layout != self.seen.layout:
                    self.store.follow()
                self.records = self.store.records()
                self.seen = current
                self._restale()
            first = self.built is None
            start = not first and not self._rebuilding and self.built.generation != self.seen
            if start:
                self._rebuilding = True
        if first:
            self._building_first = threading.current_thread() is getattr(self, "_first", None)
            try:
                self._rebuild()
            finally:
                self._building_first = False
        elif start:
            threading.Thread(target=self._rebuild_loop, daemon=True, name="keyword-rebuild").start()

    def _restale(self) -> None:
        built = self.built.records if self.built else {}
        self.stale = frozenset(d for d in set(built) | set(self.records)
                               if _version(built.get(d)) != _version(self.records.get(d)))
        self._masks = {}

    def _rebuild_loop(self) -> None:
        try:
            while self.built is None or self.built.generation != self.seen:
                self._rebuild()
        except Exception:  # the old view keeps serving (minus changed documents); next sync retries
            log.exception("keyword index rebuild failed")
        finally:
            with self._lock:
                self._rebuilding = False

    def _rebuild(self) -> None:
        """Index, per clearance, the chunks the records serve. After a publish only the changed
        documents are read from Chroma (the rest are kept from the last build), and a clearance's
        index is rebuilt only if a changed document was or is visible to it."""
        with self._lock:
            generation, records, before = self.seen, dict(self.records), self.built
        if self.store.embedded:
            self.store.reopen()  # embedded Chroma shows another process's vectors to new clients only
        if before is None or before.generation is None or generation is None \
                or before.generation.layout != generation.layout:
            changed, kept, pairs = None, [], self.store.live_records(EVERY)
        else:
            changed = {d for d in set(before.records) | set(records)
                       if _version(before.records.get(d)) != _version(records.get(d))}
            kept = [c for c in before.chunks if c.doc_id not in changed]
            pairs = self.store.document_records(sorted(changed), EVERY) if changed else []
        served = kept + [c for c, h in pairs if c.doc_id in records and records[c.doc_id].serves(
            {"doc_hash": h, "visibility": c.visibility})]
        touched = None if changed is None else {
            r.document.visibility for d in changed
            for r in (before.records.get(d), records.get(d)) if r is not None}
        indexes = {key: before.indexes[key] if touched is not None and not touched & set(key)
                   else KeywordIndex([c for c in served if c.visibility in key]) for key in VIEWS}
        view = View(generation, records, indexes, served)
        with self._lock:
            self.built = view
            self._restale()
        log.info("keyword index at generation %s: %d chunks", generation, len(served))

    # ---- what retrieval and the answerer read ------------------------------------------------

    def _index(self, visibilities: Sequence[str]) -> tuple[KeywordIndex, np.ndarray]:
        if self.built is None:
            self.sync()
        key = tuple(sorted(set(visibilities)))
        index = self.built.indexes[key]
        mask = self._masks.get(key)
        if mask is None or len(mask) != len(index.chunks):
            mask = self._masks[key] = index.mask(self.stale)
        return index, mask

    def search(self, query: str, visibilities: Sequence[str], n: int) -> list[tuple[Chunk, float]]:
        """Top BM25 chunks in the index of exactly these visibilities."""
        index, mask = self._index(visibilities)
        return index.search(query, n, mask)

    def term_coverage(self, query: str, chunks: Sequence[Chunk]) -> list[float]:
        index, _ = self._index(EVERY)
        return index.term_coverage(query, chunks)

    def known_terms(self, terms: set[str], visibilities: Sequence[str]) -> set[str]:
        """The index terms at least one chunk these visibilities may read contains."""
        index, mask = self._index(visibilities)
        return {term for term in terms
                if any(mask[index.postings(word)].any() for word in index.spellings(term))}

    def sections_named(self, terms: set[str], visibilities: Sequence[str]) -> list[Chunk]:
        """The chunks, among those these visibilities may read, where a section begins whose
        heading the terms name in full."""
        index, mask = self._index(visibilities)
        asked = sorted(terms)[:MAX_QUESTION_TERMS]
        found: list[Chunk] = []
        for size in range(len(asked), MIN_HEADING_TERMS - 1, -1):
            for combination in itertools.combinations(asked, size):
                heading = frozenset(combination)
                for at in index.sections.get(heading, ()):
                    chunk = index.chunks[at]
                    if not mask[at] or chunk in found:
                        continue
                    # a heading that repeats its paper's title ("Place Partnership Lead") names
                    # the paper, unless the question asks about nothing else
                    if heading <= set(tokenize([chunk.title])[0]) and set(asked) - heading:
                        continue
                    found.append(chunk)
        return found

    def chunks(self, ids: Sequence[str], visibilities: Sequence[str]) -> dict[str, Chunk]:
        """Text for dense hits: from the index when its document has not changed since the
        build, else from the allowed collections, kept only if the current record serves it."""
        index, _ = self._index(visibilities)
        found: dict[str, Chunk] = {}
        for cid in ids:
            at = index.position.get(cid)
            if at is not None and index.chunks[at].doc_id not in self.stale:
                found[cid] = index.chunks[at]
        missing = [cid for cid in ids if cid not in found]
        if missing:
            for cid, (chunk, doc_hash) in self.store.chunk_records(missing, visibilities).items():
                record = self.records.get(chunk.doc_id)
                if record is not None and record.serves({"doc_hash": doc_hash,
                                                         "visibility": chunk.visibility}):
                    found[cid] = chunk
        return found

    def next_chunk(self, chunk: Chunk) -> Chunk | None:
        """The chunk that follows `chunk` in its document (ids sort in reading order)."""
        index, _ = self._index(EVERY)
        at = index.position.get(chunk.id)
        if at is None or at + 1 >= len(index.chunks) or chunk.doc_id in self.stale:
            return None
        following = index.chunks[at + 1]
        return following if following.doc_id == chunk.doc_id else None

    def first_chunk(self, chunk: Chunk) -> Chunk | None:
        """The first chunk of `chunk`'s document: its cover sheet or title page."""
        index, _ = self._index(EVERY)
        at = index.position.get(chunk.id)
        if at is None or chunk.doc_id in self.stale:
            return None
        while at > 0 and index.chunks[at - 1].doc_id == chunk.doc_id:
            at -= 1
        return index.chunks[at]

    def last_chunk(self, chunk: Chunk) -> Chunk | None:
        """The last chunk of `chunk`'s document: its back page (contacts, formats, addresses)."""
        index, _ = self._index(EVERY)
        at = index.position.get(chunk.id)
        if at is None or chunk.doc_id in self.stale:
            return None
        while at + 1 < len(index.chunks) and index.chunks[at + 1].doc_id == chunk.doc_id:
            at += 1
        return index.chunks[at]

    def documents(self) -> list[Document]:
        """Documents the current records serve (an interrupted publish's included, under the
        visibility it is moving to)."""
        self.sync()
        return sorted((r.document for r in self.records.values() if r.served),
                      key=lambda d: d.doc_id)

    def public_state(self) -> tuple[str | None, int | None]:
        """The generation the indexes were built from and how many public chunks they hold
        (public-safe, for /metrics); (None, None) before the first build."""
        built = self.built
        if built is None:
            return None, None
        return str(built.generation), sum(1 for c in built.chunks if c.visibility == "public")

    def status(self) -> dict[str, object]:
        """Where this replica is against the store, for /readyz."""
        built = self.built.generation if self.built else None
        return {"store": str(self.seen) if self.seen else None,
                "built": str(built) if built else None, "behind": self.seen != built}


def _version(record: DocRecord | None) -> tuple | None:
    if record is None or not record.served:
        return None
    return record.doc_hash, record.document.visibility, record.complete, record.chunks
