"""Chunks + vectors -> Chroma (embedded or server): the one source of truth for what is served.

Chroma holds the chunks (one collection per visibility: a caller's query only opens the
collections their clearance may read; a `where` on a metadata field made embedded Chroma scan
every record, 0.6-1 s at 100k chunks against 30 ms without), one record per document (content
hash, visibility, chunk count, whether its publish completed) and, in a small `meta` collection,
a pointer naming the live layout (the set of collections) and the generation, which every
publish moves, plus the writers' lock. Readers derive everything else (keyword index, text cache,
document list) from these and rebuild it when the generation moves (assistant/index.py).

A chunk is served when it sits in its visibility's collection of the live layout AND its
document's record names the same content hash and visibility: a publish first moves the record
(so every reader stops serving the old version at once), then copies, then clears up.
"""
from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import bm25s
from bm25s.stopwords import STOPWORDS_EN
import chromadb
import numpy as np
import Stemmer
from chromadb.api.models.Collection import Collection
from chromadb.errors import NotFoundError

from core.errors import IndexNotReady, IngestError
from core.models import Chunk, Document
from core.settings import VISIBILITIES, Settings
from ingest.pieces import decode_vectors

log = logging.getLogger(__name__)
ADD_BATCH = 512
VECTORS_KEPT = 1024  # chunks whose piece vectors a store keeps in memory (~15 KB each)
STAGING = "staging"
DOCS = "docs"
META = "meta"
POINTER, LOCK = "pointer", "lock"
RECORD = ["documents", "metadatas"]
UNIT = [1.0]  # bookkeeping records carry no meaning in their vector
T = TypeVar("T")
_EMBEDDED_OPEN = threading.Lock()  # Chroma's per-path system cache is not safe to fill from two threads


def chroma_client(settings: Settings) -> chromadb.api.ClientAPI:
    """A Chroma server client when CHROMA_HOST is set, else embedded storage under data/."""
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                   settings=chroma_settings)
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    with _EMBEDDED_OPEN:
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def fresh_embedded_client(settings: Settings) -> chromadb.api.ClientAPI:
    """A new embedded client that reads what another process wrote (an open embedded client
    keeps serving the vectors it loaded), made by forgetting Chroma's per-path cache."""
    from chromadb.api.shared_system_client import SharedSystemClient

    with _EMBEDDED_OPEN:
        SharedSystemClient._identifier_to_system.pop(str(settings.chroma_path), None)
    return chroma_client(settings)


@dataclass(frozen=True)
class Generation:
    """Which layout is live and how many publishes the store has seen."""

    layout: str
    number: int

    def __str__(self) -> str:
        return f"{self.layout}/{self.number}"


@dataclass(frozen=True)
class DocRecord:
    """What the store serves of one document: the version (content hash), where, how much."""

    document: Document
    doc_hash: str
    chunks: int
    complete: bool = True
    removing: bool = False

    @property
    def served(self) -> bool:
        return not self.removing

    def serves(self, meta: dict) -> bool:
        """Whether a chunk record (its metadata) belongs to the version this record serves."""
        return (self.served and meta.get("doc_hash") == self.doc_hash
                and meta.get("visibility") == self.document.visibility)

    def metadata(self) -> dict:
        d = self.document
        return {"doc_id": d.doc_id, "title": d.title, "organisation": d.organisation,
                "date": d.date, "doc_type": d.doc_type, "visibility": d.visibility,
                "source_url": d.source_url, "doc_hash": self.doc_hash, "chunks": self.chunks,
                "complete": self.complete, "removing": self.removing}

    @classmethod
    def from_metadata(cls, meta: dict) -> "DocRecord":
        document = Document(doc_id=str(meta["doc_id"]), title=str(meta.get("title", "")),
                            organisation=str(meta.get("organisation", "")),
                            date=str(meta.get("date", "")), doc_type=str(meta.get("doc_type", "")),
                            visibility=str(meta["visibility"]),
                            source_url=str(meta.get("source_url", "")))
        return cls(document, str(meta["doc_hash"]), int(meta["chunks"]),
                   bool(meta.get("complete", True)), bool(meta.get("removing", False)))


def read_all(collection: Collection, include: list[str], page: int = 5000) -> dict:
    """Every record of a collection, read a page at a time (one `get` of 90k records makes
    embedded Chroma's SQLite refuse: too many SQL variables)."""
    out: dict = {"ids": [], **{key: [] for key in include}}
    offset = 0
    while True:
        got = collection.get(include=include, limit=page, offset=offset)
        for key in out:
            out[key] += list(got[key] if got[key] is not None else [])
        if len(got["ids"]) < page:
            return out
        offset += page


def _chunks(got: dict) -> list[Chunk]:
    return [Chunk.from_record(i, t, m)
            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])]


def chunk_document(chunk: Chunk) -> Document:
    return Document(doc_id=chunk.doc_id, title=chunk.title, organisation=chunk.organisation,
                    date=chunk.date, doc_type=chunk.doc_type, visibility=chunk.visibility)


class ChunkStore:
    """Chunks in Chroma: one served collection per visibility, a staging collection where a new
    version waits until `publish`, the documents' records, all under one layout name."""

    def __init__(self, settings: Settings, client: chromadb.api.ClientAPI | None = None) -> None:
        self.settings = settings
        # the client and the collections opened through it, swapped as one tuple (reopen,
        # follow) so a reader thread never keeps a handle of the old client
        self._conn: tuple[chromadb.api.ClientAPI, dict[str, Collection]] | None = \
            (client, {}) if client is not None else None  # else made on first use
        self.embedded = not settings.chroma_host
        self.prefix = settings.collection
        self.layout: str | None = None  # read from the pointer on first use
        # piece vectors by (chunk id, content hash): a changed chunk has another hash, so a
        # vector kept here is never one a re-ingest replaced
        self._vectors_kept: dict[tuple[str, str], dict[int, np.ndarray]] = {}

    @property
    def client(self) -> chromadb.api.ClientAPI:
        if self._conn is None:
            self._conn = (chroma_client(self.settings), {})
        return self._conn[0]

    @client.setter
    def client(self, client: chromadb.api.ClientAPI) -> None:
        self._conn = (client, {})

    # ---- the pointer: live layout and generation ------------------------------------------

    def _meta(self) -> Collection:
        self.client  # noqa: B018 - made on first use
        client, opened = self._conn
        meta = opened.get(META)
        if meta is None:
            meta = opened[META] = client.get_or_create_collection(f"{self.prefix}-{META}",
                                                                  embedding_function=None)
        return meta

    def generation(self) -> Generation | None:
        """The live layout and publish count, or None for a store nothing was published to."""
        got = self._meta().get(ids=[POINTER], include=["metadatas"])
        if not got["ids"]:
            return None
        meta = got["metadatas"][0]
        return Generation(str(meta["layout"]), int(meta["generation"]))

    def _set_pointer(self, layout: str, number: int) -> None:
        self._meta().upsert(ids=[POINTER], embeddings=[UNIT], metadatas=[
            {"layout": layout, "generation": number, "at": time.time()}])

    def bump(self) -> None:
        """Move the generation: every reader re-reads the records and rebuilds what it derives."""
        current = self.generation()
        live = current.layout if current else self.layout
        self._set_pointer(live or self._layout(), (current.number if current else 0) + 1)

    def follow(self) -> Generation | None:
        """Re-read the pointer and serve its layout (after a rebuild switched it, or when the
        collections this reader held were dropped)."""
        current = self.generation()
        self.layout = current.layout if current else None
        self._conn = (self.client, {})
        return current

    def reopen(self) -> None:
        """A fresh client: embedded Chroma only shows another process's vectors to a new one."""
        self._conn = (fresh_embedded_client(self.settings) if self.embedded else self.client, {})

    def _layout(self) -> str:
        if self.layout is None:
            current = self.generation()
            if current is None:
                raise IndexNotReady("the index is empty: run `python -m ingest`")
            self.layout = current.layout
        return self.layout

    # ---- collections -----------------------------------------------------------------------

    def collection(self, part: str) -> Collection:
        """The live layout's collection for a visibility (or STAGING, DOCS)."""
        self.client  # noqa: B018 - made on first use
        client, opened = self._conn
        collection = opened.get(part)
        if collection is None:
            space = {"hnsw:space": "cosine"} if part in VISIBILITIES or part == STAGING else None
            collection = client.get_or_create_collection(
                f"{self.prefix}-{self._layout()}-{part}", metadata=space, embedding_function=None)
            opened[part] = collection
        return collection

    def served(self, visibilities: Sequence[str] = tuple(sorted(VISIBILITIES))) -> list[Collection]:
        """The collections readers with these visibilities may query, and no others."""
        unknown = set(visibilities) - VISIBILITIES
        if unknown:
            raise ValueError(f"unknown visibility {sorted(unknown)}")
        return [self.collection(v) for v in sorted(set(visibilities))]

    def _retrying(self, read: Callable[[], T]) -> T:
        """Run a read; if its collections were dropped (a rebuild switched layouts), follow the
        pointer to the new layout and run it once more."""
        try:
            return read()
        except NotFoundError:
            log.info("collections of layout %s are gone; following the pointer", self.layout)
            self.follow()
            return read()

    # ---- writers ---------------------------------------------------------------------------

    def begin(self, rebuild: bool = False) -> str:
        """Pick the layout a run writes to (a new one for --rebuild, switched in at the end)
        and drop collections no layout uses (an interrupted rebuild's, older versions')."""
        current = self.generation()
        self.layout = uuid.uuid4().hex[:10] if rebuild or current is None else current.layout
        self._conn = (self.client, {})
        keep = {f"{self.prefix}-{META}"} | {f"{self.prefix}-{layout}-{part}"
                                            for layout in {self.layout, current and current.layout}
                                            for part in (*VISIBILITIES, STAGING, DOCS)}
        for name in {c.name for c in self.client.list_collections()} - keep:
            if name == self.prefix or name.startswith(f"{self.prefix}-"):
                log.info("dropping unused collection %s", name)
                self.client.delete_collection(name)
        if current is None:
            self._set_pointer(self.layout, 1)
        return self.layout

    def switch(self) -> None:
        """Point readers at this run's layout (after --rebuild filled it) and drop the old."""
        current = self.generation()
        self._set_pointer(self._layout(), (current.number if current else 0) + 1)
        if current and current.layout != self.layout:
            for part in (*VISIBILITIES, STAGING, DOCS):
                name = f"{self.prefix}-{current.layout}-{part}"
                if name in {c.name for c in self.client.list_collections()}:
                    self.client.delete_collection(name)

    def records(self) -> dict[str, DocRecord]:
        """doc_id -> record, for every document the layout knows of."""
        got = self._retrying(lambda: read_all(self.collection(DOCS), ["metadatas"]))
        return {i: DocRecord.from_metadata(m) for i, m in zip(got["ids"], got["metadatas"])}

    def record(self, doc_id: str) -> DocRecord | None:
        got = self.collection(DOCS).get(ids=[doc_id], include=["metadatas"])
        return DocRecord.from_metadata(got["metadatas"][0]) if got["ids"] else None

    def _write_record(self, record: DocRecord) -> None:
        self.write_records([record])

    def write_records(self, records: Sequence[DocRecord]) -> None:
        """Upsert document records (bulk loads such as bench/query.py's synthetic store)."""
        for start in range(0, len(records), ADD_BATCH):
            batch = records[start:start + ADD_BATCH]
            self.collection(DOCS).upsert(ids=[r.document.doc_id for r in batch],
                                         embeddings=[UNIT] * len(batch),
                                         metadatas=[r.metadata() for r in batch])

    def verified(self, records: dict[str, DocRecord]) -> dict[str, str]:
        """doc_id -> content hash of each document served whole. Cheap when the collections
        hold exactly the chunks the records count; otherwise every chunk is checked, chunks
        no record serves are deleted, and documents missing chunks are left out (redone)."""
        staged = read_all(self.collection(STAGING), [])["ids"]  # an interrupted run's
        for start in range(0, len(staged), ADD_BATCH):
            self.collection(STAGING).delete(ids=staged[start:start + ADD_BATCH])
        whole = {d: r for d, r in records.items() if r.complete and r.served}
        expected = {v: sum(r.chunks for r in whole.values() if r.document.visibility == v)
                    for v in VISIBILITIES}
        if all(self.collection(v).count() == expected[v] for v in VISIBILITIES):
            return {d: r.doc_hash for d, r in whole.items()}
        counts: dict[str, int] = {}
        for visibility in sorted(VISIBILITIES):
            got = read_all(self.collection(visibility), ["metadatas"])
            stray = []
            for chunk_id, meta in zip(got["ids"], got["metadatas"]):
                record = records.get(str(meta.get("doc_id")))
                if record is not None and record.serves(meta):
                    counts[record.document.doc_id] = counts.get(record.document.doc_id, 0) + 1
                else:
                    stray.append(chunk_id)
            for start in range(0, len(stray), ADD_BATCH):
                self.collection(visibility).delete(ids=stray[start:start + ADD_BATCH])
            if stray:
                log.info("removed %d %s chunks no document record serves", len(stray), visibility)
        lost = sorted(d for d, r in whole.items() if counts.get(d, 0) != r.chunks)
        for doc_id in lost:
            log.warning("%s: the store holds %d of its %d chunks; it will be ingested again",
                        doc_id, counts.get(doc_id, 0), whole[doc_id].chunks)
        return {d: r.doc_hash for d, r in whole.items() if d not in lost}

    def stage(self, chunks: Sequence[Chunk], vectors: np.ndarray, doc_hash: str,
              pieces: Sequence[dict[str, str]] = ()) -> None:
        """Write a new version's chunks (with their pieces' vectors, ingest.pieces), invisible
        to readers until `publish`."""
        staging = self.collection(STAGING)
        pieces = list(pieces) or [{} for _ in chunks]
        for start in range(0, len(chunks), ADD_BATCH):
            batch = chunks[start:start + ADD_BATCH]
            staging.upsert(
                ids=[c.id for c in batch],
                embeddings=vectors[start:start + len(batch)],
                documents=[c.text for c in batch],
                metadatas=[{**c.metadata(), **extra, "doc_hash": doc_hash}
                           for c, extra in zip(batch, pieces[start:start + len(batch)])],
            )

    def publish(self, doc_id: str, chunks: Sequence[Chunk], doc_hash: str,
                document: Document | None = None) -> None:
        """Serve the staged version. A visibility change first moves the record (readers stop
        serving the old version everywhere at that moment); then the chunks are copied, the
        record switched to the new version in one write, and the old chunks deleted."""
        document = document or chunk_document(chunks[0])
        visibility = document.visibility
        if any(c.visibility != visibility for c in chunks):
            raise IngestError(f"{doc_id}: chunks disagree with the document's visibility")
        old = self.record(doc_id)
        new = DocRecord(document, doc_hash, len(chunks), complete=False)
        if old is not None and old.document.visibility != visibility:
            self._write_record(new)
            self.bump()
        staging, target = self.collection(STAGING), self.collection(visibility)
        for start in range(0, len(chunks), ADD_BATCH):
            ids = [c.id for c in chunks[start:start + ADD_BATCH]]
            got = staging.get(ids=ids, include=["embeddings", *RECORD])
            if len(got["ids"]) != len(ids):
                raise RuntimeError(f"{doc_id}: {len(ids) - len(got['ids'])} staged chunks missing")
            target.upsert(ids=got["ids"], embeddings=np.asarray(got["embeddings"]),
                          documents=got["documents"], metadatas=got["metadatas"])
        self._write_record(DocRecord(document, doc_hash, len(chunks)))
        self.bump()
        for collection in self.served():
            collection.delete(where={"$and": [{"doc_id": doc_id}, {"$or": [
                {"doc_hash": {"$ne": doc_hash}}, {"visibility": {"$ne": visibility}}]}]})
        staging.delete(where={"doc_id": doc_id})

    def discard_staged(self, doc_id: str) -> None:
        """Remove half-written versions left by an interrupted run."""
        self.collection(STAGING).delete(where={"doc_id": doc_id})

    def staged_chunks(self) -> list[Chunk]:
        """Chunks written but not published (normally none)."""
        return _chunks(read_all(self.collection(STAGING), RECORD))

    def remove_document(self, doc_id: str) -> None:
        """Withdraw the record first (readers stop serving it), then delete the chunks."""
        record = self.record(doc_id)
        if record is not None:
            self._write_record(DocRecord(record.document, record.doc_hash, record.chunks,
                                         complete=False, removing=True))
            self.bump()
        for collection in (*self.served(), self.collection(STAGING)):
            collection.delete(where={"doc_id": doc_id})
        self.collection(DOCS).delete(ids=[doc_id])
        self.bump()

    # ---- readers ---------------------------------------------------------------------------

    def count(self) -> int:
        """Chunks in the served collections."""
        return self._retrying(lambda: sum(c.count() for c in self.served()))

    def live_records(self, visibilities: Sequence[str]) -> list[tuple[Chunk, str]]:
        """Every chunk in these collections with its document's content hash (for building a
        reader's keyword index; the caller keeps those its records serve)."""
        def read() -> list[tuple[Chunk, str]]:
            out = []
            for collection in self.served(visibilities):
                got = read_all(collection, RECORD)
                out += [(Chunk.from_record(i, t, m), str(m.get("doc_hash", "")))
                        for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])]
            return out
        return self._retrying(read)

    def document_records(self, doc_ids: Sequence[str],
                         visibilities: Sequence[str]) -> list[tuple[Chunk, str]]:
        """The chunks of these documents in these collections, with their content hashes."""
        def read() -> list[tuple[Chunk, str]]:
            out = []
            for collection in self.served(visibilities):
                for start in range(0, len(doc_ids), 100):
                    got = collection.get(where={"doc_id": {"$in": list(doc_ids[start:start + 100])}},
                                         include=RECORD)
                    out += [(Chunk.from_record(i, t, m), str(m.get("doc_hash", "")))
                            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])]
            return out
        return self._retrying(read)

    def live_chunks(self) -> list[Chunk]:
        """Every chunk a current record serves."""
        records = self.records()
        return [c for c, h in self.live_records(tuple(sorted(VISIBILITIES)))
                if c.doc_id in records and records[c.doc_id].serves(
                    {"doc_hash": h, "visibility": c.visibility})]

    def nearest(self, vector: np.ndarray, visibilities: Sequence[str],
                n: int) -> list[tuple[str, float]]:
        """Ids and cosine similarity of the nearest chunks among the allowed visibilities: each
        allowed collection is asked for its best `n` (ids only, the cheap part of a query),
        and the best `n` of those returned."""
        def read() -> list[tuple[str, float]]:
            found: list[tuple[str, float]] = []
            for collection in self.served(visibilities):
                result = collection.query(query_embeddings=[vector], n_results=n,
                                          include=["distances"])
                found += [(i, 1.0 - float(d))
                          for i, d in zip(result["ids"][0], result["distances"][0])]
            return sorted(found, key=lambda hit: -hit[1])[:n]
        return self._retrying(read)

    def chunk_records(self, ids: Sequence[str],
                      visibilities: Sequence[str]) -> dict[str, tuple[Chunk, str]]:
        """id -> (chunk, its document's content hash), from the allowed collections only."""
        def read() -> dict[str, tuple[Chunk, str]]:
            out = {}
            for collection in self.served(visibilities):
                got = collection.get(ids=list(ids), include=RECORD)
                out.update({i: (Chunk.from_record(i, t, m), str(m.get("doc_hash", "")))
                            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])})
            return out
        return self._retrying(read)

    def piece_vectors(self, chunks: Sequence[Chunk]) -> dict[str, dict[int, np.ndarray]]:
        """chunk id -> {piece offset: unit vector} (ingest.pieces), each read from the chunk's
        own collection: only chunks the caller was already given are asked for."""
        kept = self._vectors_kept
        out = {c.id: found for c in chunks
               if (found := kept.get((c.id, c.content_hash))) is not None}
        ids_by_part: dict[str, set[str]] = {}
        for chunk in chunks:
            if chunk.id not in out:
                ids_by_part.setdefault(chunk.visibility, set()).add(chunk.id)

        def read() -> dict[str, dict[int, np.ndarray]]:
            got_all = {}
            for part, ids in ids_by_part.items():
                got = self.collection(part).get(ids=sorted(ids), include=["metadatas"])
                got_all.update({i: (decode_vectors(m), str(m.get("content_hash", "")))
                                for i, m in zip(got["ids"], got["metadatas"])})
            return got_all
        if ids_by_part:
            asked = {c.id: c.content_hash for c in chunks}
            if len(kept) > VECTORS_KEPT:
                kept.clear()
            for chunk_id, (vectors, stored_hash) in self._retrying(read).items():
                out[chunk_id] = vectors
                if stored_hash == asked.get(chunk_id):  # the very chunk the caller holds
                    kept[(chunk_id, stored_hash)] = vectors
        return out

    def chunks(self, ids: Sequence[str], visibilities: Sequence[str]) -> dict[str, Chunk]:
        """The chunks with these ids, from the allowed collections only."""
        return {i: c for i, (c, _) in self.chunk_records(ids, visibilities).items()}

    def query(self, vector: np.ndarray, visibilities: Sequence[str], n: int) -> list[tuple[Chunk, float]]:
        """Nearest chunks among the allowed visibilities, with cosine similarity."""
        nearest = self.nearest(vector, visibilities, n)
        found = self.chunks([i for i, _ in nearest], visibilities)
        return [(found[i], similarity) for i, similarity in nearest if i in found]


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


# an acronym's plural ("ICSs", "PCNs", "HWBs"): the stemmer keeps its "s" but cuts the
# singular's ("ICS" -> "ic"), so "what is an ics" and "Integrated care systems (ICSs)" would
# share no word
# (also "nhs" / "NHS": a word of consonants ends in "s" or not in every spelling alike)
ACRONYM_PLURAL = re.compile(r"\b([aeiou]?[b-df-hj-np-tv-z]{2,6})s\b", re.I)


# staff shorthand for words the documents spell out ("which orgs", "medicines mgmt", "exec leads")
SHORTHAND = {"org": "organisation", "orgs": "organisations", "mgmt": "management",
             "govt": "government", "dept": "department", "depts": "departments",
             "exec": "executive", "execs": "executives", "info": "information",
             "comms": "communications", "reqs": "requirements", "cttee": "committee",
             "cttees": "committees", "cd": "clinical director", "cds": "clinical directors",
             "optom": "optometry", "bucks": "buckinghamshire", "berks": "berkshire",
             "b'ham": "birmingham",
             "approx": "approximately", "yr": "year", "yrs": "years", "mtg": "meeting",
             "mtgs": "meetings", "reps": "representatives", "doc": "document",
             "docs": "documents", "ceo": "chief executive", "ceos": "chief executives",
             "neds": "non-executive directors", "ned": "non-executive director",
             "coo": "chief operating officer", "cfo": "chief finance officer",
             "cmo": "chief medical officer", "cno": "chief nursing officer",
             "mh": "mental health", "ld": "learning disabilities", "resp": "respiratory",
             "collab": "collaborative", "collabs": "collaboratives",
             "regs": "regulations", "oxon": "oxfordshire", "feb": "february",
             "apr": "april", "aug": "august", "oct": "october", "nov": "november",
             "fte": "full-time equivalent", "wte": "whole-time equivalent",
             # staff's everyday word for the one the papers use
             "answerable": "accountable", "job": "role", "jobs": "roles", "wrote": "authored",
             "seat": "membership", "seats": "membership",
             # staff's idioms for being accountable ("who's still on the hook for it")
             "on the hook": "accountable", "carry the can": "accountable",
             "in charge of": "responsible for",
             "worry": "concern", "worries": "concerns", "worried": "concerned",
             # text-speak ("how do u decide ... at place lvl", "what shld leaders have acc to")
             "u": "you", "ur": "your", "shld": "should", "wld": "would", "cld": "could",
             "lvl": "level", "lvls": "levels", "acc to": "according to", "abt": "about",
             "thru": "through", "yr": "year", "yrs": "years", "mtg": "meeting",
             "mtgs": "meetings", "approx": "approximately",
             # a word whose family the stemmer splits ("appended" / "appendix")
             "appended": "appendix", "appendices": "appendix", "annexes": "annex",
             "annexed": "annex"}
SHORTHAND_WORD = re.compile(r"\b(" + "|".join(SHORTHAND) + r")\b", re.I)
# a section of an Act as staff and papers abbreviate it ("s75", "S.75 (of the NHS Act 2006)")
ACT_SECTION = re.compile(r"\b[sS]\.?(\d{1,3}[A-Z]?\d*)\b")
# a version as staff abbreviate it ("what date is v1 of thriving places"; covers print "Version 1")
VERSION_SHORT = re.compile(r"\b[vV](\d{1,2})\b")


# the acronyms of English health and local government and what they stand for: a passage that
# spells a name out ("Local Government Association") also carries its acronym ("lga"), so a
# question typed either way finds it (general knowledge of the sector, not read from the corpus)
ACRONYMS = {
    "ics": r"integrated care systems?", "icb": r"integrated care boards?",
    "icp": r"integrated care partnerships?", "pcn": r"primary care networks?",
    "hwb": r"health and well-?being boards?", "lga": r"local government association",
    "vcse": r"voluntary,? community and social enterprises?",
    "ccg": r"clinical commissioning groups?",
    "stp": r"sustainability and transformation (?:partnerships?|plans?)",
    "jsna": r"joint strategic needs assessments?",
    "jhws": r"joint health and well-?being strateg(?:y|ies)",
    "sro": r"senior responsible officers?", "uec": r"urgent and emergency care",
    "mdt": r"multi-?disciplinary teams?", "bcf": r"better care fund",
    "cqc": r"care quality commission", "dph": r"directors? of public health",
    "dass": r"directors? of adult social services",
    "adass": r"association of directors of adult social services",
    "adph": r"association of directors of public health",
    "phm": r"population health management", "nhse": r"nhs england",
    "nhsi": r"nhs improvement", "dhsc": r"department of health (?:and|&) social care",
    "ukhsa": r"uk health security agency", "phe": r"public health england",
    "hee": r"health education england",
    "camhs": r"child(?:ren)? and adolescent mental health services?",
    "sdec": r"same day emergency care", "mou": r"memorand(?:um|a) of understanding",
    "kloe": r"key lines? of enquiry", "nel": r"north east london",
    "bob": r"buckinghamshire,? oxfordshire and berkshire west",
    "lbbd": r"london borough of barking (?:and|&) dagenham",
}
SPACE = r"[\s-]+"  # "multi-disciplinary", a name broken across lines
EXPANSION = re.compile("|".join(f"(?P<{acronym}>{spelled.replace(' ', SPACE)})"
                                for acronym, spelled in ACRONYMS.items()) + r"\b", re.I)
# the words names begin with ("directors?" of "directors? of public health"): a text is scanned
# once for them, and the names are tried only where one stands
NAME_STARTS = re.compile(r"\b(?:" + "|".join(sorted({spelled.split(" ", 1)[0]
                                                     for spelled in ACRONYMS.values()})) + ")",
                         re.I)


def with_acronyms(text: str) -> str:
    """The text with each name it spells out followed by its acronym."""
    out: list[str] = []
    done = 0
    for start in NAME_STARTS.finditer(text):
        if start.start() < done:
            continue
        name = EXPANSION.match(text, start.start())
        if name is not None:
            out.append(f"{text[done:name.end()]} {name.lastgroup}")
            done = name.end()
    return "".join(out) + text[done:] if out else text


def spelled_out(text: str, acronyms: bool = False) -> str:
    """The text with staff shorthand written in full, acronyms' plurals made singular, and
    (`acronyms`) the acronym beside each name spelled out."""
    text = SHORTHAND_WORD.sub(lambda m: SHORTHAND[m.group(1).lower()], text)
    text = ACT_SECTION.sub(r"section \1", text)
    text = VERSION_SHORT.sub(r"version \1", text)
    if acronyms:
        text = with_acronyms(text)
    return ACRONYM_PLURAL.sub(  # "pls" is a filler word, not the plural of "pl"
        lambda m: m.group(0) if m.group(0).lower() in FILLER_WORDS else m.group(1), text)


# words staff add to a question that name nothing ("what is an ics exactly", "the nhs budget
# timing stuff"): as stop words, they neither dilute a search nor count as unknown subjects
FILLER_WORDS = ("exactly", "actually", "basically", "really", "just", "quite", "ok", "okay",
                "please", "pls", "stuff", "bit", "anyway", "etc", "eg", "ie", "thanks",
                # "does thriving places say anything about housing": no paper prints "anything"
                "anything", "something", "everything", "nothing", "anyone", "someone",
                "everyone",
                # words about the page, not its subject ("table 1 service delivery row - what
                # kind of things does it cover"): no document prints them beside what they mean
                "row", "rows", "column", "columns", "kind", "kinds", "sort", "sorts", "thing",
                "things", "heading", "headings", "sheet", "sheets")
STOP_WORDS = [*STOPWORDS_EN, *FILLER_WORDS]


def tokenize(texts: list[str], acronyms: bool = False) -> list[list[str]]:
    """Lower-cased, stop-worded, stemmed words: the keyword index's view of text. The index and
    its searches read names as their acronyms too (`acronyms`); the answerer counts a question's
    words as typed, which keeps its refusals as they were (with acronyms there too, confidential
    dev refusal fell 0.671 -> 0.646)."""
    singular = [spelled_out(text, acronyms) for text in texts]
    return bm25s.tokenize(singular, stopwords=STOP_WORDS, stemmer=_stemmer(),
                          return_ids=False, show_progress=False)
