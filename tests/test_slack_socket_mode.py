"""Socket Mode: the same Bolt App, fed envelopes as SocketModeHandler feeds them; and the
`python -m bots.slack` entry point."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_sdk.socket_mode.request import SocketModeRequest

from bots.slack import build_slack_app, pdf_base_url, web_client
from core.settings import Settings
from slack_stub import (
    PLAIN_DM, REPO, SLACK_SETTINGS, FakeAssistant, SlackStub, blocks_of, dm, event_body,
)


@pytest.fixture
def stub():
    stub = SlackStub()
    yield stub
    stub.close()


@pytest.fixture
def settings(stub, tmp_path):
    return Settings(_env_file=None, data_dir=tmp_path, slack_api_base_url=stub.base_url,
                    **{**SLACK_SETTINGS, "slack_signing_secret": None})


def envelope(body: dict) -> SocketModeRequest:
    return SocketModeRequest(type="events_api", envelope_id="env-1", payload=body,
                             retry_attempt=0, retry_reason=None)


def test_socket_mode_redelivery_posts_one_answer(settings, stub):
    app = build_slack_app(settings, FakeAssistant())
    event = dm(PLAIN_DM, "What is a place-based partnership?")
    body = event_body(event)
    assert run_bolt_app(app, envelope(body)).status == 200
    stub.wait_done(PLAIN_DM, event["ts"])
    assert run_bolt_app(app, envelope(body)).status == 200  # redelivered after a reconnect
    app.listener_runner.listener_executor.shutdown(wait=True)
    [reply] = stub.posts(PLAIN_DM)
    assert reply.params["thread_ts"] == event["ts"]
    assert blocks_of(reply)[-1]["type"] == "actions"
    assert [c.method for c in stub.calls][0] == "auth.test"  # the token is checked at start


def test_the_app_checks_its_token_against_the_configured_api(settings, stub):
    with pytest.raises(Exception, match="invalid_auth"):
        build_slack_app(settings.model_copy(update={"slack_bot_token": "xoxb-wrong"}), FakeAssistant())
    with pytest.raises(ValueError, match="SLACK_BOT_TOKEN"):
        build_slack_app(settings.model_copy(update={"slack_bot_token": None}), FakeAssistant())


def test_http_router_is_off_when_slack_rejects_the_token(settings, stub, caplog):
    from bots.http import slack_router

    wrong = settings.model_copy(update={"slack_bot_token": "xoxb-wrong",
                                        "slack_signing_secret": "s"})
    assert slack_router(wrong, FakeAssistant()) is None
    assert "Slack is off" in caplog.text
    router = slack_router(settings.model_copy(update={"slack_signing_secret": "s"}), FakeAssistant())
    assert [route.path for route in router.routes] == ["/slack/events"]


def test_web_client_retries_rate_limits_and_uses_the_configured_base_url(settings, stub):
    client = web_client(settings)
    assert client.base_url == stub.base_url
    assert "RateLimitErrorRetryHandler" in {type(h).__name__ for h in client.retry_handlers}


def test_source_links_only_when_the_api_address_is_configured():
    assert pdf_base_url(Settings(_env_file=None)) is None
    assert pdf_base_url(Settings(_env_file=None, public_base_url="https://ga.example.nhs.uk")) == (
        "https://ga.example.nhs.uk")


def test_python_m_bots_slack_says_which_tokens_are_missing(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    result = subprocess.run([sys.executable, "-m", "bots.slack"], cwd=tmp_path, env={
        **env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN and SLACK_APP_TOKEN" in result.stderr
