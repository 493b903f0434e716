"""The bot's small SQLite store: which events were already handled, answers posted, feedback."""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.models import Answer

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, seen_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS seen_at ON seen (seen_at);
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, channel TEXT NOT NULL, thread_ts TEXT NOT NULL, user TEXT NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, citations TEXT NOT NULL,
    refused INTEGER NOT NULL, clearance TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT NOT NULL REFERENCES answers (id), user TEXT NOT NULL, vote TEXT NOT NULL,
    channel TEXT NOT NULL, voted_at REAL NOT NULL, PRIMARY KEY (answer_id, user)
);
"""
COMMENT_COLUMN = "ALTER TABLE feedback ADD COLUMN comment TEXT"  # added for issue 14


@dataclass(frozen=True)
class FeedbackRow:
    """One vote with the question and answer it is about."""

    answer_id: str
    question: str
    answer: str
    citations: list[dict]
    refused: bool
    vote: str
    user: str
    channel: str
    voted_at: float
    comment: str | None = None


class BotStore:
    """Dedupe keys and feedback in one SQLite file; one short connection per call, so any
    listener thread may use it."""

    def __init__(self, path: Path, keep_seconds: float = 3 * 86400) -> None:
        self.path = Path(path)
        self.keep_seconds = keep_seconds
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            if "comment" not in {r[1] for r in db.execute("PRAGMA table_info(feedback)")}:
                db.execute(COMMENT_COLUMN)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    def claim(self, event_id: str | None, channel: str, ts: str) -> bool:
        """True the first time this event, or this message, is seen; False for a Slack retry,
        a Socket Mode redelivery or the second event of an app_mention/message pair."""
        now = time.time()
        keys = [f"msg:{channel}:{ts}"] + ([f"event:{event_id}"] if event_id else [])
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM seen WHERE seen_at < ?", (now - self.keep_seconds,))
                fresh = [db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (key, now)).rowcount
                         for key in keys]
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return all(fresh)

    def save_answer(self, answer_id: str, *, channel: str, thread_ts: str, user: str,
                    question: str, answer: Answer, clearance: str) -> None:
        citations = json.dumps([c.model_dump() for c in answer.citations])
        with self._connect() as db:
            db.execute("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (answer_id, channel, thread_ts, user, question, answer.answer, citations,
                        int(answer.refused), clearance, time.time()))

    def record_feedback(self, answer_id: str, *, vote: str, user: str, channel: str,
                        comment: str | None = None) -> bool:
        """Store (or change) this user's vote, and their comment when given (a vote without
        one keeps an earlier comment); False if the answer is unknown or was posted in another
        conversation."""
        with self._connect() as db:
            row = db.execute("SELECT channel FROM answers WHERE id = ?", (answer_id,)).fetchone()
            if row is None or row[0] != channel:
                return False
            db.execute(
                "INSERT INTO feedback (answer_id, user, vote, channel, voted_at, comment) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (answer_id, user) "
                "DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at, "
                "comment = COALESCE(excluded.comment, feedback.comment)",
                (answer_id, user, vote, channel, time.time(), comment))
        return True

    def feedback(self, vote: str | None = None) -> list[FeedbackRow]:
        """Votes, oldest first, optionally only one kind."""
        query = ("SELECT f.answer_id, a.question, a.answer, a.citations, a.refused, f.vote, f.user, "
                 "f.channel, f.voted_at, f.comment FROM feedback f JOIN answers a ON a.id = f.answer_id")
        params: tuple = ()
        if vote is not None:
            query += " WHERE f.vote = ?"
            params = (vote,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY f.voted_at, f.answer_id, f.user", params).fetchall()
        return [FeedbackRow(r[0], r[1], r[2], json.loads(r[3]), bool(r[4]), r[5], r[6], r[7], r[8],
                            r[9]) for r in rows]
