"""The bot's pure pieces: clearance per conversation, questions and history from Slack
messages, the dedupe and feedback store, the feedback export."""
import json

import pytest

from bots.clearance import conversation_clearance
from bots.feedback import export_feedback
from bots.listeners.thread import clean_text, history_from_replies, question_from_event
from bots.store import BotStore
from core.models import Answer, Citation, Turn
from core.settings import Settings

SETTINGS = Settings(_env_file=None, slack_confidential_channels=["G1", "C9"],
                    slack_confidential_users=["U1"])


@pytest.mark.parametrize("conversation, expected", [
    ({"id": "C1", "is_channel": True, "is_private": False}, "public"),
    ({"id": "C9", "is_channel": True, "is_private": False}, "public"),  # listed but public
    ({"id": "G1", "is_channel": True, "is_private": True}, "confidential"),
    ({"id": "G2", "is_channel": True, "is_private": True}, "public"),  # not listed
    ({"id": "G1", "is_private": True, "is_ext_shared": True}, "public"),  # Slack Connect
    ({"id": "D1", "is_im": True, "user": "U1"}, "confidential"),
    ({"id": "D2", "is_im": True, "user": "U2"}, "public"),
    ({"id": "G1", "is_mpim": True, "is_private": True}, "confidential"),
    ({"id": "G3", "is_mpim": True, "is_private": True}, "public"),
    ({}, "public"),
])
def test_clearance_is_public_unless_settings_list_a_private_conversation(conversation, expected):
    assert conversation_clearance(conversation, SETTINGS) == expected


def test_question_text_drops_the_mention_and_slack_markup():
    text = "<@UBOT> what does <https://x.org|the guide> say about <#C1|general> &amp; <@U2>?"
    assert clean_text(text, "UBOT") == "what does the guide say about general & U2?"


def test_question_is_answered_in_the_thread_it_was_asked_in():
    top = question_from_event({"type": "app_mention", "user": "U2", "channel": "C1", "ts": "1.1",
                               "text": "<@UBOT> hi"}, "UBOT", "BBOT")
    assert (top.thread_ts, top.in_thread, top.text) == ("1.1", False, "hi")
    reply = question_from_event({"type": "app_mention", "user": "U2", "channel": "C1", "ts": "1.5",
                                 "thread_ts": "1.1", "text": "more"}, "UBOT", "BBOT")
    assert (reply.thread_ts, reply.in_thread) == ("1.1", True)


@pytest.mark.parametrize("event", [
    {"user": "UBOT", "text": "my own answer"},
    {"bot_id": "B2", "user": "U3", "text": "another bot"},
    {"subtype": "bot_message", "bot_id": "B2", "text": "another bot"},
    {"subtype": "message_changed", "message": {"user": "U2", "text": "edited"}},
    {"subtype": "message_deleted"},
    {"subtype": "channel_join", "user": "U2", "text": "joined"},
    {"user": "U2", "text": "edited", "edited": {"user": "U2", "ts": "2.0"}},
    {"text": "no user"},
])
def test_own_bot_edit_and_system_messages_are_not_questions(event):
    assert question_from_event({"type": "message", "channel": "D1", "ts": "1.1", **event},
                               "UBOT", "BBOT") is None


def test_history_is_the_threads_earlier_turns_oldest_first():
    messages = [
        {"ts": "1.0", "user": "U2", "text": "<@UBOT> what is a place?"},
        {"ts": "1.1", "user": "UBOT", "bot_id": "BBOT", "text": "A place is &lt;30k people [1]."},
        {"ts": "1.2", "bot_id": "B9", "text": "other bot noise"},
        {"ts": "1.3", "subtype": "channel_join", "user": "U3", "text": "joined"},
        {"ts": "1.4", "user": "U2", "text": "<@UBOT> and who leads it?"},
        {"ts": "1.5", "user": "U2", "text": "later message"},
    ]
    assert history_from_replies(messages, before_ts="1.4", bot_user_id="UBOT", bot_id="BBOT") == [
        Turn(role="user", content="what is a place?"),
        Turn(role="assistant", content="A place is <30k people [1]."),
    ]


def test_store_claims_each_event_and_each_message_once(tmp_path):
    store = BotStore(tmp_path / "bot.sqlite")
    assert store.claim("Ev1", "C1", "1.1") is True
    assert store.claim("Ev1", "C1", "1.1") is False  # retry / redelivery
    assert store.claim("Ev2", "C1", "1.1") is False  # the app_mention/message twin
    assert store.claim("Ev3", "C1", "1.2") is True
    assert BotStore(tmp_path / "bot.sqlite").claim("Ev3", "C1", "1.2") is False  # persistent


def test_feedback_is_recorded_with_question_answer_and_citations(tmp_path):
    store = BotStore(tmp_path / "bot.sqlite")
    answer = Answer(answer="A [1].", citations=[Citation(n=1, doc_id="d", title="T", page=2,
                                                         section="S", quote="q")])
    store.save_answer("a1", channel="C1", thread_ts="1.1", user="U2", question="Q?",
                      answer=answer, clearance="public")
    assert store.record_feedback("a1", vote="helpful", user="U2", channel="C1")
    assert store.record_feedback("a1", vote="not_helpful", user="U2", channel="C1")  # changed mind
    assert not store.record_feedback("a1", vote="helpful", user="U3", channel="C2")  # elsewhere
    assert not store.record_feedback("nope", vote="helpful", user="U2", channel="C1")
    [row] = store.feedback()
    assert (row.question, row.answer, row.vote, row.user, row.channel) == (
        "Q?", "A [1].", "not_helpful", "U2", "C1")
    assert row.citations == [{"n": 1, "doc_id": "d", "title": "T", "page": 2, "section": "S",
                              "quote": "q"}]
    assert row.voted_at > 0


def test_not_helpful_answers_become_draft_eval_cases(tmp_path):
    db = tmp_path / "bot.sqlite"
    store = BotStore(db)
    for n, vote in enumerate(["not_helpful", "helpful", "not_helpful"]):
        store.save_answer(f"id{n}", channel="C1", thread_ts="1", user="U2", question=f"Q{n}?",
                          answer=Answer(answer=f"A{n}"), clearance="public")
        store.record_feedback(f"id{n}", vote=vote, user="U2", channel="C1")
        store.record_feedback(f"id{n}", vote=vote, user="U3", channel="C1")
    out = tmp_path / "out" / "feedback.jsonl"
    assert export_feedback(db, out) == 2
    cases = [json.loads(line) for line in out.read_text().splitlines()]
    assert cases == [
        {"id": "slack-id0", "question": "Q0?", "answerable": True, "doc": None, "pages": [],
         "key_facts": [], "quote": None, "kind": "fact", "draft": True, "answer_given": "A0",
         "comments": []},
        {"id": "slack-id2", "question": "Q2?", "answerable": True, "doc": None, "pages": [],
         "key_facts": [], "quote": None, "kind": "fact", "draft": True, "answer_given": "A2",
         "comments": []},
    ]


def test_a_not_helpful_comment_is_kept_and_exported_with_the_vote(tmp_path):
    db = tmp_path / "bot.sqlite"
    store = BotStore(db)
    store.save_answer("a1", channel="C1", thread_ts="1", user="U2", question="Q?",
                      answer=Answer(answer="A."), clearance="public")
    assert store.record_feedback("a1", vote="not_helpful", user="U2", channel="C1")
    assert store.record_feedback("a1", vote="not_helpful", user="U2", channel="C1",
                                 comment="It should cite the 2022 board paper.")
    assert store.record_feedback("a1", vote="not_helpful", user="U2", channel="C1")  # kept
    assert store.record_feedback("a1", vote="not_helpful", user="U3", channel="C1",
                                 comment="Wrong page.")
    assert [(r.user, r.comment) for r in store.feedback()] == [
        ("U2", "It should cite the 2022 board paper."), ("U3", "Wrong page.")]
    out = tmp_path / "feedback.jsonl"
    assert export_feedback(db, out) == 1
    [case] = [json.loads(line) for line in out.read_text().splitlines()]
    assert case["comments"] == ["It should cite the 2022 board paper.", "Wrong page."]


OLD_SCHEMA = """
CREATE TABLE seen (key TEXT PRIMARY KEY, seen_at REAL NOT NULL);
CREATE TABLE answers (
    id TEXT PRIMARY KEY, channel TEXT NOT NULL, thread_ts TEXT NOT NULL, user TEXT NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, citations TEXT NOT NULL,
    refused INTEGER NOT NULL, clearance TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE feedback (
    answer_id TEXT NOT NULL REFERENCES answers (id), user TEXT NOT NULL, vote TEXT NOT NULL,
    channel TEXT NOT NULL, voted_at REAL NOT NULL, PRIMARY KEY (answer_id, user));
"""  # the feedback table as it was before comments


def test_an_old_feedback_table_gains_the_comment_column(tmp_path):
    import sqlite3

    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as old:
        old.executescript(OLD_SCHEMA)
    BotStore(db)
    with sqlite3.connect(db) as opened:
        assert "comment" in {r[1] for r in opened.execute("PRAGMA table_info(feedback)")}


@pytest.mark.parametrize("text, asks", [
    ("What is a place-based partnership", True), ("explain the ICS footprint", True),
    ("budget for 2023?", True), ("thanks all, see you tomorrow", False), ("", False),
    ("Lunch at one", False),
])
def test_only_questions_are_answered_unprompted(text, asks):
    from bots.listeners.thread import looks_like_question

    assert looks_like_question(text) is asks


def test_share_button_joins_the_feedback_buttons_and_carries_the_question():
    from bots.blocks import SHARE, answer_message, with_share_button

    message = answer_message(Answer(answer="Places matter [1].", citations=[
        Citation(n=1, doc_id="d", title="T", page=2, section="S", quote="q")]),
        feedback_id="a1", pdf_base_url=None)
    shared = with_share_button(message, "Why do places matter?")
    [actions] = [b for b in shared.blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [
        SHARE, "feedback_helpful", "feedback_not_helpful"]
    assert actions["elements"][0]["value"] == "Why do places matter?"
    assert with_share_button(message, "x" * 2001) == message  # too long for a button value
    assert message.blocks[-1]["elements"][0]["action_id"] == "feedback_helpful"  # not mutated


def test_home_view_lists_extra_documents_only_for_the_cleared():
    from bots.blocks import home_view
    from core.models import Document

    public = [Document("p", "Public & open", organisation="NHS", date="2021-09-02")]
    secret = Document("s", "Secret options", visibility="confidential")
    plain = home_view(command="/guidance", public_docs=public, dm_docs=public, mention="@g")
    cleared = home_view(command="/guidance", public_docs=public, dm_docs=[*public, secret],
                        mention="@g")
    assert "Public &amp; open (NHS, 2021-09-02)" in json.dumps(plain)
    assert "Secret options" not in json.dumps(plain) and "Secret options" in json.dumps(cleared)
    assert len(cleared["blocks"]) <= 100
