"""Incremental runs: only what changed is embedded; removals, new files and visibility follow."""
import logging
from pathlib import Path

from ingest.pipeline import run_ingest
from tests.ingest_helpers import (ALL_DOCS, EVERYONE, LBBD, SOUTHWARK, SWBH, add_row, all_records,
                                  drop_row, keyword_index, live_chunks, replace_file, set_visibility)

NOTE = "test-council-note"
NEW_SENTENCE = "The zanzibar committee meets every second Tuesday."


def add_markdown_document(corpus: Path) -> Path:
    """A markdown-only document: the lbbd markdown (with its HTML remnants) under a new name."""
    path = corpus / f"{NOTE}.md"
    path.write_text((corpus / f"{LBBD}.md").read_text(encoding="utf-8"), encoding="utf-8")
    add_row(corpus / "documents.csv", NOTE, "Test council note")
    return path


def ids_by_doc(settings) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for chunk in live_chunks(settings):
        out.setdefault(chunk.doc_id, []).append(chunk.id)
    return out


def test_unchanged_corpus_embeds_nothing(hash_settings):
    first = run_ingest(hash_settings, progress=False)
    assert sorted(first.added) == ALL_DOCS and first.chunks_embedded == first.chunks_total > 0
    second = run_ingest(hash_settings, progress=False)
    assert second.chunks_embedded == 0 and sorted(second.unchanged) == ALL_DOCS
    assert second.added == second.updated == second.removed == second.failed == []
    assert second.chunks_total == first.chunks_total


def test_what_is_there_is_read_from_chroma_not_from_local_files(hash_settings, tmp_path):
    run_ingest(hash_settings, progress=False)
    leftovers = sorted(p.name for p in hash_settings.data_dir.iterdir() if "-" not in p.name)
    assert leftovers == ["chroma", "slack.sqlite"]  # no state file, no keyword index; the PDFs
    again = run_ingest(hash_settings, progress=False)
    assert again.chunks_embedded == 0 and sorted(again.unchanged) == ALL_DOCS


def test_edited_markdown_document_is_the_only_one_updated(hash_settings):
    path = add_markdown_document(hash_settings.corpus_dir)
    run_ingest(hash_settings, progress=False)
    before = ids_by_doc(hash_settings)
    path.write_text(path.read_text(encoding="utf-8") + f"\n{NEW_SENTENCE}\n", encoding="utf-8")
    report = run_ingest(hash_settings, progress=False)
    assert report.updated == [NOTE] and report.added == [] and report.failed == []
    assert sorted(report.unchanged) == ALL_DOCS
    after = ids_by_doc(hash_settings)
    assert report.chunks_embedded == len(after[NOTE])
    assert {d: ids for d, ids in after.items() if d != NOTE} == \
        {d: ids for d, ids in before.items() if d != NOTE}
    assert set(after[NOTE]).isdisjoint(before[NOTE])  # the old version is gone, not doubled
    assert NEW_SENTENCE in live_chunks(hash_settings, NOTE)[-1].text
    found = keyword_index(hash_settings).search("zanzibar", EVERYONE, n=3)
    assert [c.doc_id for c, _ in found] == [NOTE]


def test_markdown_document_is_cleaned_of_html(hash_settings):
    add_markdown_document(hash_settings.corpus_dir)
    run_ingest(hash_settings, progress=False)
    text = "\n".join(c.text for c in live_chunks(hash_settings, NOTE))
    assert "<p>" not in text and "<ul" not in text and "&amp;" not in text
    assert "- The need to identify the individual who the B&D Place Based Partnership" in text


def test_changed_pdf_updates_only_that_document(hash_settings):
    from pypdf import PdfWriter

    run_ingest(hash_settings, progress=False)
    pdf = hash_settings.corpus_dir / f"{SWBH}.pdf"
    writer = PdfWriter(clone_from=pdf)
    writer.remove_page(len(writer.pages) - 1)  # drop the last page
    shorter = hash_settings.corpus_dir / "shorter.tmp"
    writer.write(shorter)
    replace_file(pdf, shorter.read_bytes())
    shorter.unlink()
    report = run_ingest(hash_settings, progress=False)
    assert report.updated == [SWBH] and len(report.unchanged) == 4
    assert max(c.page_end for c in live_chunks(hash_settings, SWBH)) == 5


def test_removed_file_and_row_removes_its_chunks(hash_settings):
    run_ingest(hash_settings, progress=False)
    for path in hash_settings.corpus_dir.glob(f"{SWBH}.*"):
        path.unlink()
    drop_row(hash_settings.manifest_path, SWBH)
    report = run_ingest(hash_settings, progress=False)
    assert report.removed == [SWBH] and report.failed == [] and report.chunks_embedded == 0
    assert SWBH not in {m["doc_id"] for m in all_records(hash_settings)}
    keyword = keyword_index(hash_settings)
    assert SWBH not in {d.doc_id for d in keyword.documents()}
    assert SWBH not in {c.doc_id for c, _ in keyword.search("Sandwell", EVERYONE, n=50)}


def test_file_without_manifest_row_is_confidential_with_a_warning(hash_settings, caplog):
    (hash_settings.corpus_dir / "unlisted-minutes.md").write_text(
        "# Minutes\n\nThe quokka working group agreed the draft budget for next year.\n")
    with caplog.at_level(logging.WARNING):
        report = run_ingest(hash_settings, progress=False)
    assert "unlisted-minutes" in report.added and report.failed == []
    assert any("unlisted-minutes.md" in r.getMessage() and "no manifest row" in r.getMessage()
               and "confidential" in r.getMessage() for r in caplog.records)
    assert {c.visibility for c in live_chunks(hash_settings, "unlisted-minutes")} == {"confidential"}
    keyword = keyword_index(hash_settings)
    assert keyword.search("quokka", ("public",), n=3) == []
    assert [c.doc_id for c, _ in keyword.search("quokka", EVERYONE, n=3)] == ["unlisted-minutes"]


def test_changing_visibility_in_the_manifest_reingests_the_document(hash_settings):
    run_ingest(hash_settings, progress=False)
    assert {c.visibility for c in live_chunks(hash_settings, SOUTHWARK)} == {"confidential"}
    set_visibility(hash_settings.manifest_path, SOUTHWARK, "public")
    report = run_ingest(hash_settings, progress=False)
    assert report.updated == [SOUTHWARK] and len(report.unchanged) == 4
    assert {c.visibility for c in live_chunks(hash_settings, SOUTHWARK)} == {"public"}
    found = keyword_index(hash_settings).search("Southwark", ("public",), n=20)
    assert SOUTHWARK in {c.doc_id for c, _ in found}


def test_rebuild_starts_clean(hash_settings):
    from ingest.store import ChunkStore
    from tests.ingest_helpers import query_vector

    first = run_ingest(hash_settings, progress=False)
    store = ChunkStore(hash_settings)
    store.collection("public").upsert(ids=["stray:0"], embeddings=[query_vector("stray")],
                                      documents=["stray"], metadatas=[{"doc_id": "stray",
                                                                       "visibility": "public"}])
    report = run_ingest(hash_settings, progress=False, rebuild=True)
    assert sorted(report.added) == ALL_DOCS and report.updated == []
    assert report.chunks_embedded == report.chunks_total == first.chunks_total
    assert "stray" not in {m["doc_id"] for m in all_records(hash_settings)}


def test_an_index_in_the_old_single_collection_layout_is_replaced(hash_settings):
    from ingest.store import ChunkStore

    store = ChunkStore(hash_settings)
    prefix = hash_settings.collection
    for old in (prefix, f"{prefix}-public", f"{prefix}-confidential"):  # two earlier layouts
        store.client.get_or_create_collection(old)
    report = run_ingest(hash_settings, progress=False)
    names = {c.name for c in store.client.list_collections()}
    layout = store.generation().layout
    assert names == {f"{prefix}-meta"} | {f"{prefix}-{layout}-{part}" for part in
                                          ("public", "confidential", "staging", "docs")}
    assert sorted(report.added) == ALL_DOCS and report.chunks_total == store.count() > 0
