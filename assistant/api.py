"""The HTTP API: parse, authorise, call the Assistant, serialise. Served, with the Slack bot's
HTTP mode mounted on it, by `uvicorn server:create_app --factory` (server.py)."""
from __future__ import annotations

import itertools
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.deps import (
    AssistantDep, BadRequest, BodyTooLarge, CallerDep, InvalidRequest, PeekClearanceDep, SettingsDep,
    get_settings, load_api_keys,
)
from assistant.middleware import DocsStayLocal, JsonByDefault, base_url, not_json
from assistant.ratelimit import RateLimiter
from assistant.service import Assistant, validate_question
from core.errors import AssistantError
from core.models import Answer, StreamEvent, Turn
from core.observability import (HttpMetrics, audit, configure_audit, configure_logging,
                                exposition, request_id)
from core.settings import Settings

log = logging.getLogger(__name__)
access = logging.getLogger("assistant.access")
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
               415: "Content-Type is not application/json (a body without one is read as JSON)",
               422: "Missing field, wrong type, value out of range, or unusable question",
               429: "Rate limit exceeded; see Retry-After", 503: "Index not loaded"}
    return {status: {"model": ErrorBody, "description": reasons[status]} for status in statuses}


AUTHED = (401, 429, 503)
WITH_BODY = (400, 413, 415, 422) + AUTHED
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
        if not_json(request.headers.get("content-type")):  # e.g. curl -d's form encoding
            return error_response("unsupported_media_type", "send the body as JSON with the "
                                  "header 'Content-Type: application/json' (got "
                                  f"{request.headers['content-type']!r})", 415)
        if any(e.get("type") == "json_invalid" for e in errors):
            return await assistant_error(request, BadRequest("request body is not valid JSON"))
        parts = [".".join(str(p) for p in e.get("loc", ()) if p != "body") + ": " + e.get("msg", "")
                 for e in errors[:5]]
        return await assistant_error(request, InvalidRequest("; ".join(parts)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI could not decode the body (not UTF-8, too deep)
            return await assistant_error(request, BadRequest(
                "request body is not valid JSON (UTF-8, nested at most a few hundred levels)"))
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


REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class Observed:
    """Outermost: a request id (the caller's X-Request-ID if sane, else a new one) for the
    logs and the response, and each request's route, status and latency for /metrics."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe(scope["method"], route, status, seconds)
            path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")  # as sent:
            access.info("%s %s %d %.0f ms", scope["method"], path, status, seconds * 1000)  # no forged lines
            request_id.reset(token)


def _audit_caller(caller, action: str, documents: list[str]) -> None:
    """Confidential-clearance requests go to the audit log (see core/observability.py)."""
    if caller.clearance == "confidential":
        audit("api", {"key": caller.id}, action, documents)


# ---- the app ----------------------------------------------------------------------------------

RouterFactory = Callable[[Settings, Assistant], APIRouter | None]


def create_app(settings: Settings | None = None,
               build: Callable[[Settings], Assistant] | None = None,
               routers: Sequence[RouterFactory] = ()) -> FastAPI:
    """The API for these settings; the lifespan builds the Assistant once with `build`, then
    mounts what each of `routers` makes from it (server.py passes the Slack bot's)."""
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
            for make_router in routers:
                router = make_router(settings, app.state.assistant)
                if router is not None:
                    app.include_router(router)
        yield

    app = FastAPIOffline(  # FastAPI with Swagger UI and ReDoc served from the package, no CDN
        favicon_url="/favicon.svg", swagger_ui_parameters={"validatorUrl": None},
        title="Guidance assistant API", version="1", lifespan=lifespan,
        description="Cited answers from NHS and local-government guidance and board papers. "
                    "Send `Authorization: Bearer KEY`; without a key you get public documents.",
    )
    async def current_settings() -> Settings:  # async: no worker-thread hop per request
        return settings

    app.dependency_overrides[get_settings] = current_settings
    configure_logging(settings)
    configure_audit(settings)
    app.state.http_metrics = HttpMetrics()
    app.state.api_keys = load_api_keys(settings)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.auth_limiter = RateLimiter(settings.auth_failures_per_minute)
    if settings.forwarded_allow_ips:  # the client address from X-Forwarded-For of these proxies only
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    _install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(DocsStayLocal)
    app.add_middleware(JsonByDefault)
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                       allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"],
                       expose_headers=["Retry-After", "X-Request-ID"], max_age=600)
    app.add_middleware(Observed, metrics=app.state.http_metrics)
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


def _audited(events: Iterator[StreamEvent], caller) -> Iterator[StreamEvent]:
    for event in events:
        if event.kind == "final" and event.answer is not None:
            _audit_caller(caller, "ask_stream", [c.doc_id for c in event.answer.citations])
        yield event


def _stream(assistant: Assistant, settings: Settings, caller, body: AskRequest) -> Response:
    question = validate_question(body.question, settings)  # fail before the 200 is sent
    events = _audited(assistant.ask_stream(question, caller.clearance, history=body.history),
                      caller)
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
        answer = assistant.ask(body.question, caller.clearance, history=body.history)
        _audit_caller(caller, "ask", [c.doc_id for c in answer.citations])
        return answer

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
        _audit_caller(caller, "search", [h.chunk.doc_id for h in hits])
        return SearchResponse(results=[SearchResult(
            doc_id=h.chunk.doc_id, title=h.chunk.title, page=h.chunk.page_start,
            page_end=h.chunk.page_end, section=h.chunk.section, text=h.chunk.text, score=h.score) for h in hits])

    @app.get("/v1/documents", response_model=DocumentsResponse, tags=["documents"],
             responses=_errors(*AUTHED))
    def documents(request: Request, caller: CallerDep, assistant: AssistantDep,
                  settings: SettingsDep) -> DocumentsResponse:
        """The documents the caller may see."""
        base = base_url(request, settings)
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
        _audit_caller(caller, "pdf", [doc_id])
        return Response(data, media_type="application/pdf", headers={
            "Content-Disposition": f'inline; filename="{doc_id}.pdf"'})

    @app.head("/healthz", include_in_schema=False)
    @app.get("/healthz", response_model=Health, tags=["ops"])
    async def healthz() -> Health:
        """The process is up."""
        return Health(status="ok")

    @app.head("/readyz", include_in_schema=False)  # load balancers probe with HEAD
    @app.get("/readyz", response_model=Ready, response_model_exclude_none=True, tags=["ops"], responses=_errors(503))
    def readyz(assistant: AssistantDep, clearance: PeekClearanceDep) -> Ready:
        """The store answers and holds documents; which generation this replica serves.
        503 names the command that fixes it. Counts only for confidential clearance."""
        state = assistant.readiness()
        return Ready(status="ready", generation=state["generation"],
                     counts=state["counts"] if clearance == "confidential" else None)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        """Prometheus text format: HTTP, answers, stages, the loaded index, Slack."""
        registries = [request.app.state.http_metrics.registry]
        assistant = getattr(request.app.state, "assistant", None)
        if assistant is not None and hasattr(assistant, "metrics"):
            assistant.metrics.set_index(*assistant.index_state())
            registries.append(assistant.metrics.registry)
        return Response(exposition(*registries), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    def demo() -> Response:
        return Response((STATIC / "index.html").read_bytes(), media_type="text/html")

    @app.get("/favicon.svg", include_in_schema=False)
    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response((STATIC / "favicon.svg").read_bytes(), media_type="image/svg+xml",
                        headers={"Cache-Control": "max-age=86400"})

    @app.get("/widget.js", include_in_schema=False)
    def widget() -> Response:
        return Response((STATIC / "widget.js").read_bytes(), media_type="text/javascript",
                        headers={"Cache-Control": "max-age=300"})
