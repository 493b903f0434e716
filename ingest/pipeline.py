"""The ingest run: only changed documents are re-embedded; readers never see a half-replaced one."""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tqdm import tqdm

from core.errors import IngestError
from core.models import Chunk
from core.settings import Settings
from ingest.chunk import chunk_document, headings_from_markdown
from ingest.clean import clean_pages
from ingest.embed import Embedder, build_embedder
from ingest.pieces import piece_metadata
from ingest.load import load_file
from ingest.manifest import Source, discover, markdown_sibling
from core.pdfs import PdfStore
from ingest.lock import WriterLock
from ingest.store import ChunkStore, DocRecord

log = logging.getLogger(__name__)
PIPELINE_VERSION = "19"  # bump when load/clean/chunk or the store layout change, so every document is redone


@dataclass
class IngestReport:
    """What a run did, for the summary line and for tests."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one clear line per problem
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (f"added {len(self.added)} / updated {len(self.updated)} / unchanged "
                f"{len(self.unchanged)} / removed {len(self.removed)} / failed {len(self.failed)}"
                f"; {self.chunks_embedded} chunks embedded, {self.chunks_total} in the index;"
                f" {self.seconds:.1f} s")


def document_hash(source: Source, embedder_name: str) -> str:
    """Changes when the file, its heading hint, its manifest row or the pipeline change."""
    digest = hashlib.sha256()
    digest.update(source.path.read_bytes())
    sibling = markdown_sibling(source.path) if source.path.suffix.lower() == ".pdf" else None
    if sibling:
        digest.update(sibling.read_bytes())
    digest.update(json.dumps(source.manifest_row, sort_keys=True).encode())
    digest.update(f"{PIPELINE_VERSION}|{embedder_name}".encode())
    return digest.hexdigest()


def chunks_for(source: Source, doc_hash: str, settings: Settings) -> list[Chunk]:
    """Load, clean and chunk one document (pure apart from reading its files)."""
    loaded = load_file(source.path, settings.pdf_layout)
    is_markdown = not loaded.is_pdf
    pages = clean_pages(loaded.pages, is_markdown=is_markdown)
    sibling = markdown_sibling(source.path) if loaded.is_pdf else None
    known = headings_from_markdown(sibling.read_text(encoding="utf-8")) if sibling else {}
    chunks = chunk_document(
        pages, source.document, doc_hash, known_headings=known, structured=is_markdown,
        min_words=settings.chunk_min_words, max_words=settings.chunk_max_words,
        overlap_words=settings.chunk_overlap_words,
    )
    if not chunks:
        raise IngestError(f"{source.path}: no text left after cleaning, skipped")
    return chunks


def embedding_text(chunk: Chunk) -> str:
    """What is embedded: the document title and section path give a passage its context."""
    return f"{chunk.title}\n{chunk.section}\n{chunk.text}"


def run_ingest(settings: Settings, *, embedder: Embedder | None = None,
               store: ChunkStore | None = None, rebuild: bool = False,
               progress: bool = True) -> IngestReport:
    """Bring the store in line with corpus/: add, update and remove documents.

    What is already there is read from Chroma's document records (no local state), checked
    against the chunks the store holds, and anything missing is ingested again; one run at a
    time holds the writers' lock. `rebuild` fills a new layout and switches readers to it at
    the end, so running replicas keep serving the old one meanwhile."""
    started = time.perf_counter()
    report = IngestReport()
    store = store or ChunkStore(settings)
    with WriterLock(store, settings.ingest_lock_seconds):
        store.begin(rebuild=rebuild)
        records = store.records()
        state = store.verified(records)  # doc_id -> hash of each document served whole
        _ingest(settings, store, embedder, report, records, state, progress)
        if rebuild:
            store.switch()
    report.chunks_total = store.count()
    report.seconds = time.perf_counter() - started
    return report


def _ingest(settings: Settings, store: ChunkStore, embedder: Embedder | None,
            report: IngestReport, records: dict[str, DocRecord], state: dict[str, str],
            progress: bool) -> None:
    sources, unsupported, missing = discover(settings.corpus_dir, settings.manifest_name,
                                             settings.default_visibility)
    for path in unsupported:
        report.failed.append(f"{path}: unsupported file type {path.suffix!r}, skipped")
    unreadable = {path.stem for path in unsupported}
    for doc_id in missing:
        if doc_id in unreadable:  # its file is there, of a type we cannot read: said once above
            continue
        kept = " (old chunks kept)" if doc_id in state else ""
        report.failed.append(f"{doc_id}: listed in the manifest but no file in "
                             f"{settings.corpus_dir}{kept}")

    embedder_name = (embedder.name if embedder else _embedder_name(settings))
    hashes = {s.document.doc_id: document_hash(s, f"{embedder_name}|{settings.pdf_layout}")
              for s in sources}
    todo = [s for s in sources if state.get(s.document.doc_id) != hashes[s.document.doc_id]]
    report.unchanged = [s.document.doc_id for s in sources if s not in todo]

    if todo and embedder is None:
        embedder = build_embedder(settings)
    with tqdm(total=len(todo), desc="ingest", unit="document", disable=not (progress and todo),
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} documents "
                         "[{elapsed}<{remaining}{postfix}]") as bar:
        for source, chunks in _extracted_ahead(todo, hashes, settings):
            doc_id = source.document.doc_id
            try:
                if isinstance(chunks, Exception):  # one bad file must not stop the run
                    raise chunks
                vectors = embedder.embed([embedding_text(c) for c in chunks])
                pieces = piece_metadata(chunks, embedder.embed)
                store.discard_staged(doc_id)
                store.stage(chunks, vectors, hashes[doc_id], pieces)
                store.publish(doc_id, chunks, hashes[doc_id], document=source.document)
            except Exception as exc:
                _record_failure(report, source, exc, state)
                bar.update(1)
                continue
            bar.set_postfix_str(f"{report.chunks_embedded + len(chunks)} chunks", refresh=False)
            bar.update(1)
            (report.updated if doc_id in records else report.added).append(doc_id)
            report.chunks_embedded += len(chunks)

    present = {s.document.doc_id for s in sources} | set(missing)
    for doc_id in sorted(set(records) - present):
        store.remove_document(doc_id)
        report.removed.append(doc_id)
    _share_pdfs(settings, sources, hashes, report)


def _share_pdfs(settings: Settings, sources: list[Source], hashes: dict[str, str],
                report: IngestReport) -> None:
    """Copy each served document's PDF where every replica reads it (the state database or
    PDF_DIR), so no replica needs a corpus copy; removed documents' PDFs go too."""
    pdfs = PdfStore(settings)
    try:
        stored = pdfs.hashes()
        failed = {line.split(":")[0] for line in report.failed}
        for source in sources:
            doc_id = source.document.doc_id
            if (source.path.suffix.lower() == ".pdf" and stored.get(doc_id) != hashes[doc_id]
                    and str(source.path) not in failed):
                pdfs.put(doc_id, hashes[doc_id], source.path.read_bytes())
        for doc_id in report.removed:
            pdfs.drop(doc_id)
    except Exception as exc:  # the index is fine; only the PDF links would be stale
        log.exception("sharing PDFs failed")
        report.failed.append(f"PDFs not shared with the replicas: {type(exc).__name__}: {exc}")


def _record_failure(report: IngestReport, source: Source, exc: Exception,
                    state: dict[str, str]) -> None:
    """One line naming the file and the reason; the document's old chunks stay served."""
    kept = " (old chunks kept)" if source.document.doc_id in state else ""
    if isinstance(exc, IngestError):
        report.failed.append(f"{exc}{kept}")
    else:
        log.exception("%s: unexpected error", source.path)
        report.failed.append(f"{source.path}: {type(exc).__name__}: {exc}, skipped{kept}")


def _extracted_ahead(todo: list[Source], hashes: dict[str, str],
                     settings: Settings) -> Iterator[tuple[Source, list[Chunk] | Exception]]:
    """Each document's chunks (or the error that stopped them), in order, read by a worker
    thread that runs ahead: pypdf's text extraction then overlaps the embedding of the
    documents before it (the ONNX runtime releases the GIL while it computes)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract") as pool:
        futures = [(source, pool.submit(chunks_for, source, hashes[source.document.doc_id],
                                        settings)) for source in todo]
        try:
            for source, future in futures:
                error = future.exception()
                yield source, (error if isinstance(error, Exception) else future.result())
        finally:  # stopped early (Ctrl-C, a crash): do not read the rest
            for _, future in futures:
                future.cancel()


def _embedder_name(settings: Settings) -> str:
    names = {"minilm": "all-MiniLM-L6-v2-int8", "hash": "hash-256"}
    return names.get(settings.embedder, f"openai:{settings.embed_model}")
