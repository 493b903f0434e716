"""Helpers for API tests: run the app in a real uvicorn process, and a small fake Assistant."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from assistant.service import Assistant
from core.models import Answer, Chunk, Citation, Document, Hit, StreamEvent
from core.settings import Settings

REPO = Path(__file__).resolve().parents[1]
PUBLIC_KEY = "test-public-key"
CONFIDENTIAL_KEY = "test-confidential-key"
CONFIDENTIAL_DOC = "southwark-2022-07-16-ics-strategic-options"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that make a child process build these same settings."""
    env: dict[str, str] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, list):
            value = ",".join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env["ASSISTANT_API_KEYS" if name == "api_keys" else name.upper()] = str(value)
    return env


class UvicornProcess:
    """A uvicorn app factory in its own process on a free loopback port, started and waited
    for through a readiness URL, its output kept in a log file for failure messages."""

    def __init__(self, log_path: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = env
        self.process: subprocess.Popen | None = None

    def launch(self, factory: str, ready_path: str, ready_codes: tuple[int, ...],
               timeout: float, log_level: str = "warning", extra: tuple[str, ...] = ()) -> None:
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", factory, "--factory",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", log_level,
             "--no-proxy-headers", *extra],  # as `make serve`: the app trusts FORWARDED_ALLOW_IPS only
            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}{ready_path}", timeout=2).status_code in ready_codes:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"uvicorn did not start in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class ApiServer(UvicornProcess):
    """`uvicorn server:create_app --factory` (the API, Slack off), for one test scope."""

    def __init__(self, settings: Settings, log_path: Path, **overrides: object) -> None:
        env = {k: v for k, v in os.environ.items() if k != "API_KEYS"}
        super().__init__(log_path, env)
        self.settings = settings.model_copy(update={"public_base_url": self.base_url, **overrides})
        self.env.update(settings_env(self.settings))

    def start(self, timeout: float = 120.0, workers: int = 1) -> "ApiServer":
        extra = ("--workers", str(workers)) if workers > 1 else ()
        self.launch("server:create_app", "/readyz", (200, 503), timeout, extra=extra)
        deadline = time.monotonic() + timeout  # then past the keyword index's first build
        while time.monotonic() < deadline:
            ready = httpx.get(f"{self.base_url}/readyz", timeout=30)
            if ready.status_code == 200 or "building" not in ready.text:
                break
            time.sleep(0.1)
        return self

    def client(self, key: str | None = None, headers: dict[str, str] | None = None) -> httpx.Client:
        headers = {**({"Authorization": f"Bearer {key}"} if key else {}), **(headers or {})}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def api_server(indexed_settings: Settings, tmp_path_factory: pytest.TempPathFactory):
    """The real app over the real index in a uvicorn process, with the two test keys."""
    log = tmp_path_factory.mktemp("uvicorn") / "server.log"
    server = ApiServer(api_settings(indexed_settings), log).start()
    yield server
    server.stop()


def api_settings(base: Settings, **overrides: object) -> Settings:
    """The base settings plus the two test API keys and a generous rate limit."""
    return base.model_copy(update={
        "api_keys": [f"{PUBLIC_KEY}=public", f"{CONFIDENTIAL_KEY}=confidential"],
        "rate_limit_per_minute": 100_000, "auth_failures_per_minute": 100_000, "cors_origins": ["http://intranet.example"],
        **overrides,
    })


def parse_sse(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs from a text/event-stream body; comments (pings) are dropped."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            events.append((name, "\n".join(data)))
    return events


# ---- a small fake Assistant: the real service class over fake parts ---------------------------

FAKE_DOCS = [
    Document("guide", "Thriving places", visibility="public"),
    Document("secret", "Strategic options", visibility="confidential"),
]


def _chunk(doc: Document, text: str, page: int) -> Chunk:
    return Chunk(id=f"{doc.doc_id}-{page}", doc_id=doc.doc_id, title=doc.title, organisation="",
                 date="", doc_type="", visibility=doc.visibility, page_start=page, page_end=page,
                 section="Intro", ordinal=page, text=text, content_hash="x")


class FakeRetriever:
    def retrieve(self, query, clearance, history=(), top_k=8, mode="hybrid") -> list[Hit]:
        if "explode" in query:
            raise RuntimeError("boom")
        docs = [d for d in FAKE_DOCS if clearance == "confidential" or d.visibility == "public"]
        return [Hit(_chunk(d, f"{d.title} says places matter.", 3), 1.0 / (i + 1))
                for i, d in enumerate(docs)][:top_k]

    def readiness(self) -> dict[str, dict]:
        return {"generation": {"store": "a/1", "built": "a/1", "behind": False},
                "counts": {"chunks": 2}}


class FakeAnswerer:
    def answer(self, question, hits: Sequence[Hit], clearance, history=()) -> Answer:
        if "weather" in question:
            return Answer(answer="Not covered by the documents you can see.", refused=True)
        cites = [Citation(n=i + 1, doc_id=h.chunk.doc_id, title=h.chunk.title,
                          page=h.chunk.page_start, section=h.chunk.section, quote=h.chunk.text)
                 for i, h in enumerate(hits)]
        return Answer(answer=" ".join(f"Places matter [{c.n}]." for c in cites), citations=cites)

    def stream(self, question, hits, clearance, history=()):
        answer = self.answer(question, hits, clearance, history)
        for word in answer.answer.split(" "):
            yield StreamEvent("delta", text=word + " ")
        if "midway" in question:
            raise RuntimeError("stream broke")
        yield StreamEvent("final", answer=answer)


class FakeCatalogue:
    def __init__(self, pdf: Path) -> None:
        self.pdf = pdf

    def documents(self) -> list[Document]:
        return list(FAKE_DOCS)

    def pdf_path(self, doc_id: str) -> Path:
        return self.pdf


def fake_assistant(settings: Settings, pdf: Path) -> Assistant:
    return Assistant(settings, FakeRetriever(), FakeAnswerer(), FakeCatalogue(pdf))


def assert_error(response, status: int, code: str) -> None:
    """A 4xx/5xx the API promises: JSON, with exactly an error code and a message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"]
