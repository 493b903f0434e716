"""What operators see: /metrics in Prometheus format, JSON logs carrying the request id that the
response echoes, and an audit line for every confidential-clearance request (and none other)."""
from __future__ import annotations

import json
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api_server import CONFIDENTIAL_DOC, CONFIDENTIAL_KEY, PUBLIC_KEY, ApiServer, api_settings
from core.observability import AUDIT_LOGGER, AssistantMetrics

pytestmark = pytest.mark.slow
CONFIDENTIAL_QUESTION = "How much is the allocation from the ICS to Partnership Southwark in 2022/23?"
PUBLIC_QUESTION = "What is a place-based partnership?"


@pytest.fixture(scope="module")
def server(indexed_settings, tmp_path_factory):
    work = tmp_path_factory.mktemp("ops")
    settings = api_settings(indexed_settings, log_format="json",
                            audit_log_path=work / "audit" / "confidential.jsonl")
    server = ApiServer(settings, work / "server.log").start()
    yield server
    server.stop()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_request_id_is_echoed_given_or_made_and_is_in_the_json_logs(server):
    with server.client(PUBLIC_KEY) as client:
        given = client.post("/v1/ask", json={"question": PUBLIC_QUESTION},
                            headers={"X-Request-ID": "trace-abc.123"})
        made = client.post("/v1/ask", json={"question": "  "})
        junk = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert given.headers["x-request-id"] == "trace-abc.123"
    assert len(made.headers["x-request-id"]) == 32 and made.status_code == 422
    assert junk.headers["x-request-id"] != "bad id\twith spaces"
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    [access] = [e for e in lines if e["request_id"] == "trace-abc.123"]
    assert access["logger"] == "assistant.access" and "POST /v1/ask 200" in access["message"]
    assert {"time", "level", "logger", "message", "request_id"} <= set(access)


def test_a_library_that_turns_its_own_debug_lines_on_stays_quiet_at_info(server):
    """bm25s sets its logger to DEBUG when imported: at LOG_LEVEL=INFO (the default) an
    operator reads our lines, not "Building index from tokens" on every index build."""
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    assert any(line["logger"] == "assistant.index" for line in lines)  # the index was built
    assert [line for line in lines if line["level"] == "DEBUG"] == []


def test_metrics_count_requests_errors_answers_and_stages_per_route(server):
    with server.client(PUBLIC_KEY) as client:
        before = samples(client.get("/metrics").text)
        client.post("/v1/ask", json={"question": PUBLIC_QUESTION})
        client.post("/v1/ask", json={"question": "What is the weather on Mars tomorrow?"})
        client.post("/v1/search", json={"query": ""})
        client.get("/v1/documents/no-such-doc/pdf")
        response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    after = samples(response.text)

    def grew(name: str, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("assistant_http_requests_total", method="POST", route="/v1/ask", status="200") == 2
    assert grew("assistant_http_errors_total", route="/v1/search", status="422") == 1
    assert grew("assistant_http_errors_total", route="/v1/documents/{doc_id}/pdf",
                status="404") == 1  # the template, never the raw path
    assert grew("assistant_http_request_seconds_count", method="POST", route="/v1/ask") == 2
    answered = grew("assistant_answers_total", mode="extractive", outcome="answered")
    refused = grew("assistant_answers_total", mode="extractive", outcome="refused")
    assert (answered, refused) == (1, 1)
    for stage in ("retrieve", "dense", "keyword", "answer"):
        assert grew("assistant_stage_seconds_count", stage=stage) == 2, stage
    assert value(after, "assistant_index_loaded") == 1
    assert value(after, "assistant_index_public_chunks") > 0
    assert "confidential" not in response.text.replace("confidential counts are not shown", "")


def test_every_confidential_request_is_audited_and_no_other(server):
    audit_path = server.settings.audit_log_path
    with server.client(CONFIDENTIAL_KEY) as client:
        client.post("/v1/ask", json={"question": CONFIDENTIAL_QUESTION},
                    headers={"X-Request-ID": "audit-1"})
        client.post("/v1/search", json={"query": "Southwark strategic options"})
        client.get(f"/v1/documents/{CONFIDENTIAL_DOC}/pdf")
    with server.client(PUBLIC_KEY) as client:
        client.post("/v1/ask", json={"question": CONFIDENTIAL_QUESTION})
    entries = [json.loads(line) for line in audit_path.read_text().splitlines()]
    import hashlib

    key = "key-" + hashlib.sha256(CONFIDENTIAL_KEY.encode()).hexdigest()[:16]  # never the key
    assert [(e["interface"], e["key"], e["action"]) for e in entries] == [
        ("api", key, "ask"), ("api", key, "search"), ("api", key, "pdf")]
    assert entries[0]["request_id"] == "audit-1" and CONFIDENTIAL_DOC in entries[0]["documents"]
    assert all(CONFIDENTIAL_DOC in e["documents"] for e in entries)
    assert all(e["time"].endswith("+00:00") for e in entries)
    assert CONFIDENTIAL_QUESTION not in audit_path.read_text()  # who and what, not the words


def test_slack_posts_are_counted_and_confidential_questions_audited(tmp_path):
    from slack_sdk import WebClient

    from bots.clearance import ConversationClearance
    from bots.listeners.answering import Responder
    from bots.store import BotStore
    from core.settings import Settings
    from slack_stub import (BOT_ID, BOT_TOKEN, BOT_USER, CONF_CHANNEL, CONF_USER, PUBLIC_CHANNEL,
                            SLACK_SETTINGS, FakeAssistant, SlackStub, event_body, mention)
    from core.observability import configure_audit

    settings = Settings(_env_file=None, data_dir=tmp_path, audit_log_path=tmp_path / "audit.jsonl",
                        **SLACK_SETTINGS)
    configure_audit(settings)
    metrics = AssistantMetrics()
    stub = SlackStub()
    try:
        client = WebClient(token=BOT_TOKEN, base_url=stub.base_url + "/")
        responder = Responder(FakeAssistant(), BotStore(tmp_path / "bot.sqlite"),
                              ConversationClearance(settings), None, metrics=metrics)
        for channel in (CONF_CHANNEL, PUBLIC_CHANNEL):
            body = event_body(mention(channel, "What did Southwark decide?", user=CONF_USER))
            responder.handle_event(body, client, BOT_USER, BOT_ID)
    finally:
        stub.close()
        logging.getLogger(AUDIT_LOGGER).handlers.clear()
    assert metrics.slack_posts.labels("answer")._value.get() == 1  # the cleared channel
    assert metrics.slack_posts.labels("refusal")._value.get() == 1  # the public one
    [entry] = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert (entry["interface"], entry["user"], entry["channel"]) == ("slack", CONF_USER,
                                                                     CONF_CHANNEL)
    assert entry["documents"] == ["southwark-2022-07-16-ics-strategic-options"]
