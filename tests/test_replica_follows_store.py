"""A running API (embedded Chroma, as `make run` serves) follows a separate ingest process:
added, changed, reclassified and removed documents are live within 3 s, and a document made
confidential is never seen by a public caller after its publish, on any interface."""
import time

import httpx
import pytest

from ingest.store import ChunkStore
from tests.api_server import CONFIDENTIAL_KEY, ApiServer, api_settings
from tests.ingest_helpers import NHSE, SWBH, drop_row, set_visibility
from tests.replica_helpers import (Poller, RecordWatch, ingest_cli, pdf_visible,
                                   public_sightings, wait_for)
from tests.test_ingest_incremental import NEW_SENTENCE, NOTE, add_markdown_document

pytestmark = pytest.mark.slow


def search(base_url: str, query: str, mode: str = "hybrid") -> list[dict]:
    got = httpx.post(f"{base_url}/v1/search", json={"query": query, "mode": mode}, timeout=30)
    assert got.status_code == 200, got.text
    return got.json()["results"]


def test_an_api_follows_a_separate_ingest_and_never_leaks_a_reclassified_document(
        hash_settings, tmp_path):
    ingest_cli(hash_settings)
    server = ApiServer(api_settings(hash_settings), tmp_path / "api.log").start()
    try:
        url = server.base_url
        assert NHSE in public_sightings(url) and pdf_visible(url, NHSE)

        # added: a new document, found by both retrievers within 3 s of the ingest ending
        add_markdown_document(hash_settings.corpus_dir)
        ingest_cli(hash_settings)
        wait_for(lambda: all(NOTE in {r["doc_id"] for r in search(url, "Test council note",
                                                                   mode)}
                             for mode in ("dense", "keyword")), 3)

        # changed: the new sentence is searchable, the old version gone
        path = hash_settings.corpus_dir / f"{NOTE}.md"
        path.write_text(path.read_text(encoding="utf-8") + f"\n{NEW_SENTENCE}\n", encoding="utf-8")
        ingest_cli(hash_settings)
        wait_for(lambda: any(NEW_SENTENCE in r["text"]
                             for r in search(url, "zanzibar committee", "keyword")), 3)

        # reclassified public -> confidential while a public caller polls every interface
        set_visibility(hash_settings.manifest_path, NHSE, "confidential")
        with Poller([url], NHSE) as poller, RecordWatch(ChunkStore(hash_settings), NHSE,
                                                        "confidential") as publish:
            ingest_cli(hash_settings)
            wait_for(lambda: publish.at is not None, 10)
            time.sleep(3)
        assert poller.errors == []
        before = [seen for t, _, seen in poller.log if t < publish.at]
        after = [seen for t, _, seen in poller.log if t > publish.at]
        assert any(before), "the poll never saw the document while it was public"
        assert len(after) >= 3 and not any(after), "public sighting after the publish"
        assert NHSE not in public_sightings(url) and not pdf_visible(url, NHSE)
        cleared = httpx.post(f"{url}/v1/search", json={"query": "thriving places guidance"},
                             headers={"Authorization": f"Bearer {CONFIDENTIAL_KEY}"},
                             timeout=30).json()["results"]
        assert NHSE in {r["doc_id"] for r in cleared}

        # removed: gone from every interface within 3 s
        for file in hash_settings.corpus_dir.glob(f"{SWBH}.*"):
            file.unlink()
        drop_row(hash_settings.manifest_path, SWBH)
        ingest_cli(hash_settings)
        wait_for(lambda: SWBH not in public_sightings(url) and not pdf_visible(url, SWBH), 3)
        ready = httpx.get(f"{url}/readyz", timeout=30).json()
        wait_for(lambda: httpx.get(f"{url}/readyz", timeout=30).json()["generation"]["behind"]
                 is False, 3)
        assert ready["status"] == "ready"
    finally:
        server.stop()


def test_readyz_is_503_with_the_fixing_command_when_the_store_is_empty_or_unreachable(
        hash_settings, tmp_path):
    empty = ApiServer(api_settings(hash_settings), tmp_path / "empty.log").start()
    unreachable = ApiServer(api_settings(hash_settings, chroma_host="127.0.0.1", chroma_port=9),
                            tmp_path / "unreachable.log").start()
    try:
        for server, words in ((empty, "python -m ingest"), (unreachable, "CHROMA_HOST")):
            got = httpx.get(f"{server.base_url}/readyz", timeout=30)
            assert got.status_code == 503 and got.json()["error"]["code"] == "index_not_ready"
            assert words in got.json()["error"]["message"]
            asked = httpx.post(f"{server.base_url}/v1/ask", json={"question": "hi there"},
                               timeout=30)
            assert asked.status_code == 503, asked.text
        ingest_cli(hash_settings)  # the empty replica becomes ready without a restart
        wait_for(lambda: httpx.get(f"{empty.base_url}/readyz", timeout=30).status_code == 200, 3)
        store = ChunkStore(hash_settings)
        store.collection("public").delete(where={"doc_id": NHSE})  # the store lost chunks
        got = httpx.get(f"{empty.base_url}/readyz", timeout=30)
        assert got.status_code == 503 and "python -m ingest" in got.json()["error"]["message"]
    finally:
        empty.stop()
        unreachable.stop()


def test_every_uvicorn_worker_on_embedded_chroma_follows_a_separate_ingest(hash_settings,
                                                                            tmp_path):
    ingest_cli(hash_settings)
    server = ApiServer(api_settings(hash_settings), tmp_path / "api.log").start(workers=2)
    try:
        def all_ready() -> bool:  # each worker builds its keyword index at start
            return all(httpx.post(f"{server.base_url}/v1/search", json={"query": "place"},
                                  timeout=30).status_code == 200 for _ in range(10))

        wait_for(all_ready, 60)
        add_markdown_document(hash_settings.corpus_dir)
        path = hash_settings.corpus_dir / f"{NOTE}.md"
        path.write_text(path.read_text(encoding="utf-8") + f"\n{NEW_SENTENCE}\n", encoding="utf-8")
        ingest_cli(hash_settings)
        time.sleep(3)
        for _ in range(20):  # new connections: the kernel spreads them over both workers
            assert NOTE in {r["doc_id"] for r in search(server.base_url, "Test council note", "dense")}
            assert NOTE in {r["doc_id"] for r in search(server.base_url, "zanzibar", "keyword")}
    finally:
        server.stop()
