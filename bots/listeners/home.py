"""The App Home tab: what the bot answers, which documents this person may ask about, feedback."""
from __future__ import annotations

import logging

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bots.blocks import home_view
from bots.listeners.answering import Responder
from bots.listeners.command import COMMAND

log = logging.getLogger(__name__)


def register(app: App, responder: Responder) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict, client: WebClient, context: BoltContext) -> None:
        if event.get("tab") != "home":
            return  # the Messages tab: nothing to draw
        user = event["user"]
        try:
            public = responder.assistant.documents("public")
            in_dm = responder.assistant.documents(responder.clearance.for_dm_with(user))
            mention = f"<@{context.bot_user_id}>" if context.bot_user_id else "@guidance"
            client.views_publish(user_id=user, view=home_view(
                command=COMMAND, public_docs=public, dm_docs=in_dm, mention=mention))
        except Exception:
            log.exception("slack home tab for %s failed", user)
