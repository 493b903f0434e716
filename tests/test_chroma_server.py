"""Chroma server mode: a real `chroma run` subprocess, ingested into and queried back over HTTP."""
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from ingest.pipeline import embedding_text, run_ingest
from ingest.store import ChunkStore
from tests.api_server import free_port
from tests.conftest import REPO
from tests.ingest_helpers import ALL_DOCS, BOB, EVERYONE, keyword_index, query_vector

pytestmark = pytest.mark.slow
CHROMA = REPO / ".venv" / "bin" / "chroma"




@pytest.fixture
def chroma_server(tmp_path: Path):
    port = free_port()
    log = (tmp_path / "chroma.log").open("w")
    server = subprocess.Popen([str(CHROMA), "run", "--path", str(tmp_path / "server-data"),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):  # wait for the heartbeat (up to a minute on a busy machine)
            assert server.poll() is None, (tmp_path / "chroma.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).is_success:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("chroma server did not answer its heartbeat")
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_ingest_into_a_chroma_server_and_query_back(hash_settings, chroma_server):
    settings = hash_settings.model_copy(update={"chroma_host": "127.0.0.1",
                                                "chroma_port": chroma_server})
    report = run_ingest(settings, progress=False)
    assert sorted(report.added) == ALL_DOCS and report.failed == []
    assert not settings.chroma_path.exists()  # nothing was written to embedded storage

    store = ChunkStore(settings)
    assert store.client.get_settings().chroma_api_impl == "chromadb.api.fastapi.FastAPI"
    assert store.count() == report.chunks_total > 0
    sentence = "Delegations to Place will be supported by agreement on outcomes and metrics"
    [stored] = [c for c in store.live_chunks() if sentence in c.text and c.doc_id == BOB]
    hits = store.query(query_vector(embedding_text(stored)), EVERYONE, n=3)
    assert hits[0][0] == stored and hits[0][1] > 0.999  # the vector it was stored with
    public = store.query(query_vector("Southwark strategic options"), ("public",), n=50)
    assert {c.visibility for c, _ in public} == {"public"}
    assert keyword_index(settings).search("Delegations to Place", EVERYONE, n=1)

    again = run_ingest(settings, progress=False)
    assert again.chunks_embedded == 0 and sorted(again.unchanged) == ALL_DOCS
