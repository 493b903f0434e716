"""Test helpers for the Slack bot: a stand-in for Slack's Web API that records every call, a
fake Assistant, signed Events API requests, and the bot's FastAPI app in a real uvicorn process."""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx

from core.models import Answer, Citation, Document, DocumentRef, Turn
from core.settings import Settings
from tests.api_server import REPO, UvicornProcess, settings_env

RESPONSE_URL_METHOD = "response_url"  # the stub's stand-in for hooks.slack.com response URLs
SLOW = "[slow] "  # a question starting with this takes the assistant 4 s
BOT_USER, BOT_ID, TEAM = "UBOT", "BBOT", "T0TEAM"
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
CONFIDENTIAL_DOC = "southwark-2022-07-16-ics-strategic-options"
CONFIDENTIAL_TITLE = ("Integrated Care System / Integrated Care Partnership: Strategic Implications"
                      " - Strategic Options Analysis")

# Conversations the stand-in knows (conversations.info), and the settings that go with them.
PUBLIC_CHANNEL, CONF_CHANNEL, OTHER_PRIVATE = "C0PUBLIC", "G0CONF", "G0OTHER"
CONF_USER, PLAIN_USER = "U0CONF", "U0ALICE"
CONF_DM, PLAIN_DM = "D0CONF", "D0ALICE"
CHANNELS = {
    PUBLIC_CHANNEL: {"id": PUBLIC_CHANNEL, "is_channel": True, "is_private": False},
    CONF_CHANNEL: {"id": CONF_CHANNEL, "is_channel": True, "is_private": True},
    OTHER_PRIVATE: {"id": OTHER_PRIVATE, "is_channel": True, "is_private": True},
    CONF_DM: {"id": CONF_DM, "is_im": True, "user": CONF_USER},
    PLAIN_DM: {"id": PLAIN_DM, "is_im": True, "user": PLAIN_USER},
}
SLACK_SETTINGS = {
    "slack_bot_token": BOT_TOKEN,
    "slack_signing_secret": SIGNING_SECRET,
    "slack_confidential_channels": [CONF_CHANNEL],
    "slack_confidential_users": [CONF_USER],
}




def wait_until(check: Callable[[], object], timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# ---- the Web API stand-in ----------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    method: str
    params: dict
    token: str | None


@dataclass
class SlackStub:
    """Answers Slack Web API methods on a loopback port and records each call."""

    channels: dict[str, dict] = field(default_factory=lambda: json.loads(json.dumps(CHANNELS)))
    replies: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[tuple[int, dict, dict]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                if "json" in (self.headers.get("Content-Type") or ""):
                    params.update(json.loads(raw or "{}"))
                else:
                    params.update({k: v[0] for k, v in parse_qs(raw).items()})
                auth = self.headers.get("Authorization") or ""
                token = auth.removeprefix("Bearer ") or params.get("token")
                status, body, headers = stub.respond(url.path.rsplit("/", 1)[-1], params, token)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/api/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, method: str, status: int, body: dict, headers: dict | None = None) -> None:
        """Make the next call of `method` fail this way (e.g. 429 with Retry-After)."""
        with self._lock:
            self.failures.setdefault(method, []).append((status, body, headers or {}))

    def respond(self, method: str, params: dict, token: str | None) -> tuple[int, dict, dict]:
        with self._lock:
            self.calls.append(Call(method, params, token))
            queued = self.failures.get(method)
            if queued:
                return queued.pop(0)
            ts = f"1800000000.{next(self._ts):06d}"
        if method == RESPONSE_URL_METHOD:  # a response_url (slash command, button): no token
            return 200, {"ok": True}, {}
        if token != BOT_TOKEN:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if method == "auth.test":
            return 200, {"ok": True, "url": "https://test.slack.com/", "team": "Test",
                         "user": "guidance", "team_id": TEAM, "user_id": BOT_USER,
                         "bot_id": BOT_ID}, {}
        if method == "conversations.info":
            info = self.channels.get(params.get("channel", ""))
            if info is None:
                return 200, {"ok": False, "error": "channel_not_found"}, {}
            return 200, {"ok": True, "channel": info}, {}
        if method == "conversations.replies":
            messages = self.replies.get((params.get("channel"), params.get("ts")), [])
            return 200, {"ok": True, "messages": messages, "has_more": False}, {}
        if method == "chat.postMessage":
            return 200, {"ok": True, "channel": params.get("channel"), "ts": ts,
                         "message": {"text": params.get("text"), "ts": ts}}, {}
        if method == "chat.postEphemeral":
            return 200, {"ok": True, "message_ts": ts}, {}
        if method in ("reactions.add", "reactions.remove", "views.open", "views.publish"):
            return 200, {"ok": True}, {}
        return 200, {"ok": False, "error": "unknown_method"}, {}

    # -- reading what happened --

    def of(self, method: str, **match: str) -> list[Call]:
        with self._lock:
            calls = list(self.calls)
        return [c for c in calls if c.method == method
                and all(c.params.get(k) == v for k, v in match.items())]

    def posts(self, channel: str | None = None) -> list[Call]:
        return self.of("chat.postMessage", **({"channel": channel} if channel else {}))

    def wait_done(self, channel: str, ts: str, timeout: float = 60.0) -> None:
        """Until the bot removed its working reaction from this message: it has replied."""
        wait_until(lambda: self.of("reactions.remove", channel=channel, timestamp=ts),
                   timeout, f"the answer to {channel}/{ts}")


def blocks_of(call: Call) -> list[dict]:
    blocks = call.params.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def all_text(call: Call) -> str:
    return json.dumps({"text": call.params.get("text"), "blocks": blocks_of(call)})


# ---- a fake Assistant --------------------------------------------------------------------------

PUBLIC_DOCS = [DocumentRef(doc_id="nhse-lga-2021-09-thriving-places-guidance",
                           title="Thriving places: guidance on the development of place-based "
                                 "partnerships as part of statutory integrated care systems")]


class FakeAssistant:
    """Answers like the real one, deterministically: Southwark questions need confidential
    clearance; "explode" raises; everything else cites the public guidance."""

    def ask(self, question: str, clearance: str, history: Sequence[Turn] = ()) -> Answer:
        if "explode" in question:
            raise RuntimeError("the fake assistant exploded")
        if "southwark" in question.lower():
            if clearance != "confidential":
                return Answer(answer="I couldn't find that in the documents you can see.",
                              refused=True, closest_documents=PUBLIC_DOCS)
            return Answer(answer="Southwark weighed three strategic options [1].", citations=[
                Citation(n=1, doc_id=CONFIDENTIAL_DOC, title=CONFIDENTIAL_TITLE, page=4,
                         section="Options", quote="Three options were considered.")])
        return Answer(answer="Place-based partnerships bring local organisations together [1].",
                      citations=[Citation(n=1, doc_id=PUBLIC_DOCS[0].doc_id,
                                          title=PUBLIC_DOCS[0].title, page=5,
                                          section="Introduction", quote="Partnerships ...")])


    def documents(self, clearance: str) -> list[Document]:
        docs = [Document(d.doc_id, d.title, visibility="public") for d in PUBLIC_DOCS]
        if clearance == "confidential":
            docs.append(Document(CONFIDENTIAL_DOC, CONFIDENTIAL_TITLE, visibility="confidential"))
        return docs


class RecordingAssistant:
    """Wraps an assistant and appends each ask (question, clearance, history) to a JSONL file,
    so a test can see what the bot asked from another process."""

    def __init__(self, inner, log_path: Path) -> None:
        self.inner = inner
        self.log_path = log_path
        self._lock = threading.Lock()

    def ask(self, question: str, clearance: str, history: Sequence[Turn] = ()) -> Answer:
        with self._lock, self.log_path.open("a") as log:
            log.write(json.dumps({"question": question, "clearance": clearance,
                                  "history": [t.model_dump() for t in history]}) + "\n")
        if question.startswith(SLOW):
            time.sleep(4)  # longer than Slack waits for an acknowledgement
        return self.inner.ask(question.removeprefix(SLOW), clearance, history)

    def documents(self, clearance: str) -> list[Document]:
        return self.inner.documents(clearance)


def read_asks(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# ---- the bot's FastAPI app in a uvicorn process -----------------------------------------------

def create_test_app():
    """uvicorn factory: a FastAPI app with only bots.http's router, settings from the
    environment, the fake or the real assistant (SLACK_TEST_ASSISTANT), asks recorded."""
    import logging

    from fastapi import FastAPI

    from bots.http import slack_router

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    if os.environ.get("SLACK_TEST_ASSISTANT") == "real":
        from assistant.service import build_assistant

        inner = build_assistant(settings)
    else:
        inner = FakeAssistant()
    assistant = RecordingAssistant(inner, Path(os.environ["SLACK_TEST_ASK_LOG"]))
    app = FastAPI()
    app.include_router(slack_router(settings, assistant))

    @app.get("/test-ready")
    def ready() -> dict:
        return {"ok": True}

    return app




class BotServer(UvicornProcess):
    """`uvicorn slack_stub:create_test_app --factory` on a free port, talking to `stub`."""

    def __init__(self, settings: Settings, stub: SlackStub, workdir: Path, assistant: str) -> None:
        super().__init__(workdir / "uvicorn.log", {})
        self.settings = settings.model_copy(update={**SLACK_SETTINGS,
                                                    "slack_api_base_url": stub.base_url})
        self.ask_log = workdir / "asks.jsonl"
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("SLACK_")},
                    **settings_env(self.settings), "SLACK_TEST_ASSISTANT": assistant,
                    "SLACK_TEST_ASK_LOG": str(self.ask_log),
                    "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}

    def start(self, timeout: float = 180.0) -> "BotServer":
        self.launch("slack_stub:create_test_app", "/test-ready", (200,), timeout, log_level="info")
        return self

    def post(self, body: bytes, *, content_type: str = "application/json",
             timestamp: int | None = None, secret: str = SIGNING_SECRET,
             headers: dict | None = None) -> httpx.Response:
        """POST /slack/events signed like Slack (v0 HMAC-SHA256 over v0:timestamp:body)."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body,
                          hashlib.sha256).hexdigest()
        return httpx.post(f"{self.base_url}/slack/events", content=body, timeout=10, headers={
            "Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": f"v0={digest}", **(headers or {})})


# ---- Slack payloads ----------------------------------------------------------------------------

_ids = itertools.count(1)


def new_ts() -> str:
    return f"{1700000000 + next(_ids)}.{os.getpid() % 1000000:06d}"


def event_body(event: dict, event_id: str | None = None) -> dict:
    """An Events API envelope around `event`."""
    return {"token": "legacy", "team_id": TEAM, "api_app_id": "A0APP", "type": "event_callback",
            "event": event, "event_id": event_id or f"Ev{next(_ids):08d}{os.getpid()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}]}


def mention(channel: str, text: str, user: str = PLAIN_USER, ts: str | None = None,
            thread_ts: str | None = None) -> dict:
    event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}",
             "channel": channel, "ts": ts or new_ts()}
    event["event_ts"] = event["ts"]
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def dm(channel: str, text: str, user: str = PLAIN_USER, ts: str | None = None,
       thread_ts: str | None = None, **extra) -> dict:
    event = {"type": "message", "channel_type": "im", "user": user, "text": text,
             "channel": channel, "ts": ts or new_ts(), **extra}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def button_click(channel: str, message_ts: str, thread_ts: str, action_id: str, value: str,
                 user: str = PLAIN_USER) -> bytes:
    """A block_actions payload, form-encoded as Slack sends it."""
    from urllib.parse import urlencode

    payload = {
        "type": "block_actions", "team": {"id": TEAM}, "user": {"id": user},
        "api_app_id": "A0APP", "token": "legacy", "trigger_id": f"trig{next(_ids)}",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                      "is_ephemeral": False, "thread_ts": thread_ts},
        "channel": {"id": channel}, "message": {"ts": message_ts, "thread_ts": thread_ts},
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [{"action_id": action_id, "block_id": "feedback", "value": value,
                     "type": "button", "action_ts": f"{time.time():.6f}"}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()
