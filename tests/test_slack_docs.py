"""The manifest asks for exactly what the bot uses, and docs/slack.md explains it."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from core.settings import Settings

REPO = Path(__file__).resolve().parents[1]
MANIFEST = yaml.safe_load((REPO / "bots" / "slack_manifest.yaml").read_text())
DOCS = (REPO / "docs" / "slack.md").read_text()

# Web API methods the bot calls -> the bot scopes they need (per conversation type where it varies)
SCOPES_FOR = {
    "chat_postMessage": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "reactions_add": {"reactions:write"},
    "reactions_remove": {"reactions:write"},
    "conversations_replies": {"channels:history", "groups:history", "im:history", "mpim:history"},
    "conversations_info": {"channels:read", "groups:read", "im:read", "mpim:read"},
}
SCOPES_FOR_EVENTS = {"app_mention": {"app_mentions:read"}, "message.im": {"im:history"}}


def bot_source() -> str:
    return "\n".join(p.read_text() for p in (REPO / "bots").rglob("*.py"))


def test_manifest_scopes_are_exactly_those_of_the_calls_and_events_the_bot_uses():
    called = set(re.findall(r"\b(chat_\w+|reactions_\w+|conversations_\w+)\(", bot_source()))
    called |= set(re.findall(r'"(reactions_(?:add|remove))"', bot_source()))
    assert called == set(SCOPES_FOR)
    needed = set().union(*SCOPES_FOR.values(), *SCOPES_FOR_EVENTS.values())
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed


def test_manifest_subscribes_to_mentions_and_dms_with_buttons_on():
    settings = MANIFEST["settings"]
    assert settings["event_subscriptions"]["bot_events"] == ["app_mention", "message.im"]
    assert settings["interactivity"]["is_enabled"] is True
    assert MANIFEST["features"]["app_home"]["messages_tab_enabled"] is True
    assert settings["socket_mode_enabled"] is True


def test_docs_cover_both_modes_every_slack_setting_and_the_scopes():
    for phrase in ("python -m bots.slack", "/slack/events", "connections:write",
                   "bots/slack_manifest.yaml", "feedback-export"):
        assert phrase in DOCS
    for name in Settings.model_fields:
        if name.startswith("slack_"):
            assert name.upper() in DOCS, name
    for scope in MANIFEST["oauth_config"]["scopes"]["bot"]:
        access = scope.partition(":")[2]
        assert scope in DOCS or f"{{channels,groups,im,mpim}}:{access}" in DOCS, scope
