"""The corpus manifest (documents.csv) and the files it describes."""
from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

from core.models import Document
from core.settings import VISIBILITIES
from ingest.load import PDF_SUFFIXES, SUPPORTED_SUFFIXES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """One document to ingest: its manifest entry and the file chosen for it."""

    document: Document
    path: Path
    manifest_row: dict[str, str]


def read_manifest(path: Path, default_visibility: str) -> dict[str, dict[str, str]]:
    """doc_id -> row; the id column may be called `doc_id` or `file` (a file stem)."""
    if not path.exists():
        log.warning("%s: no manifest; every document gets visibility %s", path, default_visibility)
        return {}
    rows: dict[str, dict[str, str]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            doc_id = (row.get("doc_id") or row.get("file") or "").strip()
            if doc_id:
                rows[Path(doc_id).stem if "." in doc_id else doc_id] = row
    return rows


def _document(doc_id: str, row: dict[str, str] | None, default_visibility: str) -> Document:
    if row is None:
        return Document(doc_id=doc_id, title=doc_id.replace("-", " "), visibility=default_visibility)
    visibility = (row.get("visibility") or "").strip().lower()
    if visibility not in VISIBILITIES:
        log.warning("%s: visibility %r not understood; treated as %s", doc_id, visibility,
                    default_visibility)
        visibility = default_visibility
    return Document(
        doc_id=doc_id, title=row.get("title", "").strip() or doc_id,
        organisation=row.get("organisation", "").strip(), date=row.get("date", "").strip(),
        doc_type=row.get("doc_type", "").strip(), visibility=visibility,
        source_url=row.get("source_url", "").strip(),
    )


def discover(corpus_dir: Path, manifest_name: str, default_visibility: str
             ) -> tuple[list[Source], list[Path], list[str]]:
    """(sources to ingest, files of unsupported type, doc_ids in the manifest with no file).

    A document is ingested once: from its PDF where there is one (its pages are what staff
    see), else from its markdown or text file.
    """
    rows = read_manifest(corpus_dir / manifest_name, default_visibility)
    by_stem: dict[str, list[Path]] = {}
    unsupported: list[Path] = []
    for path in sorted(corpus_dir.iterdir()):
        if not path.is_file() or path.name == manifest_name or path.name.startswith("."):
            continue
        if path.name.lower() == "readme.md" or path.suffix.lower() == ".csv":
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            unsupported.append(path)
            continue
        by_stem.setdefault(path.stem, []).append(path)
    sources = []
    for stem, paths in sorted(by_stem.items()):
        chosen = next((p for p in paths if p.suffix.lower() in PDF_SUFFIXES), paths[0])
        row = rows.get(stem)
        if row is None:
            log.warning("%s: no manifest row; ingested with visibility %s", chosen,
                        default_visibility)
        sources.append(Source(_document(stem, row, default_visibility), chosen, row or {}))
    missing = sorted(doc_id for doc_id in rows if doc_id not in by_stem)
    return sources, unsupported, missing


def markdown_sibling(path: Path) -> Path | None:
    """The markdown rendering of the same document, used only as a hint to its headings."""
    for suffix in (".md", ".markdown"):
        sibling = path.with_suffix(suffix)
        if sibling.exists() and sibling != path:
            return sibling
    return None
