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
    "views_open": set(),
    "views_publish": set(),
}
SCOPES_FOR_EVENTS = {"app_mention": {"app_mentions:read"}, "message.im": {"im:history"},
                     "message.channels": {"channels:history"}, "message.groups": {"groups:history"},
                     "app_home_opened": set()}
SCOPES_FOR_FEATURES = {"slash_commands": {"commands"}}


def bot_source() -> str:
    return "\n".join(p.read_text() for p in (REPO / "bots").rglob("*.py"))


def test_manifest_scopes_are_exactly_those_of_the_calls_and_events_the_bot_uses():
    called = set(re.findall(r"\b(chat_\w+|reactions_\w+|conversations_\w+|views_\w+)\(",
                            bot_source()))
    called |= set(re.findall(r'"(reactions_(?:add|remove))"', bot_source()))
    assert called == set(SCOPES_FOR)
    needed = set().union(*SCOPES_FOR.values(), *SCOPES_FOR_EVENTS.values(),
                         *SCOPES_FOR_FEATURES.values())
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed


def test_manifest_subscribes_to_what_the_listeners_handle_with_buttons_on():
    settings = MANIFEST["settings"]
    assert settings["event_subscriptions"]["bot_events"] == list(SCOPES_FOR_EVENTS)
    assert settings["interactivity"]["is_enabled"] is True
    assert MANIFEST["features"]["app_home"]["messages_tab_enabled"] is True
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert settings["socket_mode_enabled"] is True


def test_manifest_names_the_slash_command_the_bot_listens_for():
    from bots.listeners.command import COMMAND

    assert [c["command"] for c in MANIFEST["features"]["slash_commands"]] == [COMMAND]
    assert COMMAND in DOCS


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


def test_docs_say_index_first_and_have_a_service_unit_and_troubleshooting():
    assert DOCS.index("python -m ingest") < DOCS.index("## Install the app")
    unit = DOCS.split("```ini", 1)[1].split("```", 1)[0]
    for line in ("ExecStart=/opt/guidance/.venv/bin/python -m bots.slack", "Restart=on-failure",
                 "[Install]"):
        assert line in unit
    troubleshooting = DOCS.split("## Troubleshooting", 1)[1]
    for said in ("cannot reach Slack", "invalid_auth", "keyword index missing"):
        assert said in troubleshooting
