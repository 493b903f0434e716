"""Inputs an attacker or a load balancer sends: each gets a clear 4xx JSON error (or 200 for
HEAD), never a 5xx, and the kept-alive connection survives them."""
from __future__ import annotations


import pytest

from api_server import CONFIDENTIAL_KEY, PUBLIC_KEY, api_server, assert_error

pytestmark = pytest.mark.slow
__all__ = ["api_server"]  # the fixture, imported so pytest finds it

JSON = {"Content-Type": "application/json"}
# (path, body template): every route that takes a question or a query
QUESTION_ROUTES = [
    ("/v1/ask", '{"question": %s}'),
    ("/v1/ask/stream", '{"question": %s}'),
    ("/v1/ask", '{"question": %s, "stream": true}'),
    ("/v1/search", '{"query": %s, "mode": "hybrid"}'),
    ("/v1/search", '{"query": %s, "mode": "dense"}'),
    ("/v1/search", '{"query": %s, "mode": "keyword"}'),
]


@pytest.mark.parametrize("path,template", QUESTION_ROUTES)
@pytest.mark.parametrize("question,message", [
    (r'"place \ud800"', "surrogate"),            # a lone surrogate, as JSON allows
    (r'"\udc00 partnership"', "surrogate"),
    (r'"\u200b\u200c\u200d\u2060\ufeff"', "empty"),  # only zero-width characters
    (r'"\u200b \u00ad "', "empty"),
])
def test_unusable_questions_are_422_on_every_route(api_server, path, template, question, message):
    with api_server.client(CONFIDENTIAL_KEY) as client:
        response = client.post(path, content=(template % question).encode(), headers=JSON)
        assert_error(response, 422, "bad_question")
        assert message in response.json()["error"]["message"]
        assert client.get("/healthz").status_code == 200  # same connection, still open


def test_a_lone_surrogate_in_history_is_422(api_server):
    body = r'{"question": "And who leads it?", "history": [{"role": "user", "content": "a \ud800"}]}'
    with api_server.client(PUBLIC_KEY) as client:
        response = client.post("/v1/ask", content=body.encode(), headers=JSON)
    assert_error(response, 422, "invalid_request")  # the Turn model refuses non-text itself
    assert "history.0.content" in response.json()["error"]["message"]


@pytest.mark.parametrize("body", [
    b'{"question": "caf\xe9"}',                       # Latin-1, not UTF-8
    b'\xff\xfe{\x00"\x00q\x00"\x00}\x00',            # UTF-16
    b'{"question": "x", "history": ' + b"[" * 5000 + b"]" * 5000 + b"}",  # too deep
    b"[" * 20000,
])
def test_undecodable_or_too_deep_bodies_are_bad_json(api_server, body):
    with api_server.client(PUBLIC_KEY) as client:
        for path in ("/v1/ask", "/v1/search"):
            assert_error(client.post(path, content=body, headers=JSON), 400, "bad_json")
        assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_load_balancers_can_probe_with_head(api_server, path):
    with api_server.client() as client:
        response = client.head(path)
    assert response.status_code == 200 and response.content == b""


