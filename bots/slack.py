"""The Slack bot: `build_slack_app` wires one Bolt App; `python -m bots.slack` runs it over
Socket Mode (HTTP mode mounts the same App on the API, see bots/http.py)."""
from __future__ import annotations

import logging
import sys

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bots.clearance import ConversationClearance
from bots.listeners import register
from bots.listeners.answering import Responder
from bots.store import BotStore
from core.state import state_url
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)


def web_client(settings: Settings) -> WebClient:
    """The Web API client: settings' base URL (a stand-in in tests), rate limits retried."""
    base_url = settings.slack_api_base_url or WebClient.BASE_URL
    return WebClient(
        token=settings.slack_bot_token,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1),
                        RateLimitErrorRetryHandler(max_retry_count=3)],
    )


def pdf_base_url(settings: Settings) -> str | None:
    """The API address for source links, only if one was configured (the default is a
    loopback address no Slack user can open)."""
    if "public_base_url" in settings.model_fields_set and settings.public_base_url:
        return settings.public_base_url
    return None


def build_slack_app(settings: Settings, assistant, *, store: BotStore | None = None) -> App:
    """A Bolt App answering with `assistant`; checks the bot token with auth.test."""
    if not settings.slack_bot_token:
        raise ValueError("SLACK_BOT_TOKEN is not set")
    app = App(
        client=web_client(settings),
        # Empty in Socket Mode: then every HTTP request fails verification, as it should.
        signing_secret=settings.slack_signing_secret or "",
        process_before_response=False,  # ack at once, answer in Bolt's thread pool
    )
    responder = Responder(assistant=assistant, store=store or BotStore(state_url(settings)),
                          clearance=ConversationClearance(settings),
                          pdf_base_url=pdf_base_url(settings))
    register(app, responder)

    @app.error
    def on_error(error: Exception, body: dict) -> None:
        log.error("slack request %s failed: %r", body.get("event_id") or body.get("trigger_id"), error)

    return app


def main() -> int:
    """Socket Mode: no public URL needed, only SLACK_APP_TOKEN and SLACK_BOT_TOKEN."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from assistant.service import build_assistant

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    missing = [name.upper() for name in ("slack_bot_token", "slack_app_token")
               if not getattr(settings, name)]
    if missing:
        print(f"bots.slack: set {' and '.join(missing)} (see docs/slack.md)", file=sys.stderr)
        return 2
    app = build_slack_app(settings, build_assistant(settings))
    log.info("Slack bot connecting over Socket Mode")
    SocketModeHandler(app, settings.slack_app_token).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
