"""One question in Slack, start to finish: dedupe, react, clearance, history, answer, reply."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from slack_sdk import WebClient

from bots.blocks import (
    Message, answer_message, apology_message, notice_message, shared_message, with_share_button,
)
from bots.clearance import ConversationClearance
from bots.listeners.thread import (
    Question, history_from_replies, looks_like_question, question_from_event,
)
from bots.store import BotStore
from core.errors import BadQuestion
from core.models import Turn
from core.observability import audit

log = logging.getLogger(__name__)
WORKING_REACTION = "hourglass_flowing_sand"
MAX_THREAD_PAGES = 5


@dataclass
class Responder:
    """Everything a listener needs to answer, built once by `build_slack_app`."""

    assistant: object  # assistant.service.Assistant, or anything with the same `ask`
    store: BotStore
    clearance: ConversationClearance
    pdf_base_url: str | None
    auto_channels: frozenset[str] = frozenset()  # answered without a mention
    metrics: object | None = None  # core.observability.AssistantMetrics, when the assistant has one

    def handle_event(self, body: dict, client: WebClient, bot_user_id: str | None,
                     bot_id: str | None, *, unprompted: bool = False) -> None:
        """Answer the question in an app_mention/message event once; never raises.
        `unprompted`: a message in an auto-answer channel, answered only if it looks like a
        question, or follows up a thread the bot has answered in."""
        event = body.get("event") or {}
        event_id = body.get("event_id")
        question = question_from_event(event, bot_user_id, bot_id)
        if question is None:
            return
        try:
            if unprompted and not self._wanted(question, client, bot_user_id, bot_id):
                return
        except Exception:
            log.exception("slack event %s: could not read the thread, not answering", event_id)
            return
        try:
            if not self.store.claim(event_id, question.channel, question.ts):
                log.info("slack event %s: %s/%s already handled, skipped",
                         event_id, question.channel, question.ts)
                return
        except Exception:
            log.exception("slack event %s: dedupe store failed, not answering", event_id)
            return
        self._react(client, "reactions_add", question, event_id)
        try:
            self._answer(question, client, bot_user_id, bot_id)
        except Exception:
            log.exception("slack event %s: answering failed in %s", event_id, question.channel)
            self._post(client, question, apology_message(), event_id)
        finally:
            self._react(client, "reactions_remove", question, event_id)

    def _answer(self, question: Question, client: WebClient, bot_user_id: str | None,
                bot_id: str | None) -> None:
        clearance = self.clearance.for_channel(client, question.channel)
        history = self._history(client, question, bot_user_id, bot_id) if question.in_thread else []
        try:
            answer = self.assistant.ask(question.text, clearance, history)
        except BadQuestion as exc:
            text = ("Ask me a question about the guidance and board papers, e.g. "
                    "\"What is a place-based partnership?\"" if not question.text
                    else f"Sorry, I can't use that question: {exc}.")
            notice = notice_message(text)
            with self._counted("notice"):
                client.chat_postMessage(channel=question.channel, thread_ts=question.thread_ts,
                                        text=notice.text, blocks=notice.blocks)
            return
        answer_id = uuid.uuid4().hex
        self.store.save_answer(answer_id, channel=question.channel, thread_ts=question.thread_ts,
                               user=question.user, question=question.text, answer=answer,
                               clearance=clearance)
        if clearance == "confidential":
            audit("slack", {"user": question.user or "-", "channel": question.channel}, "ask",
                  [c.doc_id for c in answer.citations])
        message = answer_message(answer, feedback_id=answer_id, pdf_base_url=self.pdf_base_url)
        with self._counted("refusal" if answer.refused else "answer"):
            client.chat_postMessage(channel=question.channel, thread_ts=question.thread_ts,
                                    text=message.text, blocks=message.blocks,
                                    unfurl_links=False, unfurl_media=False)

    @contextmanager
    def _counted(self, kind: str) -> Iterator[None]:
        """Count a post (assistant_slack_posts) by what it was and whether Slack took it."""
        try:
            yield
        except Exception:
            if self.metrics is not None:
                self.metrics.slack_posts.labels(f"{kind}_failed").inc()
            raise
        if self.metrics is not None:
            self.metrics.slack_posts.labels(kind).inc()

    def _wanted(self, question: Question, client: WebClient, bot_user_id: str | None,
                bot_id: str | None) -> bool:
        if not question.in_thread:
            return looks_like_question(question.text)
        history = self._history(client, question, bot_user_id, bot_id)
        return any(turn.role == "assistant" for turn in history)

    def answer_privately(self, text: str, channel: str, user: str, client: WebClient) -> Message:
        """The slash command's answer, for the asker only, with a "Share in channel" button."""
        clearance = self.clearance.for_channel(client, channel)
        try:
            answer = self.assistant.ask(text, clearance, [])
        except BadQuestion as exc:
            return notice_message(f"Sorry, I can't use that question: {exc}.")
        answer_id = uuid.uuid4().hex
        self.store.save_answer(answer_id, channel=channel, thread_ts="", user=user, question=text,
                               answer=answer, clearance=clearance)
        message = answer_message(answer, feedback_id=answer_id, pdf_base_url=self.pdf_base_url)
        return message if answer.refused else with_share_button(message, text)

    def share(self, text: str, channel: str, user: str, client: WebClient) -> None:
        """Post a slash-command answer for everyone. Asked again, with the clearance the
        channel has now, so sharing can never show the channel more than it may see."""
        clearance = self.clearance.for_channel(client, channel)
        answer = self.assistant.ask(text, clearance, [])
        answer_id = uuid.uuid4().hex
        self.store.save_answer(answer_id, channel=channel, thread_ts="", user=user, question=text,
                               answer=answer, clearance=clearance)
        message = shared_message(answer_message(answer, feedback_id=answer_id,
                                                pdf_base_url=self.pdf_base_url), user, text)
        client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks,
                                unfurl_links=False, unfurl_media=False)

    def _history(self, client: WebClient, question: Question, bot_user_id: str | None,
                 bot_id: str | None) -> list[Turn]:
        messages: list[dict] = []
        cursor = None
        for _ in range(MAX_THREAD_PAGES):
            page = client.conversations_replies(channel=question.channel, ts=question.thread_ts,
                                                limit=200, cursor=cursor)
            messages.extend(page.get("messages") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return history_from_replies(messages, before_ts=question.ts,
                                    bot_user_id=bot_user_id, bot_id=bot_id)

    @staticmethod
    def _react(client: WebClient, method: str, question: Question, event_id: str | None) -> None:
        try:
            getattr(client, method)(channel=question.channel, timestamp=question.ts,
                                    name=WORKING_REACTION)
        except Exception as exc:  # the reaction is a courtesy; the answer matters
            log.warning("slack event %s: %s failed: %s", event_id, method, exc)

    def _post(self, client: WebClient, question: Question, message: Message,
              event_id: str | None) -> None:
        try:
            with self._counted("apology"):
                client.chat_postMessage(channel=question.channel, thread_ts=question.thread_ts,
                                        text=message.text, blocks=message.blocks)
        except Exception:
            log.exception("slack event %s: could not post the apology either", event_id)
