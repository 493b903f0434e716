"""Chunks + vectors -> Chroma (embedded or server), and the BM25 keyword index beside it.

Visibility is always filtered inside the query: Chroma keeps one collection per visibility and a
caller's query only ever opens the collections their clearance may read (a `where` on a metadata
field made embedded Chroma scan every record: 0.6-1 s at 100k chunks against 30 ms without), and
the BM25 search masks the other chunks out with `weight_mask`.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from functools import lru_cache
from collections.abc import Sequence
from pathlib import Path

import bm25s
import chromadb
import numpy as np
import Stemmer
from chromadb.api.models.Collection import Collection

from core.errors import IndexNotReady
from core.models import Chunk
from core.settings import VISIBILITIES, Settings

log = logging.getLogger(__name__)
ADD_BATCH = 512
STAGING = "staging"
RECORD = ["documents", "metadatas"]


def chroma_client(settings: Settings) -> chromadb.api.ClientAPI:
    """A Chroma server client when CHROMA_HOST is set, else embedded storage under data/."""
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                   settings=chroma_settings)
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def _chunks(got: dict) -> list[Chunk]:
    return [Chunk.from_record(i, t, m)
            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])]


class ChunkStore:
    """Chunks in Chroma: one served collection per visibility, and a staging collection where a
    new version of a document waits, invisible to readers, until `publish` copies it across."""

    def __init__(self, settings: Settings, client: chromadb.api.ClientAPI | None = None) -> None:
        self.client = client or chroma_client(settings)
        self.prefix = settings.collection
        self._open: dict[str, Collection] = {}

    def collection(self, part: str) -> Collection:
        """The collection for a visibility (or STAGING), created on first use."""
        if part not in self._open:
            self._open[part] = self.client.get_or_create_collection(
                f"{self.prefix}-{part}", metadata={"hnsw:space": "cosine"}, embedding_function=None)
        return self._open[part]

    def served(self, visibilities: Sequence[str] = tuple(sorted(VISIBILITIES))) -> list[Collection]:
        """The collections readers with these visibilities may query, and no others."""
        unknown = set(visibilities) - VISIBILITIES
        if unknown:
            raise ValueError(f"unknown visibility {sorted(unknown)}")
        return [self.collection(v) for v in sorted(set(visibilities))]

    def reset(self) -> None:
        """Drop every chunk (for --rebuild)."""
        self._drop({f"{self.prefix}-{part}" for part in (*VISIBILITIES, STAGING)})
        self._open.clear()

    def drop_single_collection(self) -> None:
        """Remove the one-collection layout of versions before the split by visibility."""
        self._drop({self.prefix})

    def _drop(self, names: set[str]) -> None:
        for name in names & {c.name for c in self.client.list_collections()}:
            self.client.delete_collection(name)

    def count(self) -> int:
        """Chunks readers can see."""
        return sum(c.count() for c in self.served())

    def live_documents(self) -> dict[str, str]:
        """doc_id -> content hash of the version readers currently see."""
        return {m["doc_id"]: m["doc_hash"]
                for c in self.served() for m in c.get(include=["metadatas"])["metadatas"] or []}

    def stage(self, chunks: Sequence[Chunk], vectors: np.ndarray, doc_hash: str) -> None:
        """Write a new version's chunks, invisible to readers until `publish`."""
        staging = self.collection(STAGING)
        for start in range(0, len(chunks), ADD_BATCH):
            batch = chunks[start:start + ADD_BATCH]
            staging.upsert(
                ids=[c.id for c in batch],
                embeddings=vectors[start:start + len(batch)],
                documents=[c.text for c in batch],
                metadatas=[{**c.metadata(), "doc_hash": doc_hash} for c in batch],
            )

    def publish(self, doc_id: str, chunks: Sequence[Chunk], doc_hash: str) -> None:
        """Copy the staged version into its visibility's collection, then drop every other
        version of the document (from every collection: its visibility may have changed)."""
        staging = self.collection(STAGING)
        for start in range(0, len(chunks), ADD_BATCH):
            ids = [c.id for c in chunks[start:start + ADD_BATCH]]
            got = staging.get(ids=ids, include=["embeddings", *RECORD])
            if len(got["ids"]) != len(ids):
                raise RuntimeError(f"{doc_id}: {len(ids) - len(got['ids'])} staged chunks missing")
            for visibility in {m["visibility"] for m in got["metadatas"]}:
                keep = [n for n, m in enumerate(got["metadatas"]) if m["visibility"] == visibility]
                self.collection(visibility).upsert(
                    ids=[got["ids"][n] for n in keep],
                    embeddings=np.asarray(got["embeddings"])[keep],
                    documents=[got["documents"][n] for n in keep],
                    metadatas=[got["metadatas"][n] for n in keep],
                )
        for collection in self.served():
            collection.delete(where={"$and": [{"doc_id": doc_id}, {"doc_hash": {"$ne": doc_hash}}]})
        staging.delete(where={"doc_id": doc_id})

    def discard_staged(self, doc_id: str) -> None:
        """Remove half-written versions left by an interrupted run."""
        self.collection(STAGING).delete(where={"doc_id": doc_id})

    def staged_chunks(self) -> list[Chunk]:
        """Chunks written but not published (normally none)."""
        return _chunks(self.collection(STAGING).get(include=RECORD))

    def remove_document(self, doc_id: str) -> None:
        for collection in (*self.served(), self.collection(STAGING)):
            collection.delete(where={"doc_id": doc_id})

    def live_chunks(self) -> list[Chunk]:
        """Every chunk readers can see, for rebuilding the keyword index."""
        return [c for collection in self.served() for c in _chunks(collection.get(include=RECORD))]

    def nearest(self, vector: np.ndarray, visibilities: Sequence[str],
                n: int) -> list[tuple[str, float]]:
        """Ids and cosine similarity of the nearest chunks among the allowed visibilities: each
        allowed collection is asked for its best `n` (ids only, the cheap part of a query),
        and the best `n` of those returned."""
        found: list[tuple[str, float]] = []
        for collection in self.served(visibilities):
            result = collection.query(query_embeddings=[vector], n_results=n, include=["distances"])
            found += [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0])]
        return sorted(found, key=lambda hit: -hit[1])[:n]

    def chunks(self, ids: Sequence[str], visibilities: Sequence[str]) -> dict[str, Chunk]:
        """The chunks with these ids, from the allowed collections only."""
        return {c.id: c for collection in self.served(visibilities)
                for c in _chunks(collection.get(ids=list(ids), include=RECORD))}

    def query(self, vector: np.ndarray, visibilities: Sequence[str], n: int) -> list[tuple[Chunk, float]]:
        """Nearest chunks among the allowed visibilities, with cosine similarity."""
        nearest = self.nearest(vector, visibilities, n)
        found = self.chunks([i for i, _ in nearest], visibilities)
        return [(found[i], similarity) for i, similarity in nearest if i in found]


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-worded, stemmed words: the keyword index's view of text."""
    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(),
                          return_ids=False, show_progress=False)


class KeywordIndex:
    """BM25 over the live chunks, saved as versioned folders behind an atomic `CURRENT` file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.version: str | None = None
        self.bm25: bm25s.BM25 | None = None
        self.chunks: list[Chunk] = []
        self.visibility = np.array([], dtype=object)
        self.position: dict[str, int] = {}
        self._masks: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}

    @staticmethod
    def build(path: Path, chunks: list[Chunk]) -> str:
        """Write a new index for `chunks` and switch readers to it in one rename."""
        path.mkdir(parents=True, exist_ok=True)
        version = uuid.uuid4().hex[:12]
        folder = path / f"v-{version}"
        folder.mkdir()
        ordered = sorted(chunks, key=lambda c: c.id)
        if ordered:  # an empty index cannot be saved; `load` reads no records as no index
            bm25 = bm25s.BM25()
            bm25.index(tokenize([f"{c.title}\n{c.section}\n{c.text}" for c in ordered]),
                       show_progress=False)
            bm25.save(str(folder / "bm25"), show_progress=False)
        records = [{"id": c.id, "text": c.text, "meta": c.metadata()} for c in ordered]
        (folder / "chunks.json").write_text(json.dumps(records))
        pointer = path / "CURRENT.tmp"
        pointer.write_text(f"v-{version}")
        os.replace(pointer, path / "CURRENT")
        for old in path.glob("v-*"):
            if old.name != f"v-{version}":
                shutil.rmtree(old, ignore_errors=True)
        return version

    def current_version(self) -> str | None:
        try:
            return (self.path / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None

    def load(self) -> None:
        """(Re)load the index if ingestion has published a new one since the last call."""
        version = self.current_version()
        if version is None:
            raise IndexNotReady("keyword index missing: run `python -m ingest` first")
        if version == self.version:
            return
        folder = self.path / version
        try:  # a damaged index is "not ready" (503 and a log line), not a crash on every route
            records = json.loads((folder / "chunks.json").read_text())
            chunks = [Chunk.from_record(r["id"], r["text"], r["meta"]) for r in records]
            bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False) if records else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("keyword index %s is damaged (%s: %s)", folder, type(exc).__name__, exc)
            raise IndexNotReady("keyword index damaged: run `python -m ingest --rebuild`") from exc
        self.chunks, self.bm25 = chunks, bm25
        self.visibility = np.array([c.visibility for c in self.chunks], dtype=object)
        self.position = {c.id: i for i, c in enumerate(self.chunks)}
        self.version = version

    def chunk(self, chunk_id: str) -> Chunk | None:
        """The indexed chunk with this id (ids name one version of a document), if loaded."""
        self.load()
        at = self.position.get(chunk_id)
        return None if at is None else self.chunks[at]

    def next_chunk(self, chunk: Chunk) -> Chunk | None:
        """The chunk that follows `chunk` in its document (ids sort in reading order)."""
        self.load()
        at = self.position.get(chunk.id)
        if at is None or at + 1 >= len(self.chunks):
            return None
        following = self.chunks[at + 1]
        return following if following.doc_id == chunk.doc_id else None

    def first_chunk(self, chunk: Chunk) -> Chunk | None:
        """The first chunk of `chunk`'s document: its cover sheet or title page."""
        self.load()
        at = self.position.get(chunk.id)
        if at is None:
            return None
        while at > 0 and self.chunks[at - 1].doc_id == chunk.doc_id:
            at -= 1
        return self.chunks[at]

    def term_coverage(self, query: str, chunks: Sequence[Chunk]) -> list[float]:
        """Share of the query's index terms each chunk's title, section and text contain.

        Read from the index's postings (the chunks the query's terms occur in) rather than by
        re-tokenizing every candidate, which cost more than the rest of a retrieval; a chunk
        the loaded index does not hold yet (published a moment ago) is tokenized instead.
        """
        self.load()
        terms = set(tokenize([query])[0])
        if not terms:
            return [0.0] * len(chunks)
        counts = np.zeros(len(self.chunks) + 1, dtype=np.int32)  # the last cell stays 0
        for term in terms:
            counts[self._postings(term)] += 1
        missing = [c for c in chunks if c.id not in self.position]
        found = dict(zip((c.id for c in missing),
                         tokenize([f"{c.title}\n{c.section}\n{c.text}" for c in missing])))
        return [len(terms & set(found[c.id])) / len(terms) if c.id in found
                else float(counts[self.position[c.id]]) / len(terms) for c in chunks]

    def visible_mask(self, visibilities: Sequence[str]) -> np.ndarray:
        """1.0 for each loaded chunk these visibilities may read, else 0.0."""
        # np.isin over 100k object strings was three quarters of a search: reuse the mask
        # while the visibility array it was computed from is still the loaded one
        visibility, key = self.visibility, tuple(sorted(visibilities))
        cached = self._masks.get(key)
        if cached is None or cached[0] is not visibility:
            cached = (visibility, np.isin(visibility, list(key)).astype(np.float32))
            self._masks[key] = cached
        return cached[1]

    def known_terms(self, terms: set[str], visibilities: Sequence[str]) -> set[str]:
        """The index terms that occur in at least one chunk these visibilities may read (so
        what a public caller is told never depends on confidential documents' words)."""
        self.load()
        mask = self.visible_mask(visibilities)
        return {term for term in terms if mask[self._postings(term)].any()}

    def _postings(self, term: str) -> np.ndarray:
        """Positions of the loaded chunks that contain `term` (none if it is not indexed)."""
        token = self.bm25.vocab_dict.get(term) if self.bm25 is not None else None
        if token is None:
            return np.zeros(0, dtype=np.int64)
        postings = self.bm25.scores
        return postings["indices"][postings["indptr"][token]:postings["indptr"][token + 1]]

    def search(self, query: str, visibilities: Sequence[str], n: int) -> list[tuple[Chunk, float]]:
        """Top BM25 chunks among the allowed visibilities (others masked out in the search)."""
        self.load()
        if self.bm25 is None or not self.chunks:
            return []
        tokens = tokenize([query])
        if not tokens[0]:
            return []
        mask = self.visible_mask(visibilities)
        k = min(n, len(self.chunks))
        ids, scores = self.bm25.retrieve(tokens, k=k, weight_mask=mask, show_progress=False)
        return [(self.chunks[int(i)], float(s)) for i, s in zip(ids[0], scores[0]) if s > 0]
