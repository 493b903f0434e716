"""The real Bolt app behind POST /slack/events in a uvicorn process, Slack's Web API stood in by
tests/slack_stub.py: signed requests in, recorded Web API calls out."""
from __future__ import annotations

import json
import sqlite3
import threading
import time

import httpx
import pytest

from bots.blocks import APOLOGY, HELPFUL, NOT_HELPFUL, REFUSAL_LEAD
from bots.feedback import export_feedback
from core.settings import Settings
from slack_stub import (
    BOT_ID, BOT_USER, CONF_CHANNEL, CONF_DM, CONFIDENTIAL_DOC, CONFIDENTIAL_TITLE, OTHER_PRIVATE,
    PLAIN_DM, PLAIN_USER, PUBLIC_CHANNEL, SLOW, BotServer, SlackStub, all_text, blocks_of, button_click,
    dm, event_body, mention, new_ts, read_asks, wait_until,
)

pytestmark = pytest.mark.slow

PUBLIC_QUESTION = "What is a place-based partnership?"
CONFIDENTIAL_QUESTION = "What strategic options did Southwark consider for its integrated care system?"
SETTLE = 1.0  # seconds to let anything that should not happen, happen


def _real_assistant_ready(request) -> bool:
    import assistant.service as service

    if not hasattr(service, "build_assistant"):
        return False
    try:
        request.getfixturevalue("indexed_settings")
    except pytest.FixtureLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def stub():
    stub = SlackStub()
    yield stub
    stub.close()


@pytest.fixture(scope="module")
def bot(request, stub, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slack-bot")
    if _real_assistant_ready(request):
        settings, kind = request.getfixturevalue("indexed_settings"), "real"
    else:
        settings, kind = Settings(_env_file=None, data_dir=workdir / "data"), "fake"
    server = BotServer(settings, stub, workdir, assistant=kind).start()
    yield server
    server.stop()


def send(bot: BotServer, event: dict, event_id: str | None = None, **kwargs):
    body = event_body(event, event_id)
    response = bot.post(json.dumps(body).encode(), **kwargs)
    assert response.status_code == 200, response.text
    return body


def ask(bot: BotServer, stub: SlackStub, event: dict):
    """Send one question and wait for the bot to finish with it; its posts in the channel."""
    send(bot, event)
    stub.wait_done(event["channel"], event["ts"])
    return [c for c in stub.posts(event["channel"])
            if c.params.get("thread_ts") == (event.get("thread_ts") or event["ts"])]


def buttons(call) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in blocks_of(call) if b["type"] == "actions"
            for e in b["elements"]}


def last_ask(bot: BotServer, question_part: str) -> dict:
    return [a for a in read_asks(bot.ask_log) if question_part in a["question"]][-1]


def test_mention_gets_exactly_one_threaded_reply_with_sources_and_buttons(bot, stub):
    event = mention(PUBLIC_CHANNEL, PUBLIC_QUESTION)
    [reply] = ask(bot, stub, event)
    assert reply.params["thread_ts"] == event["ts"]
    blocks = blocks_of(reply)
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert any(t.startswith("*Sources*\n[1] ") and ", page " in t for t in texts)
    assert set(buttons(reply)) == {HELPFUL, NOT_HELPFUL}
    assert "[1]" in texts[0]
    # the working reaction went on the question and came off again
    for method in ("reactions.add", "reactions.remove"):
        [call] = stub.of(method, channel=PUBLIC_CHANNEL, timestamp=event["ts"])
        assert call.params["name"] == "hourglass_flowing_sand"
    assert last_ask(bot, PUBLIC_QUESTION)["clearance"] == "public"


def test_acknowledged_at_once_and_answered_after_a_slow_assistant(bot, stub):
    event = mention(PUBLIC_CHANNEL, SLOW + PUBLIC_QUESTION)
    started = time.monotonic()
    send(bot, event)
    assert time.monotonic() - started < 1.5  # Slack gives up (and retries) after 3 s
    assert not stub.posts(PUBLIC_CHANNEL) or all(
        c.params["thread_ts"] != event["ts"] for c in stub.posts(PUBLIC_CHANNEL))
    stub.wait_done(PUBLIC_CHANNEL, event["ts"])
    assert len([c for c in stub.posts(PUBLIC_CHANNEL) if c.params["thread_ts"] == event["ts"]]) == 1


def test_every_dm_is_answered_in_its_thread(bot, stub):
    event = dm(PLAIN_DM, PUBLIC_QUESTION)
    [reply] = ask(bot, stub, event)
    assert reply.params["thread_ts"] == event["ts"]
    assert buttons(reply)


def test_follow_up_mention_is_answered_with_the_threads_history(bot, stub):
    parent = new_ts()
    stub.replies[(PUBLIC_CHANNEL, parent)] = [
        {"ts": parent, "user": PLAIN_USER, "text": f"<@{BOT_USER}> {PUBLIC_QUESTION}"},
        {"ts": parent + "1", "user": BOT_USER, "bot_id": BOT_ID,
         "text": "Place-based partnerships bring organisations together [1]."},
        {"ts": parent + "2", "bot_id": "B0OTHER", "text": "another bot"},
    ]
    event = mention(PUBLIC_CHANNEL, "Who leads them?", thread_ts=parent)
    stub.replies[(PUBLIC_CHANNEL, parent)].append(
        {"ts": event["ts"], "user": PLAIN_USER, "text": event["text"]})
    [reply] = ask(bot, stub, event)
    assert reply.params["thread_ts"] == parent
    assert stub.of("conversations.replies", channel=PUBLIC_CHANNEL, ts=parent)
    assert last_ask(bot, "Who leads them?")["history"] == [
        {"role": "user", "content": PUBLIC_QUESTION},
        {"role": "assistant", "content": "Place-based partnerships bring organisations together [1]."},
    ]


def test_any_reply_in_a_dm_thread_is_a_follow_up(bot, stub):
    parent = new_ts()
    stub.replies[(PLAIN_DM, parent)] = [
        {"ts": parent, "user": PLAIN_USER, "text": PUBLIC_QUESTION},
        {"ts": parent + "1", "user": BOT_USER, "bot_id": BOT_ID, "text": "An answer [1]."},
    ]
    event = dm(PLAIN_DM, "And what about funding?", thread_ts=parent)
    [reply] = ask(bot, stub, event)
    assert reply.params["thread_ts"] == parent
    assert [t["role"] for t in last_ask(bot, "what about funding")["history"]] == ["user", "assistant"]


def test_slack_retry_of_an_event_posts_no_second_answer(bot, stub):
    event = mention(PUBLIC_CHANNEL, "Retried: " + PUBLIC_QUESTION)
    body = send(bot, event)
    send(bot, event, body["event_id"], headers={"X-Slack-Retry-Num": "1",
                                                 "X-Slack-Retry-Reason": "http_timeout"})
    stub.wait_done(PUBLIC_CHANNEL, event["ts"])
    time.sleep(SETTLE)
    send(bot, event, body["event_id"], headers={"X-Slack-Retry-Num": "2",
                                                 "X-Slack-Retry-Reason": "http_timeout"})
    time.sleep(SETTLE)
    assert len([c for c in stub.posts(PUBLIC_CHANNEL) if c.params["thread_ts"] == event["ts"]]) == 1


def test_same_event_id_delivered_twice_at_once_posts_one_answer(bot, stub):
    event = dm(PLAIN_DM, "Twice: " + PUBLIC_QUESTION)
    event_id = "EvTWICE" + event["ts"].replace(".", "")
    threads = [threading.Thread(target=send, args=(bot, event, event_id)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stub.wait_done(PLAIN_DM, event["ts"])
    time.sleep(SETTLE)
    assert len([c for c in stub.posts(PLAIN_DM) if c.params["thread_ts"] == event["ts"]]) == 1


def test_mention_and_message_pair_for_one_message_gets_one_answer(bot, stub):
    as_message = dm(PLAIN_DM, f"<@{BOT_USER}> Pair: {PUBLIC_QUESTION}")
    as_mention = {**mention(PLAIN_DM, "Pair: " + PUBLIC_QUESTION), "ts": as_message["ts"]}
    send(bot, as_mention)
    send(bot, as_message)
    stub.wait_done(PLAIN_DM, as_message["ts"])
    time.sleep(SETTLE)
    assert len([c for c in stub.posts(PLAIN_DM) if c.params["thread_ts"] == as_message["ts"]]) == 1


@pytest.mark.parametrize("how", ["forged signature", "timestamp older than 5 minutes"])
def test_unsigned_or_stale_requests_are_rejected_and_nothing_is_posted(bot, stub, how):
    event = mention(PUBLIC_CHANNEL, "Forged: " + PUBLIC_QUESTION)
    body = json.dumps(event_body(event)).encode()
    if how == "forged signature":
        response = bot.post(body, secret="not-the-signing-secret")
    else:
        response = bot.post(body, timestamp=int(time.time()) - 6 * 60)
    assert response.status_code == 401
    time.sleep(SETTLE)
    assert not stub.of("reactions.add", timestamp=event["ts"])
    assert not [c for c in stub.posts(PUBLIC_CHANNEL) if c.params.get("thread_ts") == event["ts"]]


def test_own_messages_other_bots_edits_and_system_messages_are_ignored(bot, stub):
    ignored = [
        dm(PLAIN_DM, "my own answer", user=BOT_USER, bot_id=BOT_ID),
        dm(PLAIN_DM, "another bot", user="U0BOT2", bot_id="B0OTHER"),
        dm(PLAIN_DM, "bot message", subtype="bot_message", bot_id="B0OTHER"),
        {**dm(PLAIN_DM, ""), "subtype": "message_changed",
         "message": {"user": PLAIN_USER, "text": PUBLIC_QUESTION}},
        {**dm(PLAIN_DM, "joined"), "subtype": "channel_join"},
        {**mention(PUBLIC_CHANNEL, PUBLIC_QUESTION, user="U0BOT2"), "bot_id": "B0OTHER"},
    ]
    for event in ignored:
        send(bot, event)
    time.sleep(SETTLE)
    ts = {e["ts"] for e in ignored}
    assert not [c for c in stub.calls if c.params.get("thread_ts") in ts
                or c.params.get("timestamp") in ts]


def test_confidential_question_in_a_public_channel_gets_no_confidential_content(bot, stub):
    [reply] = ask(bot, stub, mention(PUBLIC_CHANNEL, CONFIDENTIAL_QUESTION))
    text = all_text(reply)
    assert CONFIDENTIAL_DOC not in text
    assert CONFIDENTIAL_TITLE not in text
    assert "Southwark" not in json.dumps([b for b in blocks_of(reply)[1:] if b["type"] != "actions"])
    assert last_ask(bot, CONFIDENTIAL_QUESTION)["clearance"] == "public"


def test_same_confidential_question_in_an_allowed_private_channel_cites_it(bot, stub):
    [reply] = ask(bot, stub, mention(CONF_CHANNEL, CONFIDENTIAL_QUESTION))
    assert CONFIDENTIAL_DOC in all_text(reply)
    assert REFUSAL_LEAD not in all_text(reply)


@pytest.mark.parametrize("channel, expected", [
    (OTHER_PRIVATE, "public"), (CONF_DM, "confidential"), (PLAIN_DM, "public")])
def test_clearance_follows_the_conversation(bot, stub, channel, expected):
    question = f"{CONFIDENTIAL_QUESTION} ({channel})"
    maker = dm if channel.startswith("D") else mention
    user = "U0CONF" if channel == CONF_DM else PLAIN_USER
    [reply] = ask(bot, stub, maker(channel, question, user=user))
    assert last_ask(bot, question)["clearance"] == expected
    assert (CONFIDENTIAL_DOC in all_text(reply)) == (expected == "confidential")


def test_refusal_lists_closest_documents_the_channel_may_see(bot, stub):
    question = "What is the airspeed velocity of an unladen swallow southwark?"
    [reply] = ask(bot, stub, mention(PUBLIC_CHANNEL, question))
    text = all_text(reply)
    if REFUSAL_LEAD in text:
        assert "Closest documents you can see here" in text
        assert CONFIDENTIAL_TITLE not in text


def test_button_click_is_acknowledged_and_recorded(bot, stub, tmp_path):
    event = mention(PUBLIC_CHANNEL, "Feedback: " + PUBLIC_QUESTION)
    [reply] = ask(bot, stub, event)
    answer_id = buttons(reply)[NOT_HELPFUL]
    response = bot.post(button_click(PUBLIC_CHANNEL, "1800000000.999999", event["ts"],
                                     NOT_HELPFUL, answer_id),
                        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    db = bot.settings.bot_db_path

    def vote():
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT vote, user, channel, voted_at FROM feedback "
                                "WHERE answer_id = ?", (answer_id,)).fetchone()

    row = wait_until(vote, 10, "the vote in SQLite")
    assert row[:3] == ("not_helpful", PLAIN_USER, PUBLIC_CHANNEL)
    wait_until(lambda: stub.of("chat.postEphemeral", user=PLAIN_USER, channel=PUBLIC_CHANNEL), 10,
               "the thank-you")
    out = tmp_path / "feedback.jsonl"
    assert export_feedback(db, out) >= 1
    cases = [json.loads(line) for line in out.read_text().splitlines()]
    [case] = [c for c in cases if c["question"].startswith("Feedback: ")]
    assert case["draft"] is True and case["answer_given"]


def test_failure_while_answering_gets_an_apology_in_the_thread_and_a_logged_event_id(bot, stub):
    parent = new_ts()
    stub.fail_next("conversations.replies", 200, {"ok": False, "error": "internal_error"})
    event = mention(PUBLIC_CHANNEL, "Broken: " + PUBLIC_QUESTION, thread_ts=parent)
    body = send(bot, event)
    stub.wait_done(PUBLIC_CHANNEL, event["ts"])
    [reply] = [c for c in stub.posts(PUBLIC_CHANNEL) if c.params["thread_ts"] == parent]
    assert reply.params["text"] == APOLOGY
    wait_until(lambda: f"slack event {body['event_id']}: answering failed" in bot.log(), 5,
               "the logged failure")


def test_rate_limited_post_is_retried_and_answers_once(bot, stub):
    stub.fail_next("chat.postMessage", 429, {"ok": False, "error": "ratelimited"},
                   {"Retry-After": "1"})
    event = dm(PLAIN_DM, "Rate limited: " + PUBLIC_QUESTION)
    send(bot, event)
    stub.wait_done(PLAIN_DM, event["ts"], timeout=60)
    attempts = [c for c in stub.posts(PLAIN_DM) if c.params["thread_ts"] == event["ts"]]
    assert len(attempts) == 2  # the 429, then the answer
    assert APOLOGY not in all_text(attempts[-1])
    assert set(buttons(attempts[-1])) == {HELPFUL, NOT_HELPFUL}


def _json_error(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["error"]["code"]


@pytest.mark.parametrize("body,content_type", [
    (b"{{{{", "application/json"),
    (b"payload=%7B%7B", "application/x-www-form-urlencoded"),
    (b"\xff\xfe\x00", "application/json"),
])
def test_unsigned_junk_is_401_before_any_parsing(bot, body, content_type):
    logged = len(bot.log())
    response = httpx.post(f"{bot.base_url}/slack/events", content=body, timeout=10,
                          headers={"Content-Type": content_type})
    assert _json_error(response, 401) == "unauthorized"
    time.sleep(0.2)
    assert "Error" not in bot.log()[logged:]  # nothing parsed, nothing to log but the access line


@pytest.mark.parametrize("timestamp", ["abc", "", "1e9", "-5", "99999999999999999999",
                                       "١٢٣".encode()])
def test_malformed_timestamps_are_401(bot, timestamp):
    response = httpx.post(f"{bot.base_url}/slack/events", content=b"{}", timeout=10, headers={
        "Content-Type": "application/json", "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + "0" * 64})
    assert _json_error(response, 401) == "unauthorized"


@pytest.mark.parametrize("body,content_type", [
    (b"[]", "application/json"),
    (b'"text"', "application/json"),
    (b"null", "application/json"),
    (b"payload=%5B%5D", "application/x-www-form-urlencoded"),   # payload=[]
    (b"payload=%7B%7B", "application/x-www-form-urlencoded"),   # payload={{
    (b"[" * 5000, "application/json"),
    (b"\xff\xfe\x00", "application/json"),
])
def test_signed_bodies_that_are_not_a_json_object_are_400(bot, stub, body, content_type):
    calls = len(stub.calls)
    assert _json_error(bot.post(body, content_type=content_type), 400) == "bad_json"
    time.sleep(0.2)
    assert len(stub.calls) == calls  # nothing dispatched, nothing posted


def test_signed_object_of_the_wrong_shape_is_a_4xx_not_a_crash(bot):
    for body in ({"type": "event_callback", "event": [], "authorizations": "x"},
                 {"type": "block_actions", "actions": "nope", "user": 5},
                 {"type": "url_verification"}):
        response = bot.post(json.dumps(body).encode())
        assert response.status_code < 500, response.text
