"""Tools for the multi-process tests: run the ingest CLI, and poll an API as a public caller."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import httpx

from core.settings import Settings
from tests.api_server import settings_env
from tests.conftest import REPO

SEARCHES = ("thriving places guidance", "place partnership lead", "zanzibar quokka committee")


def ingest_cli(settings: Settings, *args: str) -> str:
    """`python -m ingest` in its own process, as an operator or a scheduled job runs it."""
    env = {**os.environ, **settings_env(settings), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "ingest", "--quiet", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def public_sightings(base_url: str) -> set[str]:
    """Every document a public caller can find, by every interface: search (both retrievers),
    answers' citations, the document list and the PDF endpoint of what the list names."""
    seen: set[str] = set()
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for query in SEARCHES:
            for mode in ("dense", "keyword"):
                got = client.post("/v1/search", json={"query": query, "mode": mode, "top_k": 20})
                got.raise_for_status()
                seen |= {r["doc_id"] for r in got.json()["results"]}
        answer = client.post("/v1/ask", json={"question": "What does thriving places say?"})
        answer.raise_for_status()
        seen |= {c["doc_id"] for c in answer.json()["citations"]}
        listed = client.get("/v1/documents")
        listed.raise_for_status()
        seen |= {d["doc_id"] for d in listed.json()["documents"]}
    return seen


def pdf_visible(base_url: str, doc_id: str) -> bool:
    got = httpx.get(f"{base_url}/v1/documents/{doc_id}/pdf", timeout=30)
    assert got.status_code in (200, 404), got.text
    return got.status_code == 200


@dataclass
class Poller:
    """Polls replicas as a public caller in a thread: (start time, base url, documents seen)."""

    urls: list[str]
    watch: str
    log: list[tuple[float, str, bool]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            for url in self.urls:
                started = time.monotonic()
                try:
                    seen = self.watch in public_sightings(url) or pdf_visible(url, self.watch)
                except Exception as exc:  # noqa: BLE001 - every failure is reported by the test
                    self.errors.append(f"{url}: {exc!r}")
                    continue
                self.log.append((started, url, seen))

    def __enter__(self) -> "Poller":
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)


def wait_for(condition, timeout: float, step: float = 0.1) -> float:  # noqa: ANN001
    """Seconds until `condition()` held; AssertionError after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s")


class RecordWatch:
    """Notes the moment the store's record of a document changes visibility (its publish)."""

    def __init__(self, store, doc_id: str, visibility: str) -> None:  # noqa: ANN001
        self.store, self.doc_id, self.visibility = store, doc_id, visibility
        self.at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set() and self.at is None:
            record = self.store.record(self.doc_id)
            if record is None or record.document.visibility == self.visibility or \
                    not record.served:
                self.at = time.monotonic()
            time.sleep(0.01)

    def __enter__(self) -> "RecordWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
