"""The bot features people expect, through signed requests into the real Bolt app (uvicorn) with
Slack's Web API stood in by tests/slack_stub.py: the slash command and "Share in channel",
auto-answer channels and their threads, the App Home tab, the "Not helpful" comment, and
start-up failures in one line."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from urllib.parse import urlencode

import pytest

from bots.blocks import NOT_HELPFUL, SHARE
from bots.feedback import export_feedback
from bots.listeners.command import CANNOT_POST, COMMAND
from bots.slack import build_slack_app
from core.settings import Settings
from slack_stub import (
    BOT_ID, BOT_TOKEN, BOT_USER, CONF_CHANNEL, CONF_USER, CONFIDENTIAL_TITLE, PLAIN_DM, PLAIN_USER,
    PUBLIC_CHANNEL, PUBLIC_DOCS, REPO, RESPONSE_URL_METHOD, SLACK_SETTINGS, TEAM, BotServer,
    FakeAssistant, SlackStub, all_text, blocks_of, button_click, dm, event_body, mention, new_ts,
    read_asks, wait_until,
)

pytestmark = pytest.mark.slow
AUTO_CHANNEL, AUTO_PRIVATE = "C0AUTO", "G0CONF"  # G0CONF is also cleared for confidential papers
SOUTHWARK = "What strategic options did Southwark consider?"
SETTLE = 1.0  # seconds to let anything that should not happen, happen


@pytest.fixture(scope="module")
def stub():
    stub = SlackStub()
    stub.channels[AUTO_CHANNEL] = {"id": AUTO_CHANNEL, "is_channel": True, "is_private": False}
    yield stub
    stub.close()


@pytest.fixture(scope="module")
def bot(stub, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slack-features")
    settings = Settings(_env_file=None, data_dir=workdir / "data",
                        slack_auto_answer_channels=[AUTO_CHANNEL, AUTO_PRIVATE])
    server = BotServer(settings, stub, workdir, assistant="fake").start()
    yield server
    server.stop()


_n = iter(range(1, 10_000))


def response_url(stub: SlackStub) -> tuple[str, str]:
    """A fresh response_url on the stub and the id to find what was sent to it."""
    key = f"r{next(_n)}"
    return f"{stub.base_url}{RESPONSE_URL_METHOD}?key={key}", key


def responses(stub: SlackStub, key: str) -> list[dict]:
    return [c.params for c in stub.of(RESPONSE_URL_METHOD, key=key)]


def slash(bot: BotServer, stub: SlackStub, channel: str, text: str, user: str = PLAIN_USER) -> str:
    url, key = response_url(stub)
    body = urlencode({"token": "legacy", "team_id": TEAM, "channel_id": channel, "user_id": user,
                      "command": COMMAND, "text": text, "api_app_id": "A0APP",
                      "response_url": url, "trigger_id": f"trig-{key}"}).encode()
    started = time.monotonic()
    response = bot.post(body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and time.monotonic() - started < 3  # acked in time
    wait_until(lambda: responses(stub, key), 30, f"the answer to {COMMAND} {text}")
    return key


def form(payload: dict) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def share_click(channel: str, question: str, user: str = PLAIN_USER, url: str = "") -> bytes:
    """A click on "Share in channel" under an ephemeral answer (Slack sends no `message`)."""
    return form({
        "type": "block_actions", "team": {"id": TEAM}, "user": {"id": user}, "api_app_id": "A0APP",
        "token": "legacy", "trigger_id": "trig-share", "response_url": url,
        "container": {"type": "message", "message_ts": "1.2", "channel_id": channel,
                      "is_ephemeral": True},
        "channel": {"id": channel},
        "actions": [{"action_id": SHARE, "block_id": "feedback", "value": question,
                     "type": "button", "action_ts": f"{time.time():.6f}"}]})


def action_values(blocks: list[dict]) -> dict[str, str]:
    return {e["action_id"]: e.get("value") for b in blocks if b["type"] == "actions"
            for e in b["elements"]}


# ---- the slash command ------------------------------------------------------------------------

def test_slash_command_answers_only_the_asker_with_a_share_button(bot, stub):
    question = "What is a place-based partnership?"
    key = slash(bot, stub, PUBLIC_CHANNEL, question)
    [reply] = responses(stub, key)
    assert reply["response_type"] == "ephemeral"
    assert action_values(reply["blocks"])[SHARE] == question
    assert PUBLIC_DOCS[0].title in json.dumps(reply["blocks"])
    time.sleep(SETTLE)
    assert not stub.posts(PUBLIC_CHANNEL)  # nothing posted for everyone


def test_slash_command_without_a_question_says_how_to_use_it(bot, stub):
    [reply] = responses(stub, slash(bot, stub, PUBLIC_CHANNEL, "  "))
    assert COMMAND in reply["text"] and reply["response_type"] == "ephemeral"


def test_slash_command_keeps_the_channels_clearance(bot, stub):
    [public] = responses(stub, slash(bot, stub, PUBLIC_CHANNEL, SOUTHWARK))
    assert CONFIDENTIAL_TITLE not in json.dumps(public) and SHARE not in action_values(public["blocks"])
    [cleared] = responses(stub, slash(bot, stub, CONF_CHANNEL, SOUTHWARK))
    assert CONFIDENTIAL_TITLE in json.dumps(cleared)


def test_share_posts_for_everyone_and_removes_the_private_copy(bot, stub):
    url, key = response_url(stub)
    before = len(stub.posts(PUBLIC_CHANNEL))
    question = "What is a place-based partnership?"
    assert bot.post(share_click(PUBLIC_CHANNEL, question, url=url),
                    content_type="application/x-www-form-urlencoded").status_code == 200
    wait_until(lambda: responses(stub, key), 30, "the private copy to go")
    [gone] = responses(stub, key)
    assert gone["delete_original"] is True and not gone.get("blocks")
    [shared] = stub.posts(PUBLIC_CHANNEL)[before:]
    text = all_text(shared)
    assert f"<@{PLAIN_USER}> asked: {question}" in text and PUBLIC_DOCS[0].title in text
    assert "thread_ts" not in shared.params  # in the channel itself
    assert NOT_HELPFUL in action_values(blocks_of(shared))  # feedback on the shared copy too


def test_share_asks_again_with_the_channels_clearance(bot, stub):
    """Even a share button carrying a confidential question only shares what the channel may see."""
    url, key = response_url(stub)
    before = len(stub.posts(PUBLIC_CHANNEL))
    bot.post(share_click(PUBLIC_CHANNEL, SOUTHWARK, url=url),
             content_type="application/x-www-form-urlencoded")
    wait_until(lambda: responses(stub, key), 30, "the share to finish")
    [shared] = stub.posts(PUBLIC_CHANNEL)[before:]
    assert CONFIDENTIAL_TITLE not in all_text(shared)
    assert [a["clearance"] for a in read_asks(bot.ask_log) if a["question"] == SOUTHWARK][-1] == "public"


def test_share_where_the_bot_is_not_a_member_says_so(bot, stub):
    url, key = response_url(stub)
    stub.fail_next("chat.postMessage", 200, {"ok": False, "error": "not_in_channel"})
    bot.post(share_click(PUBLIC_CHANNEL, "What is a place-based partnership?", url=url),
             content_type="application/x-www-form-urlencoded")
    wait_until(lambda: responses(stub, key), 30, "the refusal to share")
    [reply] = responses(stub, key)
    assert reply["text"] == CANNOT_POST and reply["response_type"] == "ephemeral"


# ---- auto-answer channels ---------------------------------------------------------------------

def channel_message(channel: str, text: str, thread_ts: str | None = None) -> dict:
    event = {"type": "message", "channel_type": "channel", "user": PLAIN_USER, "text": text,
             "channel": channel, "ts": new_ts()}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def send(bot: BotServer, event: dict) -> None:
    assert bot.post(json.dumps(event_body(event)).encode()).status_code == 200


def thread_posts(stub: SlackStub, event: dict) -> list:
    return [c for c in stub.posts(event["channel"])
            if c.params.get("thread_ts") == (event.get("thread_ts") or event["ts"])]


def test_questions_in_an_auto_answer_channel_need_no_mention(bot, stub):
    question = channel_message(AUTO_CHANNEL, "how do place partnerships work")
    send(bot, question)
    stub.wait_done(AUTO_CHANNEL, question["ts"])
    [reply] = thread_posts(stub, question)
    assert PUBLIC_DOCS[0].title in all_text(reply)


def test_chatter_and_other_channels_are_left_alone(bot, stub):
    chatter = channel_message(AUTO_CHANNEL, "thanks all, see you tomorrow")
    elsewhere = channel_message(PUBLIC_CHANNEL, "What is a place-based partnership?")
    send(bot, chatter)
    send(bot, elsewhere)
    time.sleep(SETTLE)
    assert not thread_posts(stub, chatter) and not thread_posts(stub, elsewhere)
    assert not stub.of("reactions.add", timestamp=chatter["ts"])


def test_a_mention_in_an_auto_answer_channel_is_answered_once(bot, stub):
    ts = new_ts()
    pair = [mention(AUTO_CHANNEL, "What is a place-based partnership?", ts=ts),
            {**channel_message(AUTO_CHANNEL, f"<@{BOT_USER}> What is a place-based partnership?"),
             "ts": ts}]
    for event in pair:
        send(bot, event)
    stub.wait_done(AUTO_CHANNEL, ts)
    time.sleep(SETTLE)
    assert len(thread_posts(stub, pair[0])) == 1


def test_thread_follow_ups_need_no_mention_where_the_bot_answered(bot, stub):
    root = channel_message(AUTO_CHANNEL, "What is a place-based partnership?")
    send(bot, root)
    stub.wait_done(AUTO_CHANNEL, root["ts"])
    answered_ts = new_ts()
    follow_up = channel_message(AUTO_CHANNEL, "and who leads one", thread_ts=root["ts"])
    stub.replies[(AUTO_CHANNEL, root["ts"])] = [
        {"user": PLAIN_USER, "text": root["text"], "ts": root["ts"]},
        {"user": BOT_USER, "bot_id": BOT_ID, "text": "Partnerships bring ... [1]", "ts": answered_ts},
        {"user": PLAIN_USER, "text": follow_up["text"], "ts": follow_up["ts"]}]
    send(bot, follow_up)
    stub.wait_done(AUTO_CHANNEL, follow_up["ts"])
    assert len(thread_posts(stub, follow_up)) == 2  # the first answer and the follow-up's
    ask = [a for a in read_asks(bot.ask_log) if a["question"] == "and who leads one"][-1]
    assert [t["role"] for t in ask["history"]] == ["user", "assistant"]


def test_replies_in_threads_the_bot_never_joined_are_left_alone(bot, stub):
    root_ts = new_ts()
    stub.replies[(AUTO_CHANNEL, root_ts)] = [{"user": PLAIN_USER, "text": "lunch?", "ts": root_ts}]
    reply = channel_message(AUTO_CHANNEL, "what time?", thread_ts=root_ts)
    send(bot, reply)
    time.sleep(SETTLE)
    assert not thread_posts(stub, reply)


@pytest.mark.parametrize("channel, sees_confidential", [(AUTO_CHANNEL, False), (AUTO_PRIVATE, True)])
def test_auto_answers_keep_each_channels_clearance(bot, stub, channel, sees_confidential):
    question = channel_message(channel, SOUTHWARK)
    send(bot, question)
    stub.wait_done(channel, question["ts"])
    [reply] = thread_posts(stub, question)
    assert (CONFIDENTIAL_TITLE in all_text(reply)) is sees_confidential


# ---- App Home ---------------------------------------------------------------------------------

def home_opened(user: str, tab: str = "home") -> dict:
    return {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": tab,
            "event_ts": new_ts()}


@pytest.mark.parametrize("user, sees_confidential", [(PLAIN_USER, False), (CONF_USER, True)])
def test_home_tab_shows_how_to_ask_and_the_viewers_documents(bot, stub, user, sees_confidential):
    before = len(stub.of("views.publish", user_id=user))
    send(bot, home_opened(user))
    wait_until(lambda: len(stub.of("views.publish", user_id=user)) > before, 30, "the Home tab")
    view = stub.of("views.publish", user_id=user)[-1].params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    text = json.dumps(view)
    assert view["type"] == "home"
    assert COMMAND in text and "Not helpful" in text and PUBLIC_DOCS[0].title in text
    assert (CONFIDENTIAL_TITLE in text) is sees_confidential


def test_the_messages_tab_draws_nothing(bot, stub):
    before = len(stub.of("views.publish"))
    send(bot, home_opened(PLAIN_USER, tab="messages"))
    time.sleep(SETTLE)
    assert len(stub.of("views.publish")) == before


# ---- "Not helpful" with a comment -------------------------------------------------------------

def test_not_helpful_opens_a_comment_form_whose_comment_is_exported(bot, stub, tmp_path):
    question = dm(PLAIN_DM, "What is a place-based partnership?")
    send(bot, question)
    stub.wait_done(PLAIN_DM, question["ts"])
    [reply] = thread_posts(stub, question)
    answer_id = action_values(blocks_of(reply))[NOT_HELPFUL]
    message_ts = reply.params.get("ts") or "1800000000.000001"
    click = button_click(PLAIN_DM, message_ts, question["ts"], NOT_HELPFUL, answer_id)
    assert bot.post(click, content_type="application/x-www-form-urlencoded").status_code == 200
    opened = wait_until(lambda: stub.of("views.open"), 30, "the comment form")[-1].params
    view = json.loads(opened["view"]) if isinstance(opened["view"], str) else opened["view"]
    assert opened["trigger_id"].startswith("trig") and view["type"] == "modal"

    comment = "It should cite the 2022 board paper, page 3."
    submission = form({
        "type": "view_submission", "team": {"id": TEAM}, "user": {"id": PLAIN_USER},
        "api_app_id": "A0APP", "token": "legacy", "trigger_id": "trig-submit",
        "view": {"id": "V1", "type": "modal", "callback_id": view["callback_id"],
                 "private_metadata": view["private_metadata"],
                 "state": {"values": {"comment": {"comment_text": {
                     "type": "plain_text_input", "value": comment}}}}}})
    response = bot.post(submission, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and not response.content.strip()  # the modal closes

    out = tmp_path / "drafts.jsonl"
    db = bot.settings.bot_db_path

    def exported() -> list[dict]:
        export_feedback(db, out)
        return [c for c in map(json.loads, out.read_text().splitlines()) if c["comments"]]

    [case] = wait_until(exported, 30, "the comment in the export")
    assert case["question"] == question["text"] and case["comments"] == [comment]


# ---- start-up -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_index(tmp_path_factory):
    from ingest.pipeline import run_ingest

    root = tmp_path_factory.mktemp("small-index")
    (root / "corpus").mkdir()
    (root / "corpus" / "notes.md").write_text("# Notes\n\nThe place board meets monthly.\n")
    settings = Settings(_env_file=None, corpus_dir=root / "corpus", data_dir=root / "data",
                        embedder="hash", default_visibility="public")
    assert run_ingest(settings, progress=False).ok
    return settings


def start_bot(settings: Settings, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CHROMA_"))}
    return subprocess.run(
        [sys.executable, "-m", "bots.slack"], cwd=settings.data_dir.parent, capture_output=True,
        text=True, timeout=120, env={**clean, "PYTHONPATH": str(REPO), "EMBEDDER": "hash",
                                     "DATA_DIR": str(settings.data_dir), **env})


@pytest.mark.parametrize("case", ["bad bot token", "bad app token", "no network", "no index"])
def test_start_up_failures_are_one_clear_line_and_a_non_zero_exit(stub, small_index, case):
    closed = "http://127.0.0.1:9/api/"  # nothing listens on port 9: as good as no network
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xapp-wrong",
           "SLACK_API_BASE_URL": stub.base_url}
    expected = {"bad bot token": ["SLACK_BOT_TOKEN", "invalid_auth"],
                "bad app token": ["SLACK_APP_TOKEN", "invalid_auth"],
                "no network": ["cannot reach Slack at " + closed, "Connection refused"],
                "no index": ["index is empty", "run `python -m ingest`"]}[case]
    if case == "bad bot token":
        env["SLACK_BOT_TOKEN"] = "xoxb-wrong"
    elif case == "no network":
        env["SLACK_API_BASE_URL"] = closed
    settings = small_index
    if case == "no index":
        settings = small_index.model_copy(update={"data_dir": small_index.data_dir.parent / "none"})
    result = start_bot(settings, **env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bots.slack: cannot start: "), result.stderr
    assert all(part in lines[0] for part in expected), lines[0]


def test_no_token_will_be_unused_warning(stub, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)  # as in production: settings from the env
    settings = Settings(_env_file=None, data_dir=tmp_path, slack_api_base_url=stub.base_url,
                        **{**SLACK_SETTINGS, "slack_signing_secret": None})
    with caplog.at_level(logging.DEBUG):
        build_slack_app(settings, FakeAssistant())
    assert "will be unused" not in caplog.text
