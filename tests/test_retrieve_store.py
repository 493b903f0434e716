"""A replica's view follows the store: dense hits read text from the index of the same
generation, or from Chroma when the store has moved on, always only from the caller's
collections; each clearance has its own keyword index and statistics."""
from dataclasses import replace

from assistant.index import LiveIndex
from assistant.retrieve import Retriever
from ingest.embed import HashEmbedder
from ingest.pipeline import run_ingest
from ingest.store import ChunkStore
from tests.ingest_helpers import EVERYONE, SOUTHWARK, live_chunks, query_vector, set_visibility

TEXT = "Zanzibar pilot: the quokka panel meets every second Tuesday at the town hall."


def publish_one(store: ChunkStore, template, chunk_id: str, visibility: str):  # noqa: ANN001
    new = replace(template, id=chunk_id, doc_id=chunk_id.split(":")[0], text=TEXT,
                  visibility=visibility)
    store.stage([new], query_vector(TEXT)[None, :], doc_hash="fresh")
    store.publish(new.doc_id, [new], doc_hash="fresh")
    return new


def test_dense_hits_published_after_the_build_come_from_the_callers_collections(hash_settings):
    run_ingest(hash_settings, progress=False)
    store = ChunkStore(hash_settings)
    keyword = LiveIndex(store)
    retriever = Retriever(hash_settings, store, keyword, HashEmbedder())
    keyword.sync()
    indexed = retriever.dense("place partnership lead", EVERYONE, 5)
    built = keyword.built.indexes[("confidential", "public")]
    assert indexed and all(built.chunks[built.position[h.chunk.id]] == h.chunk for h in indexed)

    template = live_chunks(hash_settings)[0]
    writer = ChunkStore(hash_settings)
    public = publish_one(writer, template, "late-public:0001", "public")
    secret = publish_one(writer, template, "late-secret:0001", "confidential")
    keyword._rebuild_loop = lambda: None  # the records move on; the indexes stay the old ones
    keyword.sync()
    assert public.id not in built.position and secret.id not in built.position

    as_public = retriever.dense(TEXT, ("public",), 5)
    assert as_public[0].chunk == public and as_public[0].similarity > 0.99
    assert secret.id not in {h.chunk.id for h in as_public}
    as_cleared = {h.chunk.id: h.chunk for h in retriever.dense(TEXT, EVERYONE, 5)}
    assert as_cleared[secret.id] == secret and as_cleared[public.id] == public


def test_public_keyword_statistics_never_include_confidential_passages(hash_settings):
    run_ingest(hash_settings, progress=False)
    keyword = LiveIndex(ChunkStore(hash_settings))
    keyword.sync()
    public = keyword.built.indexes[("public",)]
    assert {c.visibility for c in public.chunks} == {"public"}
    assert SOUTHWARK not in {c.doc_id for c in public.chunks}
    southwark_only = {"southwark", "lambeth"}  # words of the confidential paper
    assert keyword.known_terms({"southwark", "partnership"}, ("public",)) == {"partnership"}
    assert keyword.known_terms(southwark_only | {"partnership"}, EVERYONE) >= {"southwark"}
    # a mistyped word is known by the word it misspells, among what the caller may read only
    assert keyword.known_terms({"partnersip"}, ("public",)) == {"partnersip"}
    assert keyword.known_terms({"southwrk"}, ("public",)) == set()
    assert keyword.known_terms({"southwrk"}, EVERYONE) == {"southwrk"}
    assert keyword.known_terms({"xartnership"}, EVERYONE) == set()  # typos keep the first letter

    # the same query scores a public passage identically whether or not the hidden paper exists
    before = dict((c.id, s) for c, s in keyword.search("council place", ("public",), 20))
    set_visibility(hash_settings.manifest_path, SOUTHWARK, "public")
    run_ingest(hash_settings, progress=False)
    set_visibility(hash_settings.manifest_path, SOUTHWARK, "confidential")
    run_ingest(hash_settings, progress=False)
    keyword = LiveIndex(ChunkStore(hash_settings))
    keyword.sync()
    after = dict((c.id, s) for c, s in keyword.search("council place", ("public",), 20))
    assert before == after


def test_a_changed_document_leaves_the_old_index_in_the_same_call(hash_settings):
    run_ingest(hash_settings, progress=False)
    set_visibility(hash_settings.manifest_path, SOUTHWARK, "public")
    run_ingest(hash_settings, progress=False)
    keyword = LiveIndex(ChunkStore(hash_settings))
    keyword.sync()
    assert SOUTHWARK in {c.doc_id for c, _ in keyword.search("Southwark", ("public",), 20)}

    set_visibility(hash_settings.manifest_path, SOUTHWARK, "confidential")
    run_ingest(hash_settings, progress=False)
    keyword._rebuild_loop = lambda: None  # the rebuild never lands: masking alone must do
    keyword.sync()
    assert SOUTHWARK not in {c.doc_id for c, _ in keyword.search("Southwark", ("public",), 20)}
    assert SOUTHWARK not in {d.doc_id for d in keyword.documents() if d.visibility == "public"}


def test_after_a_publish_only_changed_documents_are_read_and_unaffected_indexes_kept(
        hash_settings):
    import time

    run_ingest(hash_settings, progress=False)
    keyword = LiveIndex(ChunkStore(hash_settings))
    keyword.sync()
    public_before = keyword.built.indexes[("public",)]
    all_before = keyword.built.indexes[("confidential", "public")]
    markdown = hash_settings.corpus_dir / f"{SOUTHWARK}.md"  # the confidential paper changes
    markdown.chmod(0o644)
    with markdown.open("a", encoding="utf-8") as handle:
        handle.write("\n# Addendum\n")
    run_ingest(hash_settings, progress=False)

    reads: list[list[str]] = []
    read_documents = keyword.store.document_records
    keyword.store.document_records = lambda ids, vis: reads.append(list(ids)) or \
        read_documents(ids, vis)
    keyword.store.live_records = None  # a full read would fail
    keyword.sync()
    deadline = time.monotonic() + 20
    while keyword.built.generation != keyword.seen and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reads == [[SOUTHWARK]]
    assert keyword.built.indexes[("public",)] is public_before
    assert SOUTHWARK in {c.doc_id for c, _ in keyword.search("Southwark", EVERYONE, 20)}
    assert keyword.built.indexes[("confidential", "public")] is not all_before


def test_a_section_named_in_full_is_found_where_it_begins_within_the_callers_documents(
        hash_settings):
    """"2.1 Place Partnership Lead" begins in the middle of a chunk that opens in the
    introduction: a question naming it finds that chunk. A heading that repeats its paper's
    title names the paper when the question asks about something more; a confidential
    paper's headings are found only for a caller who may read it."""
    from assistant.retrieve import query_terms

    run_ingest(hash_settings, progress=False)
    keyword = LiveIndex(ChunkStore(hash_settings))
    keyword.sync()
    found = keyword.sections_named(query_terms("place partnership lead"), ("public",))
    assert [c.doc_id for c in found] == ["lbbd-hwb-2022-06-14-place-partnership-lead"]
    assert "2.1 Place Partnership Lead" in found[0].text
    assert not found[0].section.endswith("Place Partnership Lead")  # it begins mid-chunk
    assert keyword.sections_named(query_terms("who wrote the place partnership lead report"),
                                  ("public",)) == []
    clients = query_terms("wide range of clients")  # a heading of the confidential paper
    assert keyword.sections_named(clients, ("public",)) == []
    assert {c.doc_id for c in keyword.sections_named(clients, EVERYONE)} == {SOUTHWARK}
