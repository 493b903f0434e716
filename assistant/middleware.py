"""The API's small ASGI middleware and request helpers: docs that load nothing from elsewhere,
JSON as the default body type, and links built from the address the caller used."""
from __future__ import annotations

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.settings import Settings


def not_json(content_type: str | None) -> bool:
    """A Content-Type FastAPI will not parse as JSON (none at all is, see JsonByDefault)."""
    if not content_type:
        return False
    kind = content_type.split(";")[0].strip().lower()
    return not (kind == "application/json" or kind.endswith("+json"))


def base_url(request: Request, settings: Settings) -> str:
    """Links for this caller: the configured public address, else the one the caller used."""
    if "public_base_url" in settings.model_fields_set and settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    return str(request.base_url).rstrip("/")


class DocsStayLocal:
    """/docs and /redoc may load nothing from elsewhere: the packaged Swagger UI and ReDoc
    still name a CDN logo and an online validator, which this policy stops the browser fetching."""

    PATHS = {"/docs", "/redoc"}
    POLICY = (b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
              b"script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.PATHS:
            return await self.app(scope, receive, send)

        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      (b"content-security-policy", self.POLICY)]
            await send(message)

        await self.app(scope, receive, with_policy)


class JsonByDefault:
    """A POST sent with no Content-Type at all (scripts, `curl --data-binary`) is read as JSON."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["method"] == "POST"
                and not any(name == b"content-type" for name, _ in scope["headers"])):
            scope = {**scope, "headers": [*scope["headers"], (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)
