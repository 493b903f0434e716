"""The real corpus in real Chroma with the real embedder: pages, cleanliness, metadata, sizes."""
import re

import pytest

from core.models import Chunk
from ingest.store import ChunkStore
from tests.conftest import CORPUS
from tests.ingest_helpers import (ALL_DOCS, BOB, EVERYONE, LBBD, NHSE, SOUTHWARK, SWBH,
                                  chunk_containing, live_chunks, pdf_page_of)

pytestmark = pytest.mark.slow

KNOWN_SENTENCES = [
    (NHSE, "Version 1, 2 September 2021", 1),
    (NHSE, "may include housing associations, emergency services, prisons", 12),
    (NHSE, "There is a range of system leadership programmes on offer to support current and "
           "aspiring health and care leaders", 19),
    (LBBD, "A prominent and accessible leader convening partners around a common agenda", 3),
    # the paper's last line, a heading with nothing printed under it (once dropped at ingest)
    (LBBD, "Appendix A- NEL Place Partnership Lead Role Description", 5),
    (BOB, "Delegations to Place will be supported by agreement on outcomes and metrics", 3),
    (SOUTHWARK, "No organisation can deliver this change alone.", 2),
    (SWBH, "The importance of 'place' is front and centre of the latest proposals for NHS reform.", 2),
]


@pytest.fixture(scope="module")
def chunks(indexed_settings) -> list[Chunk]:
    return live_chunks(indexed_settings)


@pytest.mark.parametrize("doc_id, sentence, page", KNOWN_SENTENCES)
def test_known_sentence_lands_in_a_chunk_with_its_printed_page(chunks, doc_id, sentence, page):
    assert pdf_page_of(CORPUS / f"{doc_id}.pdf", sentence) == page
    chunk = chunk_containing([c for c in chunks if c.doc_id == doc_id], sentence)
    assert chunk.page_start <= page <= chunk.page_end
    assert chunk.page_of(chunk.text.index(sentence)) == page


def test_known_sentence_is_found_by_a_live_vector_query(indexed_settings, chunks):
    from ingest.embed import build_embedder
    from ingest.pipeline import embedding_text

    sentence = "Delegations to Place will be supported by agreement on outcomes and metrics"
    [stored] = [c for c in chunks if sentence in c.text and c.doc_id == BOB]
    vector = build_embedder(indexed_settings).embed([embedding_text(stored)])[0]
    hits = ChunkStore(indexed_settings).query(vector, EVERYONE, n=3)
    assert hits[0][0].id == stored.id  # what was embedded at ingest is what is found


def test_every_document_is_indexed(chunks):
    assert sorted({c.doc_id for c in chunks}) == ALL_DOCS


def test_no_chunk_keeps_a_page_footer(chunks):
    assert [c.id for c in chunks if re.search(r"Page \d+ of \d+", c.text)] == []


def test_no_chunk_keeps_html_remnants(chunks):
    remnants = re.compile(r"<\s*/?\s*(p|br|ul|li|div|sup)\b[^>]*>|&(amp|lt|gt|nbsp|quot|#\d+);", re.I)
    assert [c.id for c in chunks if remnants.search(c.text)] == []


def test_every_chunk_carries_its_citation_metadata(indexed_settings):
    store = ChunkStore(indexed_settings)
    assert store.staged_chunks() == []
    metadatas = []
    for visibility in ("public", "confidential"):
        records = store.collection(visibility).get(include=["metadatas", "documents"])
        assert records["ids"], visibility
        required = {"doc_id", "title", "organisation", "date", "doc_type", "visibility",
                    "page_start", "page_end", "section", "ordinal", "content_hash", "doc_hash"}
        for chunk_id, text, meta in zip(records["ids"], records["documents"], records["metadatas"]):
            assert required <= set(meta), chunk_id
            assert text.strip() and meta["visibility"] == visibility  # each in its own collection
            assert all(str(meta[k]).strip() for k in ("doc_id", "title", "organisation", "date",
                                                       "doc_type", "content_hash")), chunk_id
            assert 1 <= meta["page_start"] <= meta["page_end"]
            assert chunk_id.startswith(f"{meta['doc_id']}:")
        metadatas += records["metadatas"]
    by_doc = {m["doc_id"]: m for m in metadatas}
    assert by_doc[SOUTHWARK]["visibility"] == "confidential"
    assert by_doc[NHSE]["visibility"] == "public" and by_doc[NHSE]["date"] == "2021-09-02"


def test_sections_come_from_the_document_headings(chunks):
    chunk = chunk_containing(chunks, "may include housing associations, emergency services, prisons")
    assert chunk.section == "4. Governance, decision-making and accountability > Membership"


def test_chunk_sizes_are_mostly_120_to_350_words(chunks):
    words = [len(c.text.split()) for c in chunks]
    within = [w for w in words if 120 <= w <= 350]
    assert len(within) >= 0.7 * len(words), sorted(words)
    assert max(words) <= 400 and min(words) >= 30, sorted(words)


def test_no_chunk_spans_two_documents(chunks):
    sources = {doc_id: " ".join((CORPUS / f"{doc_id}.md").read_text(encoding="utf-8").split())
               for doc_id in ALL_DOCS}
    for doc_id in ALL_DOCS:
        own = [c for c in chunks if c.doc_id == doc_id]
        assert [c.ordinal for c in own] == list(range(len(own)))
        pages = [(c.page_start, c.page_end) for c in own]
        assert pages == sorted(pages), doc_id
        for chunk in own:  # its first and last words belong to its own document only
            head, tail = " ".join(chunk.text.split()[:4]), " ".join(chunk.text.split()[-4:])
            others = [d for d, text in sources.items() if d != doc_id and head in text and tail in text]
            assert others == [], chunk.id


def test_a_query_reads_only_the_collections_its_visibilities_name(indexed_settings):
    from ingest.embed import build_embedder

    store = ChunkStore(indexed_settings)
    vector = build_embedder(indexed_settings).embed(["Southwark strategic options and risks"])[0]
    public_count = store.collection("public").count()
    public = store.query(vector, ("public",), n=10_000)
    assert len(public) == public_count and {c.visibility for c, _ in public} == {"public"}
    everyone = store.query(vector, EVERYONE, n=10)
    scores = [score for _, score in everyone]
    assert scores == sorted(scores, reverse=True) and len(everyone) == 10
    assert SOUTHWARK in {c.doc_id for c, _ in everyone}
    with pytest.raises(ValueError, match="unknown visibility"):
        store.query(vector, ("internal",), n=1)
