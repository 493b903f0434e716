"""The top-level entry point: the API with Slack's HTTP mode mounted on it, and only there."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

import bots.http
import server
from api_server import api_settings, fake_assistant
from assistant.api import create_app as create_api
from core.settings import Settings

PDF = next((Path(__file__).resolve().parents[1] / "corpus").glob("*.pdf"))
SLACK = {"slack_signing_secret": "s", "slack_bot_token": "xoxb-test"}


def fake_slack_router(seen: dict):
    def make(settings: Settings, assistant) -> APIRouter:
        seen["assistant"] = assistant
        router = APIRouter()
        router.add_api_route("/slack/events", lambda: {"ok": True}, methods=["POST"])
        return router
    return make


def test_slack_routes_are_mounted_when_slack_is_configured(monkeypatch):
    seen: dict = {}
    monkeypatch.setattr(bots.http, "slack_router", fake_slack_router(seen))
    settings = api_settings(Settings(_env_file=None), **SLACK)
    with TestClient(server.create_app(settings, build=lambda s: fake_assistant(s, PDF))) as client:
        assert client.post("/slack/events").json() == {"ok": True}
        assert client.get("/healthz").json() == {"status": "ok"}
    assert seen["assistant"] is not None  # the bot answers with the API's own Assistant


def test_slack_routes_are_off_without_slack_settings(monkeypatch):
    seen: dict = {}
    monkeypatch.setattr(bots.http, "slack_router", fake_slack_router(seen))
    app = server.create_app(api_settings(Settings(_env_file=None)),
                            build=lambda s: fake_assistant(s, PDF))
    with TestClient(app) as client:
        assert client.post("/slack/events").status_code == 404
    assert seen == {}


def test_the_bare_api_never_mounts_slack(monkeypatch):
    seen: dict = {}
    monkeypatch.setattr(bots.http, "slack_router", fake_slack_router(seen))
    app = create_api(api_settings(Settings(_env_file=None), **SLACK),
                     build=lambda s: fake_assistant(s, PDF))
    with TestClient(app) as client:
        assert client.post("/slack/events").status_code == 404
    assert seen == {}


def test_a_rejected_bot_token_leaves_the_api_up(monkeypatch):
    monkeypatch.setattr(bots.http, "slack_router", lambda settings, assistant: None)
    app = server.create_app(api_settings(Settings(_env_file=None), **SLACK),
                            build=lambda s: fake_assistant(s, PDF))
    with TestClient(app) as client:
        assert client.post("/slack/events").status_code == 404
        assert client.get("/v1/documents").status_code == 200


# ---- end to end: `uvicorn server:create_app` with the real Bolt app, Slack stood in ------------

@pytest.fixture(scope="module")
def slack_and_api(indexed_settings, tmp_path_factory):
    from api_server import ApiServer
    from slack_stub import SLACK_SETTINGS, SlackStub

    stub = SlackStub()
    settings = api_settings(indexed_settings, **SLACK_SETTINGS, slack_api_base_url=stub.base_url)
    server = ApiServer(settings, tmp_path_factory.mktemp("server") / "server.log").start()
    yield server, stub
    server.stop()
    stub.close()


def signed_post(base_url: str, body: bytes) -> httpx.Response:
    from slack_stub import SIGNING_SECRET

    stamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body,
                      hashlib.sha256).hexdigest()
    return httpx.post(f"{base_url}/slack/events", content=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}"})


@pytest.mark.slow
def test_one_server_answers_the_api_and_slack(slack_and_api):
    from api_server import PUBLIC_KEY
    from slack_stub import CONFIDENTIAL_TITLE, PUBLIC_CHANNEL, all_text, event_body, mention

    server, stub = slack_and_api
    question = "What is a place-based partnership?"
    with server.client(PUBLIC_KEY) as client:
        assert client.post("/v1/ask", json={"question": question}).json()["citations"]
    event = mention(PUBLIC_CHANNEL, question)
    assert signed_post(server.base_url, json.dumps(event_body(event)).encode()).status_code == 200
    stub.wait_done(PUBLIC_CHANNEL, event["ts"])
    [reply] = [c for c in stub.posts(PUBLIC_CHANNEL) if c.params.get("thread_ts") == event["ts"]]
    assert "[1]" in all_text(reply) and CONFIDENTIAL_TITLE not in all_text(reply)
    forged = httpx.post(f"{server.base_url}/slack/events", content=b"{}", timeout=10, headers={
        "X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=bad"})
    assert forged.status_code == 401
