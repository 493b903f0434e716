"""Fuzz every operation of the OpenAPI schema against a real server: never a 5xx, always as documented.

schemathesis' own `from_fixture` does not work under pytest 9 (it sets `node._nodeid`), so each
operation's hypothesis strategy is driven here directly.
"""
from __future__ import annotations

import json
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance, not_a_server_error, response_schema_conformance,
    status_code_conformance,
)

from api_server import CONFIDENTIAL_KEY, api_server
from core.settings import Settings
from slack_stub import BotServer, SlackStub

pytestmark = pytest.mark.slow
__all__ = ["api_server"]  # the fixture, imported so pytest finds it

OPERATIONS = [
    "POST /v1/ask", "POST /v1/ask/stream", "POST /v1/search", "GET /v1/documents",
    "GET /v1/documents/{doc_id}/pdf", "GET /healthz", "GET /readyz",
]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# Schema conformance is for well-formed requests; malformed ones must only avoid 5xx and
# get a documented status (response_schema_conformance would also hold, but is slow to shrink).
NEGATIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def api_schema(api_server):
    return schemathesis.openapi.from_url(f"{api_server.base_url}/openapi.json")


def test_fuzzed_operations_are_all_the_operations(api_schema):
    labels = {result.ok().label for result in api_schema.get_all_operations()}
    assert labels == set(OPERATIONS)


CASES = [pytest.param(label, GenerationMode.POSITIVE, id=f"{label} valid") for label in OPERATIONS]
CASES += [pytest.param(label, GenerationMode.NEGATIVE, id=f"{label} invalid")
          for label in OPERATIONS if label.startswith(("POST", "GET /v1"))]  # those with inputs


@pytest.mark.parametrize("label,mode", CASES)
def test_api_never_fails_on_generated_requests(api_schema, api_server, label, mode):
    operation = api_schema.find_operation_by_label(label)
    checks = CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=20, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        # Alternate the confidential key with anonymous calls; both must hold up.
        key = len(repr(case.body)) % 2
        headers = {"Authorization": f"Bearer {CONFIDENTIAL_KEY}"} if key else {}
        case.call_and_validate(base_url=api_server.base_url, headers=headers, checks=checks,
                               timeout=60)

    run()


# ---- any text at all as a question, and the Slack route ----------------------------------------

ANY_CHAR = st.characters(codec=None, categories=None)  # surrogates, controls, zero-widths too
QUESTION_BODIES = st.one_of(
    st.text(ANY_CHAR, max_size=40),
    st.text(st.sampled_from("\u200b\u200c\u200d\u2060\ufeff\u00ad \n\t\ud800\udfff"), max_size=8),
)


@given(question=QUESTION_BODIES, route=st.sampled_from(
    ["/v1/ask", "/v1/ask/stream", "/v1/search"]), mode=st.sampled_from(["hybrid", "dense"]))
@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_any_unicode_question_is_answered_or_a_4xx(api_server, question, route, mode):
    field = "query" if route == "/v1/search" else "question"
    body = json.dumps({field: question, **({"mode": mode} if field == "query" else {})})
    response = httpx.post(f"{api_server.base_url}{route}", content=body.encode(), timeout=60,
                          headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.json()["error"]["code"] == "bad_question"


@pytest.fixture(scope="module")
def slack_bot(tmp_path_factory):
    stub = SlackStub()
    workdir = tmp_path_factory.mktemp("slack-fuzz")
    server = BotServer(Settings(_env_file=None, data_dir=workdir / "data"), stub, workdir,
                       assistant="fake").start()
    yield server
    server.stop()
    stub.close()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(ANY_CHAR, max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3), max_leaves=8)
SLACK_KEYS = st.sampled_from(["type", "event", "event_id", "challenge", "token", "team_id",
                              "authorizations", "actions", "user", "channel", "payload"])
SLACK_BODIES = st.one_of(
    st.binary(max_size=200),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(SLACK_KEYS, JSON_VALUES, max_size=5).map(lambda v: json.dumps(v).encode()),
    st.dictionaries(SLACK_KEYS, JSON_VALUES, max_size=4).map(
        lambda v: b"payload=" + quote(json.dumps(v)).encode()),
)


@given(body=SLACK_BODIES, signed=st.booleans(), content_type=st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "text/plain"]),
    timestamp=st.one_of(st.none(), st.text(st.sampled_from("0123456789-+.eabc"), max_size=24)))
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_slack_route_never_fails_on_generated_requests(slack_bot, body, signed, content_type,
                                                       timestamp):
    if signed:
        response = slack_bot.post(body, content_type=content_type)
    else:
        headers = {"Content-Type": content_type, "X-Slack-Signature": "v0=" + "0" * 64}
        if timestamp is not None:
            headers["X-Slack-Request-Timestamp"] = timestamp
        response = httpx.post(f"{slack_bot.base_url}/slack/events", content=body, timeout=10,
                              headers=headers)
    assert response.status_code < 500, response.text
    if not signed:
        assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
