"""FastAPI dependencies: settings, the Assistant, the caller's clearance, and the HTTP-only errors."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, get_args

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from assistant.ratelimit import RateLimiter
from assistant.service import Assistant
from core.errors import AssistantError, IndexNotReady
from core.settings import Clearance, Settings, get_settings

__all__ = [
    "AssistantDep", "Caller", "CallerDep", "SettingsDep", "get_assistant", "get_caller",
    "get_settings", "load_api_keys",
]


class Unauthorized(AssistantError):
    """The API key is missing (and anonymous access is off), malformed or unknown."""

    code = "unauthorized"
    status = 401
    headers = {"WWW-Authenticate": "Bearer"}


class RateLimited(AssistantError):
    """This key (or this address, with bad keys) has made too many requests in the last minute."""

    code = "rate_limited"
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; retry after {retry_after} s")
        self.headers = {"Retry-After": str(retry_after)}


class BadRequest(AssistantError):
    """The request body is not valid JSON."""

    code = "bad_json"
    status = 400


class InvalidRequest(AssistantError):
    """The request body has a missing field, a wrong type or a value out of range."""

    code = "invalid_request"
    status = 422


class BodyTooLarge(AssistantError):
    """The request body is bigger than settings.max_body_bytes."""

    code = "body_too_large"
    status = 413


@dataclass(frozen=True)
class Caller:
    """Who is asking: a key's id (never the key itself) and the clearance it grants."""

    id: str
    clearance: Clearance


def load_api_keys(settings: Settings) -> dict[str, Clearance]:
    """KEY -> clearance from settings.api_keys and settings.api_keys_file; ValueError if malformed."""
    lines: list[tuple[str, str]] = [("API_KEYS", pair) for pair in settings.api_keys]
    if settings.api_keys_file is not None:
        path = Path(settings.api_keys_file)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = line.strip()
            if line and not line.startswith("#"):
                lines.append((f"{path}:{number}", line))
    keys: dict[str, Clearance] = {}
    for where, pair in lines:
        key, sep, clearance = pair.partition("=")
        key, clearance = key.strip(), clearance.strip()
        if not sep or not key or clearance not in get_args(Clearance):
            raise ValueError(f"{where}: expected KEY=public or KEY=confidential")
        keys[key] = clearance  # type: ignore[assignment]
    return keys


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_assistant(request: Request) -> Assistant:
    """The Assistant the lifespan built, or IndexNotReady if it could not be built."""
    assistant = getattr(request.app.state, "assistant", None)
    if assistant is None:
        raise IndexNotReady(getattr(request.app.state, "startup_error", None)
                            or "the assistant is not loaded yet")
    return assistant


AssistantDep = Annotated[Assistant, Depends(get_assistant)]

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key from settings (KEY=CLEARANCE). Without one the caller is anonymous "
                "and gets `public` clearance, unless anonymous access is turned off.",
)


async def get_caller(
    request: Request,
    settings: SettingsDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """Authenticate the Authorization header, then charge the caller's rate limit.

    A client address that keeps sending bad keys is throttled (429) before its next key is
    even compared. The limiters may be the shared state database: that I/O runs in a thread."""
    header = request.headers.get("authorization")
    keys: dict[str, Clearance] = request.app.state.api_keys
    host = request.client.host if request.client else "unknown"
    failures: RateLimiter = request.app.state.auth_limiter
    if header is None and settings.allow_anonymous:
        caller = Caller(id=f"anonymous@{host}", clearance="public")
    else:
        wait = await run_in_threadpool(failures.blocked, host)
        if wait:
            raise RateLimited(wait)
        try:
            caller = _authenticate(header, keys)
        except Unauthorized:
            await run_in_threadpool(failures.charge, host)
            raise
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = await run_in_threadpool(limiter.charge, caller.id)
    if wait:
        raise RateLimited(wait)
    return caller


def _authenticate(header: str | None, keys: dict[str, Clearance]) -> Caller:
    if header is None:
        raise Unauthorized("an API key is required: send 'Authorization: Bearer KEY'")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the Authorization header must be 'Bearer KEY'")
    return _match_key(token, keys)


def _match_key(token: str, keys: dict[str, Clearance]) -> Caller:
    found: Caller | None = None
    for key, clearance in keys.items():
        # compare every key in constant time so timing does not reveal a prefix
        if hmac.compare_digest(token.encode(), key.encode()):
            # an id every replica derives alike (shared rate-limit buckets), never the key
            found = Caller(id="key-" + hashlib.sha256(key.encode()).hexdigest()[:16],
                           clearance=clearance)
    if found is None:
        raise Unauthorized("unknown API key")
    return found


CallerDep = Annotated[Caller, Depends(get_caller)]


async def peek_clearance(request: Request) -> Clearance:
    """The clearance a valid key grants, else `public`; never refuses (load balancers call
    /readyz without a key) and charges no rate limit."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "public"
    try:
        return _match_key(token.strip(), request.app.state.api_keys).clearance
    except Unauthorized:
        return "public"


PeekClearanceDep = Annotated[Clearance, Depends(peek_clearance)]
