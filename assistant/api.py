"""The HTTP API: parse, authorise, call the Assistant, serialise. Run with
`uvicorn assistant.api:create_app --factory`."""
from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.deps import (
    AssistantDep, BadRequest, BodyTooLarge, CallerDep, InvalidRequest, PeekClearanceDep, SettingsDep,
    get_settings, load_api_keys,
)
from assistant.ratelimit import RateLimiter
from assistant.service import Assistant, StreamEvent, validate_question
from core.errors import AssistantError
from core.models import Answer, Turn
from core.settings import Settings

log = logging.getLogger(__name__)
STATIC = resources.files("assistant") / "static"


# ---- request and response bodies -------------------------------------------------------------

class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `bad_question`.",
                      examples=["bad_question"])
    message: str = Field(description="What is wrong, for a person to read.")


class ErrorBody(BaseModel):
    """Every error response has this shape."""

    error: ErrorDetail


class AskRequest(BaseModel):
    question: str = Field(description="The question: 1 to 2,000 characters (settings."
                          "max_question_chars) after trimming whitespace.",
                          examples=["What is a place-based partnership?"])
    history: list[Turn] = Field(default_factory=list, max_length=20,
                                description="Earlier turns of this conversation, oldest first.")
    stream: bool = Field(False, strict=True, description="If true, answer as Server-Sent Events "
                         "(`delta` events, then one `final` event) like `/v1/ask/stream`.")


class SearchRequest(BaseModel):
    query: str = Field(description="Search text: 1 to 2,000 characters after trimming.",
                       examples=["place partnership lead"])
    top_k: int = Field(8, ge=1, le=50, strict=True, description="How many passages to return.")
    mode: Literal["hybrid", "dense", "keyword"] = Field(
        "hybrid", description="Retriever: both fused (default), vectors only, or BM25 only.")


class SearchResult(BaseModel):
    doc_id: str
    title: str
    page: int = Field(description="1-based PDF page the passage starts on.")
    page_end: int = Field(description="1-based PDF page the passage ends on (>= page).")
    section: str = Field(description="Heading path of the passage's (first) section.")
    text: str
    score: float = Field(description="Ranking score; higher is better, comparable within a call.")


class SearchResponse(BaseModel):
    results: list[SearchResult]


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    organisation: str
    date: str = Field(description="ISO date of the document, as in the manifest.")
    doc_type: str = Field(examples=["guidance", "board_paper"])
    visibility: str = Field(description="`public` or `confidential`.")
    source_url: str = Field(description="Where the document was published, if known.")
    pdf_url: str = Field(description="This API's link to the PDF; append `#page=N` for a page.")


class DocumentsResponse(BaseModel):
    documents: list[DocumentOut]


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Ready(BaseModel):
    status: str = Field(examples=["ready"])
    generation: dict[str, Any] = Field(description="`store`: the store's generation "
                                       "(layout/number); `built`: the one this replica's keyword "
                                       "index was built from; `behind`: whether they differ.")
    counts: dict[str, int] | None = Field(None, description="Documents and chunks served; only "
                                          "for a caller with confidential clearance.")


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    reasons = {400: "Body is not valid JSON", 401: "Missing, malformed or unknown API key",
               404: "No such document, or not visible to this caller",
               413: "Body larger than settings.max_body_bytes (64 KB)",
               422: "Missing field, wrong type, value out of range, or unusable question",
               429: "Rate limit exceeded; see Retry-After", 503: "Index not loaded"}
    return {status: {"model": ErrorBody, "description": reasons[status]} for status in statuses}


AUTHED = (401, 429, 503)
WITH_BODY = (400, 413, 422) + AUTHED
SSE_DOC = {"text/event-stream": {"schema": {
    "type": "object", "required": ["event", "data"],
    "description": "One Server-Sent Event. `delta` events, repeated, then one `final` event, "
                   "or an `error` event if the answer fails part-way.",
    "properties": {
        "event": {"type": "string", "enum": ["delta", "final", "error"]},
        "data": {"type": "string", "description": "JSON: {\"text\": ...} for `delta`, the "
                 "Answer for `final`, an ErrorBody for `error`."}}}}}


# ---- errors -----------------------------------------------------------------------------------

def error_response(code: str, message: str, status: int,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers)


def _error_of(exc: AssistantError) -> dict[str, dict[str, str]]:
    message = str(exc) or (type(exc).__doc__ or exc.code).strip()
    return {"error": {"code": exc.code, "message": message}}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AssistantError)
    async def assistant_error(_: Request, exc: AssistantError) -> JSONResponse:
        return JSONResponse(_error_of(exc), exc.status, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return await assistant_error(request, BadRequest("request body is not valid JSON"))
        parts = [".".join(str(p) for p in e.get("loc", ()) if p != "body") + ": " + e.get("msg", "")
                 for e in errors[:5]]
        return await assistant_error(request, InvalidRequest("; ".join(parts)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(code, str(exc.detail), exc.status_code, exc.headers)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response("internal_error", "internal error; see the server log", 500)


class BodyLimit:
    """Refuse request bodies over `max_bytes` with 413 before any route reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        too_large = error_response(BodyTooLarge.code, f"request body is over "
                                   f"{self.max_bytes} bytes", BodyTooLarge.status)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.max_bytes:
            return await too_large(scope, receive, send)
        body, more = bytearray(), True  # buffer (at most max_bytes) so chunked bodies count too
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                return await too_large(scope, receive, send)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


# ---- the app ----------------------------------------------------------------------------------

def create_app(settings: Settings | None = None,
               build: Callable[[Settings], Assistant] | None = None) -> FastAPI:
    """The API for these settings; the lifespan builds the Assistant once with `build`."""
    settings = settings or get_settings()
    if build is None:
        from assistant.service import build_assistant as build  # type: ignore[attr-defined]

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.assistant = None
        await run_in_threadpool(_share_rate_limits, app, settings)
        try:
            app.state.assistant = await run_in_threadpool(build, settings)
        except AssistantError as exc:
            log.error("assistant not loaded, /v1 will answer 503: %s", exc)
            app.state.startup_error = str(exc)
        else:
            app.state.assistant.start()  # keyword index built in the background; 503 meanwhile
            _include_slack(app, settings, app.state.assistant)
        yield

    app = FastAPI(
        title="Guidance assistant API", version="1", lifespan=lifespan,
        description="Cited answers from NHS and local-government guidance and board papers. "
                    "Send `Authorization: Bearer KEY`; without a key you get public documents.",
    )
    async def current_settings() -> Settings:  # async: no worker-thread hop per request
        return settings

    app.dependency_overrides[get_settings] = current_settings
    app.state.api_keys = load_api_keys(settings)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.auth_limiter = RateLimiter(settings.auth_failures_per_minute)
    if settings.forwarded_allow_ips:  # the client address from X-Forwarded-For of these proxies only
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    _install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                       allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"],
                       expose_headers=["Retry-After"], max_age=600)
    _add_routes(app)
    return app


def _share_rate_limits(app: FastAPI, settings: Settings) -> None:
    """Charge the buckets in the shared state database (STATE_URL), so N replicas hold one
    limit; if it cannot be opened, each process keeps its own and says so."""
    from core.state import StateDB, state_url

    try:
        state = StateDB(state_url(settings))
    except Exception as exc:  # noqa: BLE001 - serving beats refusing; the log says why
        log.error("state database unavailable (%s); rate limits are per process", exc)
        return
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute, state=state, prefix="key:")
    app.state.auth_limiter = RateLimiter(settings.auth_failures_per_minute, state=state,
                                         prefix="authfail:")


def _include_slack(app: FastAPI, settings: Settings, assistant: Assistant) -> None:
    if not (settings.slack_signing_secret and settings.slack_bot_token):
        return
    try:
        from bots.http import slack_router
    except ModuleNotFoundError as exc:
        log.warning("Slack is configured but bots.http is missing (%s); /slack/events is off", exc)
        return
    router = slack_router(settings, assistant)
    if router is not None:
        app.include_router(router)


def _sse(events: Iterator[StreamEvent]) -> Iterator[dict[str, str]]:
    try:
        for event in events:
            if event.kind == "delta":
                yield {"event": "delta", "data": json.dumps({"text": event.text})}
            elif event.answer is not None:
                yield {"event": "final", "data": event.answer.model_dump_json()}
    except AssistantError as exc:
        yield {"event": "error", "data": json.dumps(_error_of(exc))}
    except Exception:  # the status line is sent already: report in-band and log
        log.exception("stream failed")
        yield {"event": "error", "data": json.dumps(
            {"error": {"code": "internal_error", "message": "internal error; see the server log"}})}


def _stream(assistant: Assistant, settings: Settings, caller, body: AskRequest) -> Response:
    question = validate_question(body.question, settings)  # fail before the 200 is sent
    events = assistant.ask_stream(question, caller.clearance, history=body.history)
    first = next(events, None)  # retrieval happens here, so its errors get a proper status too
    prefix = [first] if first is not None else []
    return EventSourceResponse(_sse(itertools.chain(prefix, events)),
                               headers={"X-Accel-Buffering": "no"})


def _add_routes(app: FastAPI) -> None:
    @app.post("/v1/ask", response_model=Answer, tags=["answers"], responses={
        **_errors(*WITH_BODY), 200: {"content": SSE_DOC}})
    def ask(body: AskRequest, caller: CallerDep, assistant: AssistantDep,
            settings: SettingsDep) -> Any:
        """A cited answer (or a refusal) from the documents the caller may see."""
        if body.stream:
            return _stream(assistant, settings, caller, body)
        return assistant.ask(body.question, caller.clearance, history=body.history)

    @app.post("/v1/ask/stream", tags=["answers"], response_class=EventSourceResponse,
              responses={**_errors(*WITH_BODY), 200: {"content": SSE_DOC}})
    def ask_stream(body: AskRequest, caller: CallerDep, assistant: AssistantDep,
                   settings: SettingsDep) -> Response:
        """The same answer as Server-Sent Events: `delta`s, then `final` (or `error`)."""
        return _stream(assistant, settings, caller, body)

    @app.post("/v1/search", response_model=SearchResponse, tags=["search"],
              responses=_errors(*WITH_BODY))
    def search(body: SearchRequest, caller: CallerDep, assistant: AssistantDep) -> SearchResponse:
        """Ranked passages the caller may see, without composing an answer."""
        hits = assistant.search(body.query, caller.clearance, top_k=body.top_k, mode=body.mode)
        return SearchResponse(results=[SearchResult(
            doc_id=h.chunk.doc_id, title=h.chunk.title, page=h.chunk.page_start,
            page_end=h.chunk.page_end, section=h.chunk.section, text=h.chunk.text, score=h.score) for h in hits])

    @app.get("/v1/documents", response_model=DocumentsResponse, tags=["documents"],
             responses=_errors(*AUTHED))
    def documents(caller: CallerDep, assistant: AssistantDep,
                  settings: SettingsDep) -> DocumentsResponse:
        """The documents the caller may see."""
        base = settings.public_base_url.rstrip("/")
        return DocumentsResponse(documents=[DocumentOut(
            doc_id=d.doc_id, title=d.title, organisation=d.organisation, date=d.date,
            doc_type=d.doc_type, visibility=d.visibility, source_url=d.source_url,
            pdf_url=f"{base}/v1/documents/{d.doc_id}/pdf") for d in assistant.documents(
                caller.clearance)])

    @app.get("/v1/documents/{doc_id}/pdf", response_class=FileResponse, tags=["documents"],
             responses={**_errors(404, *AUTHED), 200: {"content": {"application/pdf": {}}}})
    def document_pdf(doc_id: str, caller: CallerDep, assistant: AssistantDep) -> Response:
        """The document's PDF (link to `#page=N`); 404 if the caller may not see it."""
        data = assistant.pdf(doc_id, caller.clearance)
        return Response(data, media_type="application/pdf", headers={
            "Content-Disposition": f'inline; filename="{doc_id}.pdf"'})

    @app.get("/healthz", response_model=Health, tags=["ops"])
    async def healthz() -> Health:
        """The process is up."""
        return Health(status="ok")

    @app.get("/readyz", response_model=Ready, response_model_exclude_none=True, tags=["ops"], responses=_errors(503))
    def readyz(assistant: AssistantDep, clearance: PeekClearanceDep) -> Ready:
        """The store answers and holds documents; which generation this replica serves.
        503 names the command that fixes it. Counts only for confidential clearance."""
        state = assistant.readiness()
        return Ready(status="ready", generation=state["generation"],
                     counts=state["counts"] if clearance == "confidential" else None)

    @app.get("/", include_in_schema=False)
    def demo() -> Response:
        return Response((STATIC / "index.html").read_bytes(), media_type="text/html")

    @app.get("/widget.js", include_in_schema=False)
    def widget() -> Response:
        return Response((STATIC / "widget.js").read_bytes(), media_type="text/javascript",
                        headers={"Cache-Control": "max-age=300"})
