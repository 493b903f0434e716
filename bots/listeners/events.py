"""app_mention, message (DMs and auto-answer channels) and app_home_opened events."""
from __future__ import annotations

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bots.listeners.answering import Responder


def register(app: App, responder: Responder) -> None:
    @app.event("app_mention")
    def on_mention(body: dict, client: WebClient, context: BoltContext) -> None:
        # Bolt has acknowledged already (process_before_response=False); this runs in its pool.
        responder.handle_event(body, client, context.bot_user_id, context.bot_id)

    @app.event("message")
    def on_message(body: dict, event: dict, client: WebClient, context: BoltContext) -> None:
        # Every DM is a question. In channels a mention is (app_mention, above), and in the
        # auto-answer channels so is a question without one, or a reply in a thread the bot
        # answered in; the message/app_mention pair of one message is answered once (claim).
        if event.get("channel_type") == "im":
            responder.handle_event(body, client, context.bot_user_id, context.bot_id)
        elif event.get("channel") in responder.auto_channels:
            responder.handle_event(body, client, context.bot_user_id, context.bot_id,
                                   unprompted=True)
