"""HTTP mode: POST /slack/events on the API's FastAPI app, for the same Bolt App."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi import SlackRequestHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool

from bots.slack import build_slack_app
from core.settings import Settings

log = logging.getLogger(__name__)
MAX_AGE_S = 5 * 60  # Slack's replay window


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status)


def signed(secret: str, body: bytes, headers) -> bool:
    """Slack's v0 signature over the raw body, within five minutes; False (never an
    exception) for a missing or malformed timestamp or signature."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12
            and signature.isascii()):
        return False
    if abs(time.time() - int(timestamp)) > MAX_AGE_S:
        return False
    # over the bytes as sent (slack_sdk's verifier decodes them first, and fails on non-UTF-8)
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return hmac.compare_digest(f"v0={digest.hexdigest()}", signature)


def payload_of(body: bytes, content_type: str | None) -> dict | None:
    """The request's payload as Bolt will read it (JSON, or a form with a JSON `payload`),
    or None when it is not a JSON object: Bolt assumes one and would crash."""
    try:
        text = body.decode("utf-8")
        if content_type == "application/json" or text.startswith("{"):
            payload: Any = json.loads(text)
        else:
            form = dict(parse_qsl(text, keep_blank_values=True))
            payload = json.loads(form["payload"]) if "payload" in form else form
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


class ThreadedSlackRequestHandler(SlackRequestHandler):
    """Bolt's FastAPI adapter with the (synchronous) dispatch moved off the event loop, so
    signature checks, the first auth.test and button acks never stall other API requests.
    The signature is checked on the raw body before anything parses it, so unsigned junk
    costs a hash and a 401, never a parse error in the log."""

    def __init__(self, app, signing_secret: str) -> None:
        super().__init__(app)
        self.signing_secret = signing_secret

    async def handle(self, req: Request,
                     addition_context_properties: dict[str, Any] | None = None) -> Response:
        body = await req.body()
        if not signed(self.signing_secret, body, req.headers):
            return _error(401, "unauthorized", "missing, stale or invalid Slack signature")
        content_type = req.headers.get("content-type", "").split(";")[0].strip() or None
        if payload_of(body, content_type) is None:
            log.warning("signed Slack request with a body that is not a JSON object: ignored")
            return _error(400, "bad_json", "a Slack request body must be a JSON object")
        try:
            bolt_request = to_bolt_request(req, body, addition_context_properties)
            response = await run_in_threadpool(self.app.dispatch, bolt_request)
        except Exception:  # a signed but malformed payload (Bolt trusts its shape)
            log.exception("signed Slack request could not be dispatched")
            return _error(400, "bad_request", "the Slack payload has an unexpected shape")
        return to_starlette_response(response)


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
    handler = ThreadedSlackRequestHandler(app, settings.slack_signing_secret)
    router = APIRouter(tags=["slack"])

    @router.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    return router
