"""The bot's state, shared by every replica (core/state.py: SQLite by default, PostgreSQL with
STATE_URL): which events were already handled, answers posted, feedback."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from core.models import Answer
from core.state import StateDB, answers, feedback, seen


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
    """Dedupe keys and feedback in the shared state database; any listener thread, on any
    replica, may use it."""

    def __init__(self, target: str | Path, keep_seconds: float = 3 * 86400) -> None:
        self.db = StateDB(target)
        self.keep_seconds = keep_seconds

    def claim(self, event_id: str | None, channel: str, ts: str) -> bool:
        """True the first time this event, or this message, is seen; False for a Slack retry
        (on this replica or another), a Socket Mode redelivery or the second event of an
        app_mention/message pair. Insert-if-absent: the database decides who was first."""
        now = time.time()
        keys = [f"msg:{channel}:{ts}"] + ([f"event:{event_id}"] if event_id else [])
        with self.db.engine.begin() as db:
            db.execute(seen.delete().where(seen.c.seen_at < now - self.keep_seconds))
            fresh = [db.execute(self.db.insert(seen).values(key=key, seen_at=now)
                                .on_conflict_do_nothing(index_elements=[seen.c.key])
                                .returning(seen.c.key)).first() is not None  # rowcount is -1 on psycopg
                     for key in keys]
        return all(fresh)

    def save_answer(self, answer_id: str, *, channel: str, thread_ts: str, user: str,
                    question: str, answer: Answer, clearance: str) -> None:
        citations = json.dumps([c.model_dump() for c in answer.citations])
        with self.db.engine.begin() as db:
            db.execute(answers.insert().values(
                id=answer_id, channel=channel, thread_ts=thread_ts, user=user, question=question,
                answer=answer.answer, citations=citations, refused=int(answer.refused),
                clearance=clearance, created_at=time.time()))

    def record_feedback(self, answer_id: str, *, vote: str, user: str, channel: str,
                        comment: str | None = None) -> bool:
        """Store (or change) this user's vote, and their comment if they wrote one (a later
        vote without a comment keeps it); False if the answer is unknown or was posted in
        another conversation."""
        with self.db.engine.begin() as db:
            row = db.execute(sa.select(answers.c.channel).where(answers.c.id == answer_id)).first()
            if row is None or row[0] != channel:
                return False
            statement = self.db.insert(feedback).values(
                answer_id=answer_id, user=user, vote=vote, channel=channel, voted_at=time.time(),
                comment=comment)
            db.execute(statement.on_conflict_do_update(
                index_elements=[feedback.c.answer_id, feedback.c.user], set_={
                    "vote": statement.excluded.vote, "voted_at": statement.excluded.voted_at,
                    "comment": sa.func.coalesce(statement.excluded.comment, feedback.c.comment)}))
        return True

    def feedback(self, vote: str | None = None) -> list[FeedbackRow]:
        """Votes, oldest first, optionally only one kind."""
        f, a = feedback.c, answers.c
        query = (sa.select(f.answer_id, a.question, a.answer, a.citations, a.refused, f.vote,
                           f.user, f.channel, f.voted_at, f.comment)
                 .join_from(feedback, answers, f.answer_id == a.id)
                 .order_by(f.voted_at, f.answer_id, f.user))
        if vote is not None:
            query = query.where(f.vote == vote)
        with self.db.engine.connect() as db:
            rows = db.execute(query).all()
        return [FeedbackRow(r[0], r[1], r[2], json.loads(r[3]), bool(r[4]), r[5], r[6], r[7], r[8],
                            r[9]) for r in rows]
