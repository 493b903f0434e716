"""Chunks + vectors -> Chroma (embedded or server), and the BM25 keyword index beside it.

Visibility is always filtered inside the query (Chroma `where`, BM25 `weight_mask`), so a
caller's results are drawn only from documents their clearance may see.
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

from core.errors import IndexNotReady
from core.models import Chunk
from core.settings import Settings

log = logging.getLogger(__name__)
ADD_BATCH = 512


def chroma_client(settings: Settings) -> chromadb.api.ClientAPI:
    """A Chroma server client when CHROMA_HOST is set, else embedded storage under data/."""
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                   settings=chroma_settings)
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def _live_filter(visibilities: Sequence[str]) -> dict:
    return {"$and": [{"live": True}, {"visibility": {"$in": list(visibilities)}}]}


class ChunkStore:
    """The Chroma collection of chunks; a chunk is served only once its document is `live`."""

    def __init__(self, settings: Settings, client: chromadb.api.ClientAPI | None = None) -> None:
        self.client = client or chroma_client(settings)
        self.name = settings.collection
        self.collection = self.client.get_or_create_collection(
            self.name, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )

    def reset(self) -> None:
        """Drop every chunk (for --rebuild)."""
        self.client.delete_collection(self.name)
        self.collection = self.client.get_or_create_collection(
            self.name, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )

    def count(self) -> int:
        return self.collection.count()

    def live_documents(self) -> dict[str, str]:
        """doc_id -> content hash of the version readers currently see."""
        got = self.collection.get(where={"live": True}, include=["metadatas"])
        return {m["doc_id"]: m["doc_hash"] for m in got["metadatas"] or []}

    def stage(self, chunks: Sequence[Chunk], vectors: np.ndarray, doc_hash: str) -> None:
        """Write a new version's chunks, invisible to readers until `publish`."""
        for start in range(0, len(chunks), ADD_BATCH):
            batch = chunks[start:start + ADD_BATCH]
            self.collection.upsert(
                ids=[c.id for c in batch],
                embeddings=vectors[start:start + len(batch)],
                documents=[c.text for c in batch],
                metadatas=[{**c.metadata(), "doc_hash": doc_hash, "live": False} for c in batch],
            )

    def publish(self, doc_id: str, chunks: Sequence[Chunk], doc_hash: str) -> None:
        """Make the staged version live, then drop every other version of the document."""
        for start in range(0, len(chunks), ADD_BATCH):
            batch = chunks[start:start + ADD_BATCH]
            self.collection.update(
                ids=[c.id for c in batch],
                metadatas=[{**c.metadata(), "doc_hash": doc_hash, "live": True} for c in batch],
            )
        self.collection.delete(where={"$and": [{"doc_id": doc_id}, {"doc_hash": {"$ne": doc_hash}}]})

    def discard_staged(self, doc_id: str) -> None:
        """Remove half-written versions left by an interrupted run."""
        self.collection.delete(where={"$and": [{"doc_id": doc_id}, {"live": False}]})

    def remove_document(self, doc_id: str) -> None:
        self.collection.delete(where={"doc_id": doc_id})

    def live_chunks(self) -> list[Chunk]:
        """Every chunk readers can see, for rebuilding the keyword index."""
        got = self.collection.get(where={"live": True}, include=["documents", "metadatas"])
        return [Chunk.from_record(i, t, m)
                for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])]

    def query(self, vector: np.ndarray, visibilities: Sequence[str], n: int) -> list[tuple[Chunk, float]]:
        """Nearest live chunks among the allowed visibilities, with cosine similarity."""
        result = self.collection.query(
            query_embeddings=[vector], n_results=n, where=_live_filter(visibilities),
            include=["documents", "metadatas", "distances"],
        )
        return [
            (Chunk.from_record(i, t, m), 1.0 - float(d))
            for i, t, m, d in zip(result["ids"][0], result["documents"][0],
                                  result["metadatas"][0], result["distances"][0])
        ]


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
        records = json.loads((folder / "chunks.json").read_text())
        self.chunks = [Chunk.from_record(r["id"], r["text"], r["meta"]) for r in records]
        self.visibility = np.array([c.visibility for c in self.chunks], dtype=object)
        self.position = {c.id: i for i, c in enumerate(self.chunks)}
        self.bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False) if records else None
        self.version = version

    def next_chunk(self, chunk: Chunk) -> Chunk | None:
        """The chunk that follows `chunk` in its document (ids sort in reading order)."""
        self.load()
        at = self.position.get(chunk.id)
        if at is None or at + 1 >= len(self.chunks):
            return None
        following = self.chunks[at + 1]
        return following if following.doc_id == chunk.doc_id else None

    def search(self, query: str, visibilities: Sequence[str], n: int) -> list[tuple[Chunk, float]]:
        """Top BM25 chunks among the allowed visibilities (others masked out in the search)."""
        self.load()
        if self.bm25 is None or not self.chunks:
            return []
        tokens = tokenize([query])
        if not tokens[0]:
            return []
        # np.isin over 100k object strings was three quarters of a search: reuse the mask
        # while the visibility array it was computed from is still the loaded one
        visibility, key = self.visibility, tuple(sorted(visibilities))
        cached = self._masks.get(key)
        if cached is None or cached[0] is not visibility:
            cached = (visibility, np.isin(visibility, list(key)).astype(np.float32))
            self._masks[key] = cached
        mask = cached[1]
        k = min(n, len(self.chunks))
        ids, scores = self.bm25.retrieve(tokens, k=k, weight_mask=mask, show_progress=False)
        return [(self.chunks[int(i)], float(s)) for i, s in zip(ids[0], scores[0]) if s > 0]
