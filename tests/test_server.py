"""The top-level entry point: the API with Slack's HTTP mode mounted on it, and only there."""
from __future__ import annotations

from pathlib import Path

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
