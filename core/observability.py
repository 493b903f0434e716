"""What operators watch: Prometheus metrics, readable or JSON logs with a request id, and the
audit log of confidential-clearance requests."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from core.settings import Settings

request_id: ContextVar[str] = ContextVar("request_id", default="-")
AUDIT_LOGGER = "assistant.audit"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


# ---- logs ---------------------------------------------------------------------------------------

class RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the request being served ("-" outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id (and the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
                 "level": record.levelname, "logger": record.name,
                 "message": record.getMessage(),
                 "request_id": getattr(record, "request_id", request_id.get())}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def configure_logging(settings: Settings) -> None:
    """Root logging as settings say (LOG_FORMAT text|json, LOG_LEVEL); set once per process,
    so a second app in the same process does not double every line."""
    root = logging.getLogger()
    if any(getattr(h, "_assistant", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler._assistant = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json"
                         else logging.Formatter(TEXT_FORMAT))
    handler.setLevel(settings.log_level)  # bm25s sets its own logger to DEBUG on import
    root.addHandler(handler)
    root.setLevel(settings.log_level)


# ---- audit --------------------------------------------------------------------------------------

def configure_audit(settings: Settings) -> logging.Logger | None:
    """The audit logger writing JSON lines to settings.audit_log_path (None: no audit log)."""
    logger = logging.getLogger(AUDIT_LOGGER)
    logger.propagate = False  # its own file only; never mixed into the application log
    logger.setLevel(logging.INFO)
    if settings.audit_log_path is None:
        return None
    path = Path(settings.audit_log_path).resolve()
    if not any(getattr(h, "baseFilename", None) == str(path) for h in logger.handlers):
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    return logger


def audit(interface: str, who: dict[str, str], action: str, documents: Iterable[str]) -> None:
    """One line for a confidential-clearance request: who (API key name, or Slack user and
    channel), when, what, and which documents it was given. No question text: the log must be
    safe to keep."""
    logger = logging.getLogger(AUDIT_LOGGER)
    if not logger.handlers:
        return
    logger.info(json.dumps({
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "interface": interface, **who, "action": action, "request_id": request_id.get(),
        "documents": sorted(set(documents)),
    }))


# ---- metrics ------------------------------------------------------------------------------------

class HttpMetrics:
    """Requests, latency and errors per route template (never the raw path: bounded labels)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("assistant_http_requests", "HTTP requests by route and status.",
                                ["method", "route", "status"], registry=self.registry)
        self.errors = Counter("assistant_http_errors", "HTTP responses with status >= 400.",
                              ["route", "status"], registry=self.registry)
        self.latency = Histogram("assistant_http_request_seconds", "Time to the end of the "
                                 "response (a stream: its last event).", ["method", "route"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if status >= 400:
            self.errors.labels(route, str(status)).inc()


class AssistantMetrics:
    """Answers by outcome and mode, stage timings, the loaded index, Slack events and posts."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.answers = Counter("assistant_answers", "Answers given, by mode and outcome "
                               "(answered or refused).", ["mode", "outcome"], registry=r)
        self.stage = Histogram("assistant_stage_seconds", "Time spent per stage: retrieve "
                               "(dense, keyword inside it), answer.", ["stage"],
                               buckets=LATENCY_BUCKETS, registry=r)
        self.public_chunks = Gauge("assistant_index_public_chunks", "Public chunks in the "
                                   "loaded keyword index (confidential counts are not shown).",
                                   registry=r)
        self.index_loaded = Gauge("assistant_index_loaded", "1 when the keyword index is loaded "
                                  "and readable, else 0.", registry=r)
        self.index_info = Gauge("assistant_index_info", "The loaded keyword index version.",
                                ["version"], registry=r)
        self.slack_events = Counter("assistant_slack_events", "Slack requests received, by "
                                    "type.", ["type"], registry=r)
        self.slack_posts = Counter("assistant_slack_posts", "Slack messages posted, by outcome.",
                                   ["outcome"], registry=r)

    def count_answer(self, mode: str, refused: bool) -> None:
        self.answers.labels(mode, "refused" if refused else "answered").inc()

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stage.labels(stage).observe(time.perf_counter() - started)

    def timing(self, stage: str, function: Callable) -> Callable:
        """`function` wrapped to record its duration as `stage`."""
        def timed_call(*args, **kwargs):
            with self.timed(stage):
                return function(*args, **kwargs)

        return timed_call

    def set_index(self, version: str | None, public_chunks: int | None) -> None:
        self.index_loaded.set(0 if version is None else 1)
        self.index_info.clear()
        if version is not None:
            self.index_info.labels(version).set(1)
            self.public_chunks.set(public_chunks or 0)


def exposition(*registries: CollectorRegistry) -> bytes:
    """The Prometheus text format of all these registries."""
    return b"".join(generate_latest(registry) for registry in registries)
