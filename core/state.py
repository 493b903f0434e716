"""Shared state of every replica behind one setting (STATE_URL): SQLite by default, PostgreSQL
for more than one machine. Holds the Slack bot's dedupe keys, answers and feedback, the API's
rate-limit buckets and the documents' PDFs; each operation is one atomic statement or
transaction, so replicas never double-answer, double-count or lose a vote."""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from core.settings import Settings

log = logging.getLogger(__name__)
metadata = sa.MetaData()
Time = sa.Double  # DOUBLE PRECISION: a REAL (float4) would round time.time() to minutes

seen = sa.Table("seen", metadata, sa.Column("key", sa.Text, primary_key=True),
                sa.Column("seen_at", Time, nullable=False, index=True))
answers = sa.Table(
    "answers", metadata, sa.Column("id", sa.Text, primary_key=True),
    sa.Column("channel", sa.Text, nullable=False), sa.Column("thread_ts", sa.Text, nullable=False),
    sa.Column("user", sa.Text, nullable=False), sa.Column("question", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False), sa.Column("citations", sa.Text, nullable=False),
    sa.Column("refused", sa.Integer, nullable=False), sa.Column("clearance", sa.Text, nullable=False),
    sa.Column("created_at", Time, nullable=False))
feedback = sa.Table(
    "feedback", metadata,
    sa.Column("answer_id", sa.Text, sa.ForeignKey("answers.id"), primary_key=True),
    sa.Column("user", sa.Text, primary_key=True), sa.Column("vote", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False), sa.Column("voted_at", Time, nullable=False),
    sa.Column("comment", sa.Text, nullable=True))
buckets = sa.Table("rate_buckets", metadata, sa.Column("key", sa.Text, primary_key=True),
                   sa.Column("tokens", Time, nullable=False),
                   sa.Column("updated", Time, nullable=False, index=True),
                   sa.Column("allowed", sa.Integer, nullable=False))  # did the last charge take one
pdfs = sa.Table("pdfs", metadata, sa.Column("doc_id", sa.Text, primary_key=True),
                sa.Column("doc_hash", sa.Text, nullable=False),
                sa.Column("data", sa.LargeBinary, nullable=False))


def state_url(settings: Settings) -> str:
    """STATE_URL, or the SQLite file under DATA_DIR that the Slack bot always used."""
    return settings.state_url or str(settings.bot_db_path)


def _url(target: str | Path) -> str:
    """A SQLAlchemy URL; a plain path is an SQLite file, postgresql:// means psycopg 3."""
    text = str(target)
    if "://" not in text:
        Path(text).parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{Path(text).resolve()}"
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


class StateDB:
    """The engine and the few atomic operations the replicas share."""

    def __init__(self, target: str | Path) -> None:
        url = _url(target)
        self.sqlite = url.startswith("sqlite")
        self.engine = sa.create_engine(url, pool_pre_ping=True, **(
            {"connect_args": {"timeout": 10}} if self.sqlite else {"pool_size": 5}))
        if self.sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._create()

    def _create(self) -> None:
        for attempt in range(3):  # two replicas creating the tables at once: one retries
            try:
                metadata.create_all(self.engine)
                self._add_missing_columns()
                return
            except sa.exc.DBAPIError:
                if attempt == 2:
                    raise
                time.sleep(0.2)

    def _add_missing_columns(self) -> None:
        """Databases made before feedback had a comment get the column."""
        columns = {c["name"] for c in sa.inspect(self.engine).get_columns("feedback")}
        if "comment" not in columns:
            with self.engine.begin() as db:
                db.execute(sa.text("ALTER TABLE feedback ADD COLUMN comment TEXT"))

    def insert(self, table: sa.Table):  # noqa: ANN201 - a dialect's INSERT with ON CONFLICT
        return (sqlite.insert if self.sqlite else postgresql.insert)(table)

    # ---- rate limits -----------------------------------------------------------------------

    def charge(self, key: str, per_minute: float, now: float | None = None) -> int:
        """Take one token from `key`'s bucket (`per_minute` a minute, refilled smoothly);
        0 if there was one, else the seconds until there is. One atomic UPSERT."""
        now = time.time() if now is None else now
        rate = per_minute / 60.0
        refill = sa.case((buckets.c.tokens + (now - buckets.c.updated) * rate > per_minute,
                          sa.literal(float(per_minute))),
                         else_=buckets.c.tokens + (now - buckets.c.updated) * rate)
        statement = self.insert(buckets).values(key=key, tokens=per_minute - 1.0, updated=now,
                                                allowed=1)
        statement = statement.on_conflict_do_update(index_elements=[buckets.c.key], set_={
            "tokens": sa.case((refill >= 1.0, refill - 1.0), else_=refill),
            "allowed": sa.case((refill >= 1.0, 1), else_=0), "updated": now,
        }).returning(buckets.c.tokens, buckets.c.allowed)
        with self.engine.begin() as db:
            tokens, allowed = db.execute(statement).one()
        return 0 if allowed else _wait(tokens, rate)

    def blocked(self, key: str, per_minute: float, now: float | None = None) -> int:
        """Seconds until `key` has a token again (0 if it has one), without taking it."""
        now = time.time() if now is None else now
        with self.engine.connect() as db:
            row = db.execute(sa.select(buckets.c.tokens, buckets.c.updated)
                             .where(buckets.c.key == key)).first()
        if row is None:
            return 0
        rate = per_minute / 60.0
        tokens = min(per_minute, row[0] + (now - row[1]) * rate)
        return 0 if tokens >= 1.0 else _wait(tokens, rate)

    def expire_buckets(self, idle_seconds: float, now: float | None = None) -> int:
        """Delete buckets idle this long (a full bucket is the same as none)."""
        now = time.time() if now is None else now
        with self.engine.begin() as db:
            return db.execute(buckets.delete().where(buckets.c.updated < now - idle_seconds)).rowcount

    # ---- PDFs --------------------------------------------------------------------------------

    def put_pdf(self, doc_id: str, doc_hash: str, data: bytes) -> None:
        statement = self.insert(pdfs).values(doc_id=doc_id, doc_hash=doc_hash, data=data)
        statement = statement.on_conflict_do_update(
            index_elements=[pdfs.c.doc_id], set_={"doc_hash": doc_hash, "data": data})
        with self.engine.begin() as db:
            db.execute(statement)

    def pdf(self, doc_id: str) -> bytes | None:
        with self.engine.connect() as db:
            return db.execute(sa.select(pdfs.c.data).where(pdfs.c.doc_id == doc_id)).scalar()

    def pdf_hashes(self) -> dict[str, str]:
        with self.engine.connect() as db:
            return dict(db.execute(sa.select(pdfs.c.doc_id, pdfs.c.doc_hash)).all())

    def drop_pdf(self, doc_id: str) -> None:
        with self.engine.begin() as db:
            db.execute(pdfs.delete().where(pdfs.c.doc_id == doc_id))


def _wait(tokens: float, rate: float) -> int:
    """Whole seconds until a bucket holding `tokens` has one (rounded so 30.000001 is 30)."""
    return max(1, math.ceil(round((1.0 - tokens) / rate, 6)))


def _sqlite_pragmas(connection, _record) -> None:  # noqa: ANN001
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL stays consistent; a rate bucket is not worth an fsync
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()
