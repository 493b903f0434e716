"""app_mention (channels) and message (DMs) events -> the Responder."""
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
        # Every DM is a question; in channels only mentions are (app_mention, above), so a
        # message event for a channel mention is left to that listener.
        if event.get("channel_type") == "im":
            responder.handle_event(body, client, context.bot_user_id, context.bot_id)
