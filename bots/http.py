"""HTTP mode: POST /slack/events on the API's FastAPI app, for the same Bolt App."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from slack_bolt.adapter.fastapi import SlackRequestHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool

from bots.slack import build_slack_app
from core.settings import Settings

log = logging.getLogger(__name__)


class ThreadedSlackRequestHandler(SlackRequestHandler):
    """Bolt's FastAPI adapter with the (synchronous) dispatch moved off the event loop, so
    signature checks, the first auth.test and button acks never stall other API requests."""

    async def handle(self, req: Request,
                     addition_context_properties: dict[str, Any] | None = None) -> Response:
        body = await req.body()
        bolt_request = to_bolt_request(req, body, addition_context_properties)
        return to_starlette_response(await run_in_threadpool(self.app.dispatch, bolt_request))


def slack_router(settings: Settings, assistant) -> APIRouter | None:
    """A router with POST /slack/events (events and button clicks), verified with
    SLACK_SIGNING_SECRET; None, with the reason logged, if Slack rejects the bot token, so
    the rest of the API still starts."""
    if not settings.slack_signing_secret:
        raise ValueError("SLACK_SIGNING_SECRET is not set; HTTP mode needs it")
    try:
        app = build_slack_app(settings, assistant)
    except Exception as exc:  # auth.test failed: bad token, or Slack unreachable
        log.error("Slack is off: the bot token could not be checked (auth.test): %s", exc)
        return None
    handler = ThreadedSlackRequestHandler(app)
    router = APIRouter(tags=["slack"])

    @router.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    return router
