"""Documents' PDFs where every replica can read them: a shared directory (PDF_DIR) or, by
default, the state database (STATE_URL). Ingest writes them; the API serves them."""
from __future__ import annotations

import os
from pathlib import Path

from core.settings import Settings
from core.state import StateDB, state_url


class PdfStore:
    """doc_id -> the PDF of the version last ingested (and its content hash)."""

    def __init__(self, settings: Settings) -> None:
        self.folder: Path | None = settings.pdf_dir
        self._db: StateDB | None = None
        self._settings = settings

    @property
    def db(self) -> StateDB:
        if self._db is None:
            self._db = StateDB(state_url(self._settings))
        return self._db

    def hashes(self) -> dict[str, str]:
        if self.folder is None:
            return self.db.pdf_hashes()
        return {p.stem: p.read_text().strip() for p in self.folder.glob("*.hash")}

    def put(self, doc_id: str, doc_hash: str, data: bytes) -> None:
        if self.folder is None:
            self.db.put_pdf(doc_id, doc_hash, data)
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        for suffix, content in ((".pdf", data), (".hash", doc_hash.encode())):
            tmp = self.folder / f".{doc_id}{suffix}.tmp"
            tmp.write_bytes(content)
            os.replace(tmp, self.folder / f"{doc_id}{suffix}")  # readers never see half a file

    def get(self, doc_id: str) -> bytes | None:
        if self.folder is None:
            return self.db.pdf(doc_id)
        path = self.folder / f"{doc_id}.pdf"
        return path.read_bytes() if path.is_file() else None

    def drop(self, doc_id: str) -> None:
        if self.folder is None:
            self.db.drop_pdf(doc_id)
            return
        for suffix in (".pdf", ".hash"):
            (self.folder / f"{doc_id}{suffix}").unlink(missing_ok=True)
