"""Chroma is the one source of truth: ingest reads what is there from Chroma, repairs what the
store lost, runs one at a time, survives kill -9 at any point, and replicas follow it."""
import os
import subprocess
import sys
import time

import pytest

from assistant.index import LiveIndex
from assistant.retrieve import Retriever
from core.errors import IngestError
from ingest.embed import HashEmbedder
from ingest.pipeline import run_ingest
from ingest.lock import WriterLock
from ingest.store import ChunkStore
from tests.api_server import settings_env
from tests.conftest import REPO
from tests.ingest_helpers import (EVERYONE, NHSE, SWBH, drop_row, keyword_index,
                                  live_chunks, set_visibility)
from tests.test_ingest_incremental import NEW_SENTENCE, NOTE, add_markdown_document

KILLER = REPO / "tests" / "kill_ingest.py"


def settle(index: LiveIndex, timeout: float = 20.0) -> None:
    """Sync until the replica's keyword indexes are built from the store's newest generation."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        index.sync()
        if index.built is not None and index.built.generation == index.seen \
                and not index._rebuilding and index.seen == index.store.generation():
            return
        time.sleep(0.05)
    raise AssertionError("the replica did not catch up with the store")


def assert_consistent(settings) -> None:  # noqa: ANN001
    """Every served chunk belongs to a complete record's version, and each record's chunks
    are all there; nothing staged."""
    store = ChunkStore(settings)
    records = store.records()
    assert all(r.complete and r.served for r in records.values()), records
    assert store.staged_chunks() == []
    for visibility in EVERYONE:
        got = store.collection(visibility).get(include=["metadatas"])
        assert all(records[m["doc_id"]].serves(m) for m in got["metadatas"])
        assert len(got["ids"]) == sum(r.chunks for r in records.values()
                                      if r.document.visibility == visibility)


def public_view_matches_records(index: LiveIndex) -> None:
    """What a public caller can find is what the records say is public, whatever was killed."""
    index.sync()
    public = {d for d, r in index.records.items() if r.served and r.document.visibility == "public"}
    for query in ("thriving places guidance", "place partnership lead", "Sandwell", "zanzibar"):
        assert {c.doc_id for c, _ in index.search(query, ("public",), 50)} <= public
    assert {d.doc_id for d in index.documents() if d.visibility == "public"} == public


def run_killed(settings, method: str, nth: int, *args: str) -> None:  # noqa: ANN001
    env = {**os.environ, **settings_env(settings), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(KILLER), method, str(nth), *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, (done.returncode, done.stderr[-2000:])


@pytest.mark.parametrize("method,nth,args", [
    ("stage", 1, ()),             # a new version staged, not published
    ("bump", 1, ()),              # a reclassification's record moved, no chunk copied yet
    ("bump", 2, ()),              # one document switched, its old chunks not yet deleted
    ("bump", 4, ()),              # a removal withdrawn from readers, its chunks still there
    ("stage", 3, ("--rebuild",)),  # a rebuild half-filled its new layout
])
def test_kill_9_at_any_point_then_a_rerun_leaves_every_replica_consistent(
        hash_settings, method, nth, args):
    path = add_markdown_document(hash_settings.corpus_dir)
    run_ingest(hash_settings, progress=False)
    replica = keyword_index(hash_settings)  # a running replica, from before the kill
    path.write_text(path.read_text(encoding="utf-8") + f"\n{NEW_SENTENCE}\n", encoding="utf-8")
    set_visibility(hash_settings.manifest_path, NHSE, "confidential")  # public -> confidential
    for file in hash_settings.corpus_dir.glob(f"{SWBH}.*"):
        file.unlink()
    drop_row(hash_settings.manifest_path, SWBH)

    run_killed(hash_settings, method, nth, *args)
    public_view_matches_records(replica)
    public_view_matches_records(keyword_index(hash_settings))

    report = run_ingest(hash_settings, progress=False)  # the lock of the dead run is taken over
    assert report.failed == []
    assert_consistent(hash_settings)
    again = run_ingest(hash_settings, progress=False)
    assert again.chunks_embedded == 0 and again.removed == [] and len(again.unchanged) == 5
    settle(replica)
    fresh = keyword_index(hash_settings)
    for index in (replica, fresh):
        public_view_matches_records(index)
        assert NHSE not in {c.doc_id for c, _ in index.search("thriving places", ("public",), 50)}
        assert NHSE in {c.doc_id for c, _ in index.search("thriving places", EVERYONE, 50)}
        assert [c.doc_id for c, _ in index.search("zanzibar", EVERYONE, 5)] == [NOTE]
        assert SWBH not in {d.doc_id for d in index.documents()}
    assert replica.documents() == fresh.documents()


def test_a_store_that_lost_chunks_is_repaired_by_the_next_run(hash_settings):
    run_ingest(hash_settings, progress=False)
    store = ChunkStore(hash_settings)
    lost = live_chunks(hash_settings, NHSE)
    store.collection("public").delete(ids=[c.id for c in lost[:3]])
    report = run_ingest(hash_settings, progress=False)
    assert report.updated == [NHSE] and report.chunks_embedded == len(lost)
    assert live_chunks(hash_settings, NHSE) == lost
    assert_consistent(hash_settings)


def test_a_deleted_store_is_rebuilt_not_reported_unchanged(hash_settings):
    import shutil

    first = run_ingest(hash_settings, progress=False)
    shutil.rmtree(hash_settings.chroma_path)  # the operator's next run is a new process
    env = {**os.environ, **settings_env(hash_settings), "PYTHONPATH": str(REPO)}
    cli = subprocess.run([sys.executable, "-m", "ingest", "--quiet"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.startswith("added 5 / updated 0 / unchanged 0 / removed 0 / failed 0;")
    assert f"{first.chunks_total} in the index" in cli.stdout


def test_documents_removed_by_an_older_corpus_copy_come_back_on_the_next_run(hash_settings,
                                                                             tmp_path):
    import shutil

    run_ingest(hash_settings, progress=False)
    older = tmp_path / "older-corpus"
    shutil.copytree(hash_settings.corpus_dir, older)
    for file in older.glob(f"{SWBH}.*"):
        file.unlink()
    drop_row(older / "documents.csv", SWBH)
    assert run_ingest(hash_settings.model_copy(update={"corpus_dir": older}),
                      progress=False).removed == [SWBH]
    report = run_ingest(hash_settings, progress=False)
    assert report.added == [SWBH] and live_chunks(hash_settings, SWBH)


def test_one_ingest_at_a_time(hash_settings):
    run_ingest(hash_settings, progress=False)
    store = ChunkStore(hash_settings)
    with WriterLock(store, lease_seconds=30):
        with pytest.raises(IngestError, match="another ingest is running"):
            run_ingest(hash_settings, progress=False)
        env = {**os.environ, **settings_env(hash_settings), "PYTHONPATH": str(REPO)}
        cli = subprocess.run([sys.executable, "-m", "ingest", "--quiet"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=300)
        assert cli.returncode == 2 and "another ingest is running" in cli.stderr
    # a lease left by a machine that died is taken over once it expires, not before
    meta = store._meta()
    meta.upsert(ids=["lock"], embeddings=[[1.0]],
                metadatas=[{"owner": "elsewhere:1:x", "expires": time.time() + 30}])
    with pytest.raises(IngestError, match="another ingest is running"):
        run_ingest(hash_settings, progress=False)
    meta.upsert(ids=["lock"], embeddings=[[1.0]],
                metadatas=[{"owner": "elsewhere:1:x", "expires": time.time() - 1}])
    assert run_ingest(hash_settings, progress=False).ok
    assert WriterLock(store).holder() is None  # released at the end


def test_rebuild_never_breaks_a_running_replica(hash_settings):
    run_ingest(hash_settings, progress=False)
    store = ChunkStore(hash_settings)
    replica = LiveIndex(store)
    retriever = Retriever(hash_settings, store, replica, HashEmbedder())
    before = [h.chunk.id for h in retriever.retrieve("place partnership lead", "public")]
    old_layout = store.generation().layout

    run_ingest(hash_settings, progress=False, rebuild=True)  # a new layout; the old one dropped
    assert store.generation().layout != old_layout
    names = {c.name for c in store.client.list_collections()}
    assert not any(old_layout in name for name in names)
    after = [h.chunk.id for h in retriever.retrieve("place partnership lead", "public")]
    assert after == before  # same documents, same chunk ids, served from the new collections
    settle(replica)
    assert [h.chunk.id for h in retriever.retrieve("place partnership lead", "public")] == before


def test_two_ingests_started_together_never_crash_and_leave_the_store_consistent(hash_settings):
    run_ingest(hash_settings, progress=False)
    add_markdown_document(hash_settings.corpus_dir)
    set_visibility(hash_settings.manifest_path, NHSE, "confidential")
    env = {**os.environ, **settings_env(hash_settings), "PYTHONPATH": str(REPO)}
    runs = [subprocess.Popen([sys.executable, "-m", "ingest", "--quiet"], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    results = [(run.wait(timeout=300), *run.communicate()) for run in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 2]), results  # 2: "another ingest is running", said plainly
    for code, _, err in results:
        if code == 2:
            assert "another ingest is running" in err and "Traceback" not in err
    assert_consistent(hash_settings)
    again = run_ingest(hash_settings, progress=False)
    assert again.chunks_embedded == 0 and len(again.unchanged) == 6
