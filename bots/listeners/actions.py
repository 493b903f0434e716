""""Helpful / Not helpful" button clicks -> a recorded vote and a quiet thank-you."""
from __future__ import annotations

import logging
import re

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bots.blocks import VOTES
from bots.store import BotStore

log = logging.getLogger(__name__)


def register(app: App, store: BotStore) -> None:
    @app.action(re.compile("^(" + "|".join(VOTES) + ")$"))
    def on_feedback(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        action_ts = action.get("action_ts")
        try:
            user = body["user"]["id"]
            channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
            vote = VOTES[action["action_id"]]
            if not store.record_feedback(action.get("value", ""), vote=vote, user=user,
                                         channel=channel):
                log.warning("slack action %s: feedback for unknown answer %r ignored",
                            action_ts, action.get("value"))
                return
            message = body.get("message") or {}
            client.chat_postEphemeral(channel=channel, user=user,
                                      thread_ts=message.get("thread_ts") or message.get("ts"),
                                      text="Thanks, your feedback is recorded.")
        except Exception:
            log.exception("slack action %s: recording feedback failed", action_ts)
