"""The deployable HTTP app: the assistant's API with the Slack bot's HTTP mode mounted on it.

Run with `uvicorn server:create_app --factory` (`make serve`). This is the one module where
assistant/ and bots/ meet: bots/ builds on assistant/, so assistant/ never imports bots/.
"""
from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, FastAPI

from assistant import api
from assistant.service import Assistant
from bots import http as slack_http
from core.settings import Settings, get_settings


def slack_routes(settings: Settings, assistant: Assistant) -> APIRouter | None:
    """POST /slack/events when Slack's token and signing secret are set, else nothing."""
    if not (settings.slack_signing_secret and settings.slack_bot_token):
        return None
    return slack_http.slack_router(settings, assistant)


def create_app(settings: Settings | None = None,
               build: Callable[[Settings], Assistant] | None = None) -> FastAPI:
    """The API for these settings, with the Slack routes once the Assistant is loaded."""
    return api.create_app(settings or get_settings(), build, routers=[slack_routes])
