"""Files -> pages: PDFs page by page with pypdf, markdown/text files as one page."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from core.errors import IngestError
from core.models import Page
from ingest.layout import structured_pages

log = logging.getLogger(__name__)
logging.getLogger("pypdf").setLevel(logging.ERROR)

PDF_SUFFIXES = {".pdf"}
TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
SUPPORTED_SUFFIXES = PDF_SUFFIXES | TEXT_SUFFIXES


@dataclass(frozen=True)
class LoadedFile:
    """The raw pages of one file plus what the chunker needs to know about its format."""

    path: Path
    pages: list[Page]
    is_pdf: bool


def load_file(path: Path, layout: str = "text") -> LoadedFile:
    """Read one corpus file; raise IngestError with a one-line reason if it is unusable.
    `layout="tagged"` reads a tagged PDF's blocks from its structure tree (ingest.layout)."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(f"{path}: unsupported file type {suffix or '(none)'!r}, skipped")
    if path.stat().st_size == 0:
        raise IngestError(f"{path}: empty file, skipped")
    if suffix in PDF_SUFFIXES:
        return LoadedFile(path, _load_pdf(path, tagged=layout == "tagged"), is_pdf=True)
    text = path.read_text(encoding="utf-8", errors="replace")
    if looks_binary(text):
        raise IngestError(f"{path}: not a text file (binary content), skipped")
    if not text.strip():
        raise IngestError(f"{path}: file has no text, skipped")
    return LoadedFile(path, [Page(1, text)], is_pdf=False)


def _tagged_pages(path: Path, reader: PdfReader) -> list[str] | None:
    """Blocks from the PDF's structure tree; None (plain text is used) when it has none or the
    tree is malformed: a bad tree costs the structure, never the document."""
    try:
        return structured_pages(reader)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RecursionError) as exc:
        log.warning("%s: structure tree unreadable (%s); using plain text", path, exc)
        return None


def looks_binary(text: str, limit: float = 0.05) -> bool:
    """More than `limit` of the characters are undecodable bytes or control characters: random
    or binary data named .md/.txt (a stray accented byte in a legacy file is well under it)."""
    odd = sum(1 for c in text if c == "\ufffd" or (c < " " and c not in "\n\r\t\f"))
    return odd > limit * max(len(text), 1)


def _load_pdf(path: Path, tagged: bool = False) -> list[Page]:
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise IngestError(f"{path}: encrypted PDF, skipped")
        structured = _tagged_pages(path, reader) if tagged else None
        texts = structured or [page.extract_text() or "" for page in reader.pages]
        pages = [Page(i + 1, text) for i, text in enumerate(texts)]
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise IngestError(f"{path}: corrupt or truncated PDF ({exc}), skipped") from exc
    if not pages:
        raise IngestError(f"{path}: PDF has no pages, skipped")
    if sum(len(p.text.strip()) for p in pages) < 20:
        raise IngestError(f"{path}: PDF has no extractable text (scanned image?), skipped")
    return pages
