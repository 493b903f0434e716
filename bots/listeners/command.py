"""The slash command (an answer only the asker sees) and its "Share in channel" button."""
from __future__ import annotations

import logging

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bots.blocks import SHARE, apology_message, notice_message
from bots.listeners.answering import Responder

log = logging.getLogger(__name__)
COMMAND = "/guidance"  # must match features.slash_commands in bots/slack_manifest.yaml
USAGE = (f"Ask me about the guidance and board papers, e.g. `{COMMAND} What is a place-based "
         "partnership?` Only you see the answer; a button shares it in the channel.")
CANNOT_POST = ("I can't post in this conversation. Invite me first (`/invite @guidance`), or "
               "copy the answer.")


def register(app: App, responder: Responder) -> None:
    @app.command(COMMAND)
    def on_command(ack: Ack, command: dict, client: WebClient, respond: Respond) -> None:
        ack()  # within Slack's 3 s; the answer follows through the response_url
        text, channel, user = (command.get("text") or "").strip(), command["channel_id"], command["user_id"]
        try:
            message = (responder.answer_privately(text, channel, user, client) if text
                       else notice_message(USAGE))
        except Exception:
            log.exception("slack command in %s failed", channel)
            message = apology_message()
        respond(text=message.text, blocks=message.blocks, response_type="ephemeral")

    @app.action(SHARE)
    def on_share(ack: Ack, body: dict, action: dict, client: WebClient, respond: Respond) -> None:
        ack()
        channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
        try:
            responder.share(action.get("value", ""), channel, body["user"]["id"], client)
        except SlackApiError as exc:
            log.warning("slack share in %s refused: %s", channel, exc.response.get("error"))
            respond(text=CANNOT_POST, response_type="ephemeral", replace_original=False)
            return
        except Exception:
            log.exception("slack share in %s failed", channel)
            respond(text=apology_message().text, response_type="ephemeral", replace_original=False)
            return
        respond(delete_original=True)  # the private copy goes; the shared one stays
