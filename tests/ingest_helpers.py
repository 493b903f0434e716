"""Small tools for the ingest tests: read the index back, edit the manifest, make bad files."""
from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

import numpy as np
from pypdf import PdfReader, PdfWriter

from core.models import Chunk
from core.settings import Settings
from ingest.embed import HashEmbedder
from assistant.index import LiveIndex
from ingest.store import ChunkStore

NHSE = "nhse-lga-2021-09-thriving-places-guidance"
LBBD = "lbbd-hwb-2022-06-14-place-partnership-lead"
BOB = "bob-icb-board-2022-09-27-place-based-partnerships"
SWBH = "swbh-trust-board-2021-10-07-place-based-partnerships"
SOUTHWARK = "southwark-2022-07-16-ics-strategic-options"
ALL_DOCS = sorted([NHSE, LBBD, BOB, SWBH, SOUTHWARK])
EVERYONE = ("public", "confidential")


def live_chunks(settings: Settings, doc_id: str | None = None) -> list[Chunk]:
    """The chunks readers can see, in reading order, optionally of one document."""
    chunks = ChunkStore(settings).live_chunks()
    return sorted((c for c in chunks if doc_id is None or c.doc_id == doc_id),
                  key=lambda c: (c.doc_id, c.ordinal))


def keyword_index(settings: Settings) -> LiveIndex:
    """A replica's keyword view of the store, as an API process would build it."""
    index = LiveIndex(ChunkStore(settings))
    index.sync()
    return index


def all_records(settings: Settings) -> list[dict]:
    """Every record in the store, staged or live, as metadata dicts with a `live` flag."""
    store = ChunkStore(settings)
    return ([{**c.metadata(), "live": True} for c in store.live_chunks()]
            + [{**c.metadata(), "live": False} for c in store.staged_chunks()])


def chunk_containing(chunks: list[Chunk], sentence: str) -> Chunk:
    found = [c for c in chunks if sentence in c.text]
    assert found, f"no chunk contains {sentence!r}"
    return found[0]


def pdf_page_of(path: Path, sentence: str) -> int:
    """The printed page a sentence is on, read straight from the PDF with pypdf; each page's
    text starts with its own 'Page N of M' footer, which is checked too."""
    for index, page in enumerate(PdfReader(path).pages):
        text = unicodedata.normalize("NFKC", page.extract_text())
        if sentence in " ".join(text.split()):
            assert text.startswith(f"Page {index + 1} of "), text[:40]
            return index + 1
    raise AssertionError(f"{sentence!r} not found in {path.name}")


def read_rows(manifest: Path) -> list[dict[str, str]]:
    with manifest.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_rows(manifest: Path, rows: list[dict[str, str]]) -> None:
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def add_row(manifest: Path, doc_id: str, title: str, visibility: str = "public") -> None:
    rows = read_rows(manifest)
    rows.append({**{k: "" for k in rows[0]}, "file": doc_id, "title": title,
                 "organisation": "Test Council", "date": "2024-01-01", "doc_type": "note",
                 "visibility": visibility})
    write_rows(manifest, rows)


def drop_row(manifest: Path, doc_id: str) -> None:
    write_rows(manifest, [r for r in read_rows(manifest) if r["file"] != doc_id])


def set_visibility(manifest: Path, doc_id: str, visibility: str) -> None:
    rows = read_rows(manifest)
    for row in rows:
        if row["file"] == doc_id:
            row["visibility"] = visibility
    write_rows(manifest, rows)


def replace_file(path: Path, data: bytes) -> None:
    """Overwrite a corpus file (the copied corpus keeps the read-only mode of the original)."""
    path.chmod(0o644)
    path.write_bytes(data)


def encrypted_copy(source: Path) -> bytes:
    writer = PdfWriter(clone_from=source)
    writer.encrypt(user_password="secret", owner_password="owner")
    return _pdf_bytes(writer)


def blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    return _pdf_bytes(writer)


def truncated_copy(source: Path) -> bytes:
    data = source.read_bytes()
    return data[: len(data) // 3]


def _pdf_bytes(writer: PdfWriter) -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    writer.write(buffer)
    return buffer.getvalue()



class KilledStore(ChunkStore):
    """A ChunkStore whose run is killed right after one document's new version is staged."""

    def __init__(self, settings: Settings, kill_doc: str) -> None:
        super().__init__(settings)
        self.kill_doc = kill_doc

    def publish(self, doc_id, chunks, doc_hash, document=None) -> None:  # noqa: ANN001
        if doc_id == self.kill_doc:
            raise KeyboardInterrupt(f"killed before publishing {doc_id}")
        super().publish(doc_id, chunks, doc_hash, document)


def query_vector(text: str) -> np.ndarray:
    return HashEmbedder().embed([text])[0]
