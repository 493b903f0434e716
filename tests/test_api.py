"""The HTTP API over the real index, in a real uvicorn process; a few edge cases over a fake."""
from __future__ import annotations

import json
import httpx
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_server import (
    CONFIDENTIAL_DOC, CONFIDENTIAL_KEY, PUBLIC_KEY, ApiServer, api_server, api_settings,
    assert_error, fake_assistant, parse_sse,
)
from assistant.api import create_app
from assistant.deps import load_api_keys
from assistant.ratelimit import RateLimiter
from core.settings import Settings

pytestmark = pytest.mark.slow
__all__ = ["api_server"]  # the fixture, imported so pytest finds it

QUESTION = "What is a place-based partnership?"
PUBLIC_DOC = "nhse-lga-2021-09-thriving-places-guidance"


def ask(server: ApiServer, key: str | None = None, **body):
    with server.client(key) as client:
        return client.post("/v1/ask", json={"question": QUESTION, **body})


# ---- health ------------------------------------------------------------------------------------

def test_healthz_says_the_process_is_up(api_server):
    with api_server.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_the_generation_and_counts_only_to_confidential_callers(api_server):
    for key in (None, PUBLIC_KEY, "not-a-key"):
        with api_server.client(key) as client:
            response = client.get("/readyz")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ready" and "counts" not in body and "chunks" not in response.text
        assert body["generation"]["store"] == body["generation"]["built"]
        assert body["generation"]["behind"] is False
    with api_server.client(CONFIDENTIAL_KEY) as client:
        counts = client.get("/readyz").json()["counts"]
    assert counts["chunks"] > 0 and counts["documents"] == 5


# ---- ask and stream ----------------------------------------------------------------------------

def test_ask_returns_a_cited_answer(api_server):
    response = ask(api_server, PUBLIC_KEY)
    assert response.status_code == 200
    answer = response.json()
    assert not answer["refused"] and answer["citations"]
    for citation in answer["citations"]:
        assert f"[{citation['n']}]" in answer["answer"]
        assert citation["page"] >= 1 and citation["doc_id"] != CONFIDENTIAL_DOC


def test_ask_accepts_history(api_server):
    history = [{"role": "user", "content": "Tell me about ICSs."},
               {"role": "assistant", "content": "Integrated care systems join up care."}]
    assert ask(api_server, PUBLIC_KEY, history=history).status_code == 200


def test_off_topic_question_is_refused_with_closest_documents(api_server):
    with api_server.client() as client:
        answer = client.post("/v1/ask", json={"question": "What will the weather be in Paris "
                                                           "tomorrow afternoon?"}).json()
    assert answer["refused"] is True and answer["citations"] == []
    assert all(d["doc_id"] != CONFIDENTIAL_DOC for d in answer["closest_documents"])


@pytest.mark.parametrize("route,body", [("/v1/ask/stream", {}), ("/v1/ask", {"stream": True})])
def test_stream_sends_deltas_then_one_final_answer(api_server, route, body):
    with api_server.client(PUBLIC_KEY) as client:
        response = client.post(route, json={"question": QUESTION, **body})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store" or "no-cache" in \
        response.headers["cache-control"]
    events = parse_sse(response.text)
    names = [name for name, _ in events]
    assert names[-1] == "final" and names.count("final") == 1
    assert names[:-1] and set(names[:-1]) == {"delta"}
    streamed = "".join(json.loads(data)["text"] for _, data in events[:-1])
    final = json.loads(events[-1][1])
    assert final == ask(api_server, PUBLIC_KEY).json()
    assert streamed.split() == final["answer"].split()


# ---- search ------------------------------------------------------------------------------------

def test_search_returns_ranked_passages(api_server):
    with api_server.client(PUBLIC_KEY) as client:
        results = client.post("/v1/search", json={"query": "place partnership lead",
                                                  "top_k": 3}).json()["results"]
    assert 1 <= len(results) <= 3
    assert set(results[0]) == {"doc_id", "title", "page", "page_end", "section", "text", "score"}
    assert all(1 <= r["page"] <= r["page_end"] for r in results)
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


def test_public_caller_never_sees_confidential_passages(api_server):
    body = {"query": "Southwark strategic options integrated care partnership", "top_k": 50}
    with api_server.client(PUBLIC_KEY) as public, api_server.client(CONFIDENTIAL_KEY) as conf:
        public_docs = {r["doc_id"] for r in public.post("/v1/search", json=body).json()["results"]}
        conf_docs = {r["doc_id"] for r in conf.post("/v1/search", json=body).json()["results"]}
    assert CONFIDENTIAL_DOC not in public_docs
    assert CONFIDENTIAL_DOC in conf_docs


# ---- documents and clearance -------------------------------------------------------------------

@pytest.mark.parametrize("key,sees_confidential", [
    (None, False), (PUBLIC_KEY, False), (CONFIDENTIAL_KEY, True)])
def test_documents_are_those_the_caller_may_see(api_server, key, sees_confidential):
    with api_server.client(key) as client:
        docs = client.get("/v1/documents").json()["documents"]
    ids = {d["doc_id"] for d in docs}
    assert PUBLIC_DOC in ids and len(ids) >= 4
    assert (CONFIDENTIAL_DOC in ids) is sees_confidential
    doc = next(d for d in docs if d["doc_id"] == PUBLIC_DOC)
    assert doc["pdf_url"] == f"{api_server.base_url}/v1/documents/{PUBLIC_DOC}/pdf"


@pytest.mark.parametrize("path", ["/v1/documents", f"/v1/documents/{PUBLIC_DOC}/pdf"])
@pytest.mark.parametrize("header", ["Bearer wrong-key", "Basic dXNlcjpwdw==", "Bearer"])
def test_a_bad_key_is_401_even_where_anonymous_is_allowed(api_server, path, header):
    with api_server.client(headers={"Authorization": header}) as client:
        response = client.get(path)
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_bad_key_on_ask_is_401(api_server):
    assert_error(ask(api_server, "wrong-key"), 401, "unauthorized")


@pytest.mark.parametrize("key", [None, PUBLIC_KEY, CONFIDENTIAL_KEY])
def test_public_pdf_is_served_inline(api_server, key):
    with api_server.client(key) as client:
        response = client.get(f"/v1/documents/{PUBLIC_DOC}/pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline")
    assert response.content.startswith(b"%PDF")


@pytest.mark.parametrize("key", [None, PUBLIC_KEY])
def test_confidential_pdf_is_404_for_a_public_caller(api_server, key):
    with api_server.client(key) as client:
        hidden = client.get(f"/v1/documents/{CONFIDENTIAL_DOC}/pdf")
        missing = client.get("/v1/documents/no-such-document/pdf")
    assert_error(hidden, 404, "not_found")
    assert_error(missing, 404, "not_found")
    # the same as a document that does not exist, apart from the name
    assert hidden.json()["error"]["message"].replace(CONFIDENTIAL_DOC, "X") == \
        missing.json()["error"]["message"].replace("no-such-document", "X")


def test_confidential_pdf_is_served_to_a_confidential_key(api_server):
    with api_server.client(CONFIDENTIAL_KEY) as client:
        response = client.get(f"/v1/documents/{CONFIDENTIAL_DOC}/pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


# ---- errors ------------------------------------------------------------------------------------

BAD_ASKS = [
    ({"question": ""}, 422, "bad_question"),
    ({"question": " \n\t "}, 422, "bad_question"),
    ({"question": "x" * 2001}, 422, "bad_question"),
    ({"question": 42}, 422, "invalid_request"),
    ({"question": None}, 422, "invalid_request"),
    ({}, 422, "invalid_request"),
    ({"question": "hi", "history": [{"role": "system", "content": "x"}]}, 422, "invalid_request"),
    ({"question": "hi", "history": "not a list"}, 422, "invalid_request"),
    ({"question": "hi", "stream": "yes"}, 422, "invalid_request"),
    (["question"], 422, "invalid_request"),
]


@pytest.mark.parametrize("body,status,code", BAD_ASKS)
@pytest.mark.parametrize("route", ["/v1/ask", "/v1/ask/stream"])
def test_bad_questions_are_4xx_json(api_server, route, body, status, code):
    with api_server.client(PUBLIC_KEY) as client:
        assert_error(client.post(route, json=body), status, code)


@pytest.mark.parametrize("body,code", [
    ({"query": "partnership", "top_k": 0}, "invalid_request"),
    ({"query": "partnership", "top_k": 51}, "invalid_request"),
    ({"query": "partnership", "top_k": "5"}, "invalid_request"),
    ({"query": "partnership", "top_k": 2.5}, "invalid_request"),
    ({"query": "partnership", "mode": "psychic"}, "invalid_request"),
    ({"query": "   "}, "bad_question"),
])
def test_bad_searches_are_422(api_server, body, code):
    with api_server.client(PUBLIC_KEY) as client:
        assert_error(client.post("/v1/search", json=body), 422, code)


@pytest.mark.parametrize("content", [b"{not json", b'{"question": "hi"', b"\xff\xfe"])
def test_bad_json_is_400(api_server, content):
    with api_server.client(PUBLIC_KEY) as client:
        response = client.post("/v1/ask", content=content,
                               headers={"Content-Type": "application/json"})
    assert_error(response, 400, "bad_json")


def test_question_of_exactly_the_limit_is_accepted(api_server):
    question = ("What is a place-based partnership? " * 100)[:2000]
    assert ask(api_server, PUBLIC_KEY, question=question).status_code == 200


def test_body_over_64kb_is_413(api_server):
    body = {"question": "hi", "history": [{"role": "user", "content": "x" * 7000}] * 10}
    with api_server.client(PUBLIC_KEY) as client:
        assert_error(client.post("/v1/ask", json=body), 413, "body_too_large")


def test_chunked_body_over_64kb_is_413(api_server):
    def chunks():
        yield b'{"question": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'
    with api_server.client(PUBLIC_KEY) as client:
        response = client.post("/v1/ask", content=chunks(),
                               headers={"Content-Type": "application/json"})
    assert_error(response, 413, "body_too_large")


def test_unknown_route_and_wrong_method_are_json(api_server):
    with api_server.client() as client:
        assert_error(client.get("/v1/nothing"), 404, "not_found")
        assert_error(client.get("/v1/ask"), 405, "method_not_allowed")


# ---- CORS and OpenAPI --------------------------------------------------------------------------

def test_cors_allows_only_listed_origins(api_server):
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    with api_server.client() as client:
        allowed = client.options("/v1/ask", headers={"Origin": "http://intranet.example",
                                                     **preflight})
        refused = client.options("/v1/ask", headers={"Origin": "http://evil.example",
                                                     **preflight})
        simple = client.get("/v1/documents", headers={"Origin": "http://intranet.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://intranet.example"
    assert "access-control-allow-origin" not in refused.headers
    assert simple.headers["access-control-allow-origin"] == "http://intranet.example"


def test_openapi_describes_every_request_field_and_error(api_server):
    with api_server.client() as client:
        schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    for name in ("AskRequest", "SearchRequest", "Turn"):
        for field, spec in components[name]["properties"].items():
            assert spec.get("description"), f"{name}.{field} has no description"
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            codes = set(operation["responses"])
            if path.startswith("/v1/"):
                assert {"401", "429", "503"} <= codes, (method, path)
            if method == "post":
                assert {"400", "413", "422"} <= codes, (method, path)
    assert "404" in schema["paths"]["/v1/documents/{doc_id}/pdf"]["get"]["responses"]
    assert "text/event-stream" in \
        schema["paths"]["/v1/ask/stream"]["post"]["responses"]["200"]["content"]
    assert "HTTPBearer" in schema["components"]["securitySchemes"]


# ---- a second server: keys file, no anonymous access, a tight rate limit -----------------------

@pytest.fixture(scope="module")
def strict_server(indexed_settings, tmp_path_factory):
    folder = tmp_path_factory.mktemp("strict")
    keys = folder / "keys.txt"
    keys.write_text("# staff keys\nalpha=public\n\nbeta = confidential\n")
    settings = api_settings(indexed_settings, api_keys=[], api_keys_file=keys,
                            allow_anonymous=False, rate_limit_per_minute=3)
    server = ApiServer(settings, folder / "server.log").start()
    yield server
    server.stop()


def test_anonymous_access_can_be_turned_off(strict_server):
    with strict_server.client() as client:
        assert_error(client.get("/v1/documents"), 401, "unauthorized")
        assert client.get("/healthz").status_code == 200  # probes need no key


def test_keys_file_grants_its_clearances(strict_server):
    with strict_server.client("beta") as client:
        ids = {d["doc_id"] for d in client.get("/v1/documents").json()["documents"]}
    assert CONFIDENTIAL_DOC in ids


def test_rate_limit_is_per_key_with_retry_after(strict_server):
    with strict_server.client("alpha") as alpha, strict_server.client("beta") as beta:
        statuses = [alpha.get("/v1/documents").status_code for _ in range(3)]
        limited = alpha.get("/v1/documents")
        other = beta.get("/v1/documents")
    assert statuses == [200, 200, 200]
    assert_error(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert other.status_code == 200


# ---- in-process edge cases over a fake assistant -----------------------------------------------

PDF = Path(__file__).resolve().parents[1] / "corpus" / f"{PUBLIC_DOC}.pdf"


@pytest.fixture
def fake_client():
    settings = api_settings(Settings(_env_file=None))
    app = create_app(settings, build=lambda s: fake_assistant(s, PDF))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_failure_midway_through_a_stream_is_an_error_event(fake_client):
    response = fake_client.post("/v1/ask/stream", json={"question": "midway please"})
    names = [name for name, _ in parse_sse(response.text)]
    assert names[0] == "delta" and names[-1] == "error" and "final" not in names
    assert json.loads(parse_sse(response.text)[-1][1])["error"]["code"] == "internal_error"


def test_unexpected_failure_is_a_json_500_without_details(fake_client):
    response = fake_client.post("/v1/ask", json={"question": "explode"})
    assert_error(response, 500, "internal_error")
    assert "boom" not in response.text


def test_missing_index_makes_v1_and_readyz_503():
    from core.errors import IndexNotReady

    def build(_settings):
        raise IndexNotReady("no index in data/: run `python -m ingest`")

    app = create_app(api_settings(Settings(_env_file=None)), build=build)
    with TestClient(app) as client:
        assert_error(client.get("/readyz"), 503, "index_not_ready")
        assert_error(client.post("/v1/ask", json={"question": "hi"}), 503, "index_not_ready")
        assert client.get("/healthz").status_code == 200


def test_rate_limiter_refills_over_time():
    now = [0.0]
    limiter = RateLimiter(per_minute=2, clock=lambda: now[0])
    assert [limiter.charge("a"), limiter.charge("a")] == [0, 0]
    assert limiter.charge("a") == 30 and limiter.charge("b") == 0
    now[0] = 30.0
    assert limiter.charge("a") == 0


def test_idle_rate_buckets_expire_and_a_sweep_runs_every_few_hundred_charges():
    import assistant.ratelimit as ratelimit

    now = [0.0]
    limiter = RateLimiter(per_minute=2, clock=lambda: now[0])
    limiter.charge("idle")
    now[0] = 61.0
    for n in range(ratelimit.EXPIRE_EVERY - 1):
        limiter.charge(f"busy{n % 3}")
    assert set(limiter._buckets) == {"busy0", "busy1", "busy2"}  # the 500th charge swept
    assert limiter.charge("idle") == 0


@pytest.mark.parametrize("pairs", [["k"], ["k=secret"], ["=public"]])
def test_malformed_api_keys_are_refused_at_start(pairs):
    with pytest.raises(ValueError, match="KEY=public or KEY=confidential"):
        load_api_keys(Settings(_env_file=None, api_keys=pairs))


def test_assistant_api_keys_env_var_is_read(monkeypatch):
    monkeypatch.setenv("ASSISTANT_API_KEYS", "k1=public,k2=confidential")
    assert load_api_keys(Settings(_env_file=None)) == {"k1": "public", "k2": "confidential"}
def test_bad_keys_from_one_address_are_throttled_before_the_next_key_is_checked(
        indexed_settings, tmp_path):
    settings = api_settings(indexed_settings, auth_failures_per_minute=3,
                            state_url=str(tmp_path / "state.sqlite"))
    server = ApiServer(settings, tmp_path / "server.log").start()
    try:
        with server.client("wrong-key") as wrong, server.client(PUBLIC_KEY) as right:
            statuses = [wrong.get("/v1/documents", headers={"X-Forwarded-For": f"10.0.0.{n}"})
                        .status_code for n in range(3)]  # not trusted: all one address
            throttled = right.get("/v1/documents")  # a right key, but from the same address
            anonymous = httpx.get(f"{server.base_url}/v1/documents", timeout=30)
        assert statuses == [401, 401, 401]
        assert_error(throttled, 429, "rate_limited")
        assert 1 <= int(throttled.headers["retry-after"]) <= 20
        assert anonymous.status_code == 200  # no key, no failure: anonymous access still works
    finally:
        server.stop()


def test_forwarded_addresses_are_trusted_only_from_the_configured_proxies(indexed_settings,
                                                                           tmp_path):
    settings = api_settings(indexed_settings, auth_failures_per_minute=2,
                            state_url=str(tmp_path / "state.sqlite"),
                            forwarded_allow_ips="127.0.0.1")
    server = ApiServer(settings, tmp_path / "server.log").start()
    try:
        with server.client("wrong-key") as wrong, server.client(PUBLIC_KEY) as right:
            for _ in range(2):
                wrong.get("/v1/documents", headers={"X-Forwarded-For": "10.0.0.1"})
            blocked = right.get("/v1/documents", headers={"X-Forwarded-For": "10.0.0.1"})
            other = right.get("/v1/documents", headers={"X-Forwarded-For": "10.0.0.2"})
        assert_error(blocked, 429, "rate_limited")
        assert other.status_code == 200
    finally:
        server.stop()
