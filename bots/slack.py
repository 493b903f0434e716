"""The Slack bot: `build_slack_app` wires one Bolt App; `python -m bots.slack` runs it over
Socket Mode (HTTP mode mounts the same App on the API, see bots/http.py)."""
from __future__ import annotations

import logging
import sys
import threading
from urllib.error import URLError

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bots.clearance import ConversationClearance
from bots.listeners import register
from bots.listeners.answering import Responder
from bots.store import BotStore
from core.errors import AssistantError
from core.observability import configure_audit, configure_logging
from core.state import state_url
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)


class _TokenGivenTwice(logging.Filter):
    """Bolt re-reads SLACK_BOT_TOKEN from the environment although it is given a client built
    with that same token, then warns that the token "will be unused": true, and only noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_TOKEN_FILTER = _TokenGivenTwice()


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


KINDS = {"app_mention", "message", "block_actions", "url_verification", "app_home_opened"}


def event_kind(body: dict) -> str:
    """A bounded label for a Slack request: the event type, or the interaction type."""
    event = body.get("event")
    kind = event.get("type") if isinstance(event, dict) else body.get("type")
    return kind if kind in KINDS else "other"


def build_slack_app(settings: Settings, assistant, *, store: BotStore | None = None) -> App:
    """A Bolt App answering with `assistant`; checks the bot token with auth.test."""
    if not settings.slack_bot_token:
        raise ValueError("SLACK_BOT_TOKEN is not set")
    logging.getLogger("slack_bolt.App").addFilter(_TOKEN_FILTER)  # a set: adding twice is a no-op
    app = App(
        client=web_client(settings),
        # Empty in Socket Mode: then every HTTP request fails verification, as it should.
        signing_secret=settings.slack_signing_secret or "",
        process_before_response=False,  # ack at once, answer in Bolt's thread pool
    )
    metrics = getattr(assistant, "metrics", None)
    responder = Responder(assistant=assistant, store=store or BotStore(state_url(settings)),
                          clearance=ConversationClearance(settings),
                          pdf_base_url=pdf_base_url(settings), metrics=metrics,
                          auto_channels=frozenset(settings.slack_auto_answer_channels))
    register(app, responder)
    if metrics is not None:
        @app.use
        def count_event(body: dict, next) -> None:  # noqa: A002 (Bolt's name for it)
            metrics.slack_events.labels(event_kind(body)).inc()
            next()

    @app.error
    def on_error(error: Exception, body: dict) -> None:
        log.error("slack request %s failed: %r", body.get("event_id") or body.get("trigger_id"), error)

    return app


def main() -> int:
    """Socket Mode: no public URL needed, only SLACK_APP_TOKEN and SLACK_BOT_TOKEN."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from assistant.service import build_assistant

    settings = get_settings()
    configure_logging(settings)
    configure_audit(settings)
    missing = [name.upper() for name in ("slack_bot_token", "slack_app_token")
               if not getattr(settings, name)]
    if missing:
        print(f"bots.slack: set {' and '.join(missing)} (see docs/slack.md)", file=sys.stderr)
        return 2
    step = "loading the index"
    # Bolt and the SDK log each failed call themselves (and reset their loggers' levels): mute
    # the handlers while starting, so a failed start is reported once, below.
    quiet = logging.getLogger().handlers
    levels = [handler.level for handler in quiet]
    for handler in quiet:
        handler.setLevel(logging.CRITICAL)
    try:
        assistant = build_assistant(settings)
        assistant.readiness()  # no index: say so now, not on the first question
        step = "checking SLACK_BOT_TOKEN (auth.test)"
        app = build_slack_app(settings, assistant)
        step = "opening the Socket Mode connection with SLACK_APP_TOKEN"
        handler = SocketModeHandler(app, settings.slack_app_token)
        handler.connect()
    except Exception as exc:  # one line a person can act on, not a traceback
        print(f"bots.slack: cannot start: {startup_problem(exc, step, settings)}", file=sys.stderr)
        return 1
    finally:
        for handler, level in zip(quiet, levels):
            handler.setLevel(level)
    log.info("Slack bot connected over Socket Mode; answering")
    try:
        threading.Event().wait()  # the client's own threads answer and reconnect
    except KeyboardInterrupt:
        handler.close()
    return 0


def startup_problem(exc: BaseException, step: str, settings: Settings) -> str:
    """What went wrong while `step`, and what to do about it."""
    exc = _root_cause(exc)
    if isinstance(exc, SlackApiError):
        error = exc.response.get("error") if exc.response is not None else exc
        return f"Slack refused the token while {step}: {error} (see docs/slack.md, Troubleshooting)"
    if isinstance(exc, AssistantError):
        return f"{exc} (DATA_DIR={settings.data_dir})"
    reason = getattr(exc, "reason", None) or exc
    if isinstance(exc, (URLError, OSError, ConnectionError)):
        where = settings.slack_api_base_url or WebClient.BASE_URL
        return (f"cannot reach Slack at {where} while {step}: {reason}; check the network, "
                "HTTPS_PROXY and the firewall")
    return f"{type(exc).__name__} while {step}: {exc}"


def _root_cause(exc: BaseException) -> BaseException:
    """The Slack, network or index error under wrappers such as Bolt's BoltError."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (SlackApiError, URLError, AssistantError, OSError)):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc


if __name__ == "__main__":
    sys.exit(main())
