""""Helpful / Not helpful" clicks -> a recorded vote; "Not helpful" opens a comment modal."""
from __future__ import annotations

import json
import logging
import re

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bots.blocks import COMMENT_BLOCK, COMMENT_INPUT, COMMENT_VIEW, NOT_HELPFUL, VOTES, comment_modal
from bots.store import BotStore

log = logging.getLogger(__name__)
THANKS = "Thanks, your feedback is recorded."


def register(app: App, store: BotStore) -> None:
    @app.action(re.compile("^(" + "|".join(VOTES) + ")$"))
    def on_feedback(ack: Ack, body: dict, action: dict, client: WebClient, respond: Respond) -> None:
        ack()
        action_ts = action.get("action_ts")
        try:
            user = body["user"]["id"]
            channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
            vote = VOTES[action["action_id"]]
            answer_id = action.get("value", "")
            if not store.record_feedback(answer_id, vote=vote, user=user, channel=channel):
                log.warning("slack action %s: feedback for unknown answer %r ignored",
                            action_ts, answer_id)
                return
            message = body.get("message") or {}
            thread_ts = message.get("thread_ts") or message.get("ts")
            if action["action_id"] == NOT_HELPFUL and body.get("trigger_id"):
                # the trigger expires in 3 s: open the comment form before anything else
                meta = json.dumps({"answer_id": answer_id, "channel": channel})
                client.views_open(trigger_id=body["trigger_id"], view=comment_modal(meta))
            if message:
                client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts,
                                          text=THANKS)
            else:  # a vote on an ephemeral (slash command) answer: no message to thread on
                respond(text=THANKS, response_type="ephemeral", replace_original=False)
        except Exception:
            log.exception("slack action %s: recording feedback failed", action_ts)

    @app.view(COMMENT_VIEW)
    def on_comment(ack: Ack, body: dict, view: dict) -> None:
        ack()  # closes the modal
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            user = body["user"]["id"]
            value = ((view.get("state") or {}).get("values") or {}).get(COMMENT_BLOCK, {})
            comment = ((value.get(COMMENT_INPUT) or {}).get("value") or "").strip() or None
            if not store.record_feedback(meta["answer_id"], vote=VOTES[NOT_HELPFUL], user=user,
                                         channel=meta["channel"], comment=comment):
                log.warning("slack comment for unknown answer %r ignored", meta.get("answer_id"))
        except Exception:
            log.exception("slack comment from %s failed", (body.get("user") or {}).get("id"))
