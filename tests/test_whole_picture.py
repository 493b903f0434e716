"""The multi-machine layout on loopback: a real `chroma run`, a real PostgreSQL, two API
replicas with their own empty DATA_DIRs and no corpus copy, and ingest from a third process.
Documents are added, changed, reclassified and removed; both replicas agree within 3 s, a
public caller never sees the reclassified document after its publish, a Slack event retried to
the other replica is answered once, and one rate limit holds across both."""
import json
import time

import httpx
import pytest

from core.settings import Settings
from ingest.store import ChunkStore
from tests.api_server import PUBLIC_KEY, ApiServer, api_settings
from tests.ingest_helpers import NHSE, SWBH, drop_row, set_visibility
from tests.postgres_server import postgres  # noqa: F401 - the fixture
from tests.replica_helpers import Poller, RecordWatch, ingest_cli, public_sightings, wait_for
from tests.slack_stub import (PUBLIC_CHANNEL, SLACK_SETTINGS, SIGNING_SECRET, SlackStub,
                              event_body, mention)
from tests.test_chroma_server import chroma_server  # noqa: F401 - the fixture
from tests.test_ingest_incremental import NEW_SENTENCE, NOTE, add_markdown_document

pytestmark = pytest.mark.slow


def replica(base: Settings, folder, stub: SlackStub, **overrides) -> ApiServer:  # noqa: ANN001
    settings = api_settings(base.model_copy(update={
        "data_dir": folder / "data", "corpus_dir": folder / "no-corpus-here"}),
        **SLACK_SETTINGS, slack_api_base_url=stub.base_url, **overrides)
    folder.mkdir(parents=True, exist_ok=True)
    return ApiServer(settings, folder / "api.log").start()


def agree(replicas: list[ApiServer], expected: set[str], store: ChunkStore) -> bool:
    """Both replicas show a public caller exactly `expected` and serve the store's generation."""
    generation = str(store.generation())
    return all(public_sightings(r.base_url) & expected == expected
               and not (public_sightings(r.base_url) - expected)
               and httpx.get(f"{r.base_url}/readyz", timeout=30).json()["generation"]["built"]
               == generation for r in replicas)


def signed_event(base_url: str, body: dict, retry: int | None = None) -> httpx.Response:
    import hashlib
    import hmac

    raw, stamp = json.dumps(body).encode(), str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + stamp.encode() + b":" + raw,
                      hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
               "X-Slack-Signature": f"v0={digest}"}
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    return httpx.post(f"{base_url}/slack/events", content=raw, headers=headers, timeout=30)


def test_two_replicas_one_chroma_server_one_postgres(corpus_copy, tmp_path, chroma_server,
                                                     postgres):  # noqa: F811
    base = Settings(_env_file=None, corpus_dir=corpus_copy, data_dir=tmp_path / "ingest-data",
                    embedder="hash", chroma_host="127.0.0.1", chroma_port=chroma_server,
                    llm_base_url=None, state_url=postgres.new_database())
    ingest_cli(base)
    store = ChunkStore(base)
    public = {d for d, r in store.records().items() if r.document.visibility == "public"}
    stub = SlackStub()
    replicas = [replica(base, tmp_path / f"replica{n}", stub) for n in (1, 2)]
    try:
        urls = [r.base_url for r in replicas]
        wait_for(lambda: agree(replicas, public, store), 10)
        for url in urls:  # PDFs without a corpus copy
            got = httpx.get(f"{url}/v1/documents/{NHSE}/pdf", timeout=30)
            assert got.status_code == 200 and got.content == \
                (corpus_copy / f"{NHSE}.pdf").read_bytes()

        add_markdown_document(corpus_copy)  # added
        ingest_cli(base)
        public.add(NOTE)
        wait_for(lambda: agree(replicas, public, store), 3)

        path = corpus_copy / f"{NOTE}.md"  # changed
        path.write_text(path.read_text(encoding="utf-8") + f"\n{NEW_SENTENCE}\n", encoding="utf-8")
        ingest_cli(base)
        wait_for(lambda: agree(replicas, public, store) and all(
            any(NEW_SENTENCE in r["text"] for r in httpx.post(
                f"{url}/v1/search", json={"query": "zanzibar committee", "mode": "keyword"},
                timeout=30).json()["results"]) for url in urls), 3)

        set_visibility(corpus_copy / "documents.csv", NHSE, "confidential")  # reclassified
        public.discard(NHSE)
        with Poller(urls, NHSE) as poller, RecordWatch(ChunkStore(base), NHSE,
                                                       "confidential") as publish:
            ingest_cli(base)
            wait_for(lambda: publish.at is not None, 10)
            wait_for(lambda: agree(replicas, public, store), 3)
            time.sleep(1)
        assert poller.errors == []
        assert any(seen for t, _, seen in poller.log if t < publish.at)
        after = [(url, seen) for t, url, seen in poller.log if t > publish.at]
        assert {url for url, _ in after} == set(urls)
        assert not any(seen for _, seen in after), "a public sighting after the publish"
        for url in urls:
            assert httpx.get(f"{url}/v1/documents/{NHSE}/pdf", timeout=30).status_code == 404

        for file in corpus_copy.glob(f"{SWBH}.*"):  # removed
            file.unlink()
        drop_row(corpus_copy / "documents.csv", SWBH)
        ingest_cli(base)
        public.discard(SWBH)
        wait_for(lambda: agree(replicas, public, store), 3)

        # --rebuild from the ingest machine while both replicas serve: no error, same answers
        with Poller(urls, NHSE) as poller:
            ingest_cli(base, "--rebuild")
            wait_for(lambda: agree(replicas, public, store), 3)
        assert poller.errors == [] and poller.log and not any(seen for _, _, seen in poller.log)

        # a Slack event, then Slack's retry of it landing on the other replica: one answer
        event = mention(PUBLIC_CHANNEL, "What is a place-based partnership?")
        body = event_body(event)
        assert signed_event(urls[0], body).status_code == 200
        assert signed_event(urls[1], body, retry=1).status_code == 200
        stub.wait_done(PUBLIC_CHANNEL, event["ts"])
        time.sleep(1.5)  # anything that should not happen, let it happen
        replies = [c for c in stub.posts(PUBLIC_CHANNEL) if c.params.get("thread_ts") == event["ts"]]
        assert len(replies) == 1
    finally:
        for server in replicas:
            server.stop()

    # one rate limit across both replicas: 6 a minute in all, however the calls are spread
    limited = [replica(base, tmp_path / f"limited{n}", stub, rate_limit_per_minute=6)
               for n in (1, 2)]
    try:
        statuses = [httpx.get(f"{limited[n % 2].base_url}/v1/documents", timeout=30,
                              headers={"Authorization": f"Bearer {PUBLIC_KEY}"}).status_code
                    for n in range(8)]
        assert statuses == [200] * 6 + [429] * 2
    finally:
        for server in limited:
            server.stop()
        stub.close()
