"""A run killed between staging and publishing leaves readers on the old version; the next repairs."""
import pytest

from ingest.embed import HashEmbedder
from ingest.pipeline import run_ingest
from ingest.store import ChunkStore
from tests.ingest_helpers import (ALL_DOCS, EVERYONE, LBBD, KilledStore, all_records, keyword_index,
                                  live_chunks, query_vector)
from tests.test_ingest_incremental import NEW_SENTENCE, NOTE, add_markdown_document


def test_kill_after_staging_keeps_the_old_version_whole_and_the_next_run_repairs_it(hash_settings):
    path = add_markdown_document(hash_settings.corpus_dir)
    run_ingest(hash_settings, progress=False)
    old = live_chunks(hash_settings, NOTE)
    path.write_text(path.read_text(encoding="utf-8") + f"\n{NEW_SENTENCE}\n", encoding="utf-8")

    with pytest.raises(KeyboardInterrupt):
        run_ingest(hash_settings, store=KilledStore(hash_settings, kill_doc=NOTE), progress=False)

    staged = [m for m in all_records(hash_settings) if m["doc_id"] == NOTE and not m["live"]]
    assert staged  # the new version was written, but not published
    assert live_chunks(hash_settings, NOTE) == old
    hits = ChunkStore(hash_settings).query(query_vector(NEW_SENTENCE), EVERYONE, n=200)
    assert {c.id for c, _ in hits if c.doc_id == NOTE} == {c.id for c in old}
    keyword = keyword_index(hash_settings)
    assert keyword.search("zanzibar", EVERYONE, n=5) == []
    assert {c.id for c, _ in keyword.search("Place Partnership lead", EVERYONE, n=100)
            if c.doc_id == NOTE} <= {c.id for c in old}

    report = run_ingest(hash_settings, progress=False)
    assert report.updated == [NOTE] and report.failed == [] and sorted(report.unchanged) == ALL_DOCS
    assert [m for m in all_records(hash_settings) if not m["live"]] == []
    new = live_chunks(hash_settings, NOTE)
    assert NEW_SENTENCE in new[-1].text and {c.id for c in new}.isdisjoint({c.id for c in old})
    keyword.sync()
    assert [c.doc_id for c, _ in keyword_index(hash_settings).search("zanzibar", EVERYONE, n=5)] == [NOTE]


class FailingEmbedder(HashEmbedder):
    """Dies on one document's text, as a remote endpoint might mid-run."""

    def embed_batch(self, texts):
        if any("Barking and Dagenham" in t for t in texts):
            raise ConnectionError("embedding endpoint went away")
        return super().embed_batch(texts)


def test_embedder_failing_on_one_document_keeps_its_old_chunks(hash_settings):
    run_ingest(hash_settings, progress=False)
    old = live_chunks(hash_settings, LBBD)
    (hash_settings.corpus_dir / f"{LBBD}.md").chmod(0o644)
    with (hash_settings.corpus_dir / f"{LBBD}.md").open("a", encoding="utf-8") as handle:
        handle.write("\n# Addendum\n")  # the heading hint changes, so the document is redone
    report = run_ingest(hash_settings, embedder=FailingEmbedder(), progress=False)
    assert len(report.failed) == 1 and f"{LBBD}.pdf" in report.failed[0]
    assert "embedding endpoint went away" in report.failed[0]
    assert live_chunks(hash_settings, LBBD) == old
    assert run_ingest(hash_settings, progress=False).updated == [LBBD]
