"""Slack events and threads -> the question to answer and the turns before it (pure)."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bots.blocks import unescape
from core.models import Turn

# Message subtypes a person produces; everything else (edits, deletions, joins, topic changes,
# bot messages ...) is not a question.
HUMAN_SUBTYPES = {None, "file_share", "thread_broadcast"}
MAX_TURN_CHARS = 8000  # Turn.content's limit
MAX_TURNS = 10
QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how is are was were can could do does did should "
    "would will may must has have tell explain describe list summarise summarize define compare "
    "any".split())


@dataclass(frozen=True)
class Question:
    """A question asked in Slack, and where to answer it."""

    channel: str
    ts: str  # the message itself (for the reaction and dedupe)
    thread_ts: str  # the thread to reply in: the message's thread, or the message
    user: str
    text: str
    in_thread: bool  # a follow-up: earlier turns of the thread are history


def clean_text(text: str, bot_user_id: str | None) -> str:
    """Slack's markup made plain: the bot's mention removed, links and mentions as text."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)
    text = re.sub(r"<([^<>|]+)\|([^<>]*)>", r"\2", text)  # <url|label>, <#C1|name>
    text = re.sub(r"<[@#!]?([^<>]+)>", r"\1", text)  # <url>, <@U1>
    return re.sub(r"[ \t]+", " ", unescape(text)).strip()


def question_from_event(event: dict, bot_user_id: str | None, bot_id: str | None) -> Question | None:
    """The question in an app_mention or message event, or None when the bot should stay quiet:
    its own messages, other bots, edits, deletions and system messages."""
    user = event.get("user")
    if (event.get("subtype") not in HUMAN_SUBTYPES or event.get("hidden") or event.get("edited")
            or event.get("bot_id") or event.get("bot_profile") or not user
            or user == bot_user_id or (bot_id and event.get("bot_id") == bot_id)):
        return None
    channel, ts = event.get("channel"), event.get("ts")
    if not channel or not ts:
        return None
    thread_ts = event.get("thread_ts") or ts
    return Question(channel=channel, ts=ts, thread_ts=thread_ts, user=user,
                    text=clean_text(event.get("text") or "", bot_user_id),
                    in_thread=thread_ts != ts)


def looks_like_question(text: str) -> bool:
    """Worth answering unprompted (auto-answer channels): a question mark, or a first word that
    asks ("what ...", "explain ..."); chatter such as "thanks, all" is left alone."""
    words = text.strip().lower().split()
    return "?" in text or bool(words and words[0].strip(",:;") in QUESTION_WORDS)


def history_from_replies(messages: Iterable[dict], *, before_ts: str, bot_user_id: str | None,
                         bot_id: str | None, max_turns: int = MAX_TURNS) -> list[Turn]:
    """Earlier turns of a thread (conversations.replies), oldest first: the bot's messages are
    the assistant's, people's are the user's; other bots and system messages are left out."""
    turns: list[Turn] = []
    for message in messages:
        if _ts(message.get("ts")) >= _ts(before_ts):
            continue
        mine = (bot_user_id is not None and message.get("user") == bot_user_id) or (
            bot_id is not None and message.get("bot_id") == bot_id)
        if mine:
            role, text = "assistant", unescape(message.get("text") or "").strip()
        elif message.get("bot_id") or message.get("subtype") not in HUMAN_SUBTYPES:
            continue
        else:
            role, text = "user", clean_text(message.get("text") or "", bot_user_id)
        if text:
            turns.append(Turn(role=role, content=text[:MAX_TURN_CHARS]))
    return turns[-max_turns:]


def _ts(value: object) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
