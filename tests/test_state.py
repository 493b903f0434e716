"""Shared state on SQLite and on a real PostgreSQL: two replicas (two StateDB/BotStore objects
over one database) claim each Slack event once, share votes and comments, and one rate limit."""
import sqlite3
import threading

import pytest

from bots.store import BotStore
from core.models import Answer
from core.state import StateDB
from tests.postgres_server import postgres  # noqa: F401 - the fixture


@pytest.fixture(params=["sqlite", "postgresql"])
def state_target(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "state.sqlite")
    return request.getfixturevalue("postgres").new_database()


def test_a_slack_event_racing_to_two_replicas_is_claimed_once(state_target):
    replicas = [BotStore(state_target), BotStore(state_target)]
    for round_ in range(20):
        wins: list[bool] = []
        barrier = threading.Barrier(4)

        def claim(store: BotStore) -> None:
            barrier.wait()
            wins.append(store.claim(f"Ev{round_}", "C1", f"1.{round_}"))

        threads = [threading.Thread(target=claim, args=(replicas[n % 2],)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(wins) == [False, False, False, True]


def test_a_vote_and_its_comment_recorded_on_one_replica_are_read_on_the_other(state_target):
    first, second = BotStore(state_target), BotStore(state_target)
    first.save_answer("a1", channel="C1", thread_ts="1.1", user="U2", question="Q?",
                      answer=Answer(answer="A."), clearance="public")
    assert second.record_feedback("a1", vote="not_helpful", user="U2", channel="C1")
    assert second.record_feedback("a1", vote="not_helpful", user="U2", channel="C1",
                                  comment="It quoted the wrong year.")
    assert first.record_feedback("a1", vote="not_helpful", user="U2", channel="C1")  # keeps it
    assert second.record_feedback("a1", vote="helpful", user="U3", channel="C1")
    rows = first.feedback()
    assert [(r.user, r.vote, r.comment) for r in rows] == [
        ("U2", "not_helpful", "It quoted the wrong year."), ("U3", "helpful", None)]
    assert [r.user for r in first.feedback(vote="helpful")] == ["U3"]


def test_one_rate_limit_holds_across_replicas_and_idle_buckets_expire(state_target):
    replicas = [StateDB(state_target), StateDB(state_target)]
    waits = [replicas[n % 2].charge("key1", 4, now=1000.0) for n in range(6)]
    assert waits == [0, 0, 0, 0, 15, 15]  # 4 a minute in all, not 4 per replica
    assert replicas[1].blocked("key1", 4, now=1000.0) == 15
    assert replicas[0].charge("key1", 4, now=1015.0) == 0  # one token back after 15 s
    assert replicas[0].charge("key2", 4, now=1020.0) == 0  # buckets are per key
    assert replicas[1].expire_buckets(60, now=1076.0) == 1  # key1 idle 61 s, key2 56 s
    assert replicas[0].blocked("key1", 4, now=1076.0) == 0


def test_pdfs_are_shared(state_target):
    writer, reader = StateDB(state_target), StateDB(state_target)
    writer.put_pdf("d1", "h1", b"%PDF-1.7 one")
    writer.put_pdf("d1", "h2", b"%PDF-1.7 two")
    assert reader.pdf("d1") == b"%PDF-1.7 two" and reader.pdf_hashes() == {"d1": "h2"}
    writer.drop_pdf("d1")
    assert reader.pdf("d1") is None


def test_an_older_bot_database_gets_the_comment_column(tmp_path):
    db = tmp_path / "slack.sqlite"
    with sqlite3.connect(db) as conn:  # the schema before issue 12
        conn.executescript("""
            CREATE TABLE answers (id TEXT PRIMARY KEY, channel TEXT NOT NULL, thread_ts TEXT NOT NULL,
                user TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
                citations TEXT NOT NULL, refused INTEGER NOT NULL, clearance TEXT NOT NULL,
                created_at REAL NOT NULL);
            CREATE TABLE feedback (answer_id TEXT NOT NULL REFERENCES answers (id),
                user TEXT NOT NULL, vote TEXT NOT NULL, channel TEXT NOT NULL,
                voted_at REAL NOT NULL, PRIMARY KEY (answer_id, user));
            INSERT INTO answers VALUES ('a1', 'C1', '1.1', 'U1', 'Q?', 'A.', '[]', 0, 'public', 1.0);
            INSERT INTO feedback VALUES ('a1', 'U1', 'helpful', 'C1', 2.0);
        """)
    store = BotStore(db)
    assert store.record_feedback("a1", vote="not_helpful", user="U1", channel="C1", comment="no")
    assert [(r.vote, r.comment) for r in store.feedback()] == [("not_helpful", "no")]


def test_ingest_shares_each_pdf_and_withdraws_removed_ones(hash_settings, tmp_path):
    from core.pdfs import PdfStore
    from ingest.pipeline import run_ingest
    from tests.ingest_helpers import ALL_DOCS, SWBH, drop_row

    for settings in (hash_settings, hash_settings.model_copy(update={
            "pdf_dir": tmp_path / "pdfs", "data_dir": tmp_path / "data2"})):
        run_ingest(settings, progress=False)
        pdfs = PdfStore(settings)
        assert sorted(pdfs.hashes()) == ALL_DOCS
        assert pdfs.get(SWBH) == (settings.corpus_dir / f"{SWBH}.pdf").read_bytes()
    for file in hash_settings.corpus_dir.glob(f"{SWBH}.*"):
        file.unlink()
    drop_row(hash_settings.manifest_path, SWBH)
    run_ingest(hash_settings, progress=False)
    assert PdfStore(hash_settings).get(SWBH) is None
