"""Dense retrieval asks Chroma for ids and reads text from the keyword index; chunks published
since the index was loaded are read from Chroma, still only from the caller's collections."""
from dataclasses import replace

from assistant.retrieve import Retriever
from ingest.embed import HashEmbedder
from ingest.pipeline import run_ingest
from ingest.store import ChunkStore, KeywordIndex
from tests.ingest_helpers import live_chunks, query_vector

TEXT = "Zanzibar pilot: the quokka panel meets every second Tuesday at the town hall."


def publish_one(store: ChunkStore, template, chunk_id: str, visibility: str):  # noqa: ANN001
    new = replace(template, id=chunk_id, doc_id=chunk_id.split(":")[0], text=TEXT,
                  visibility=visibility)
    store.stage([new], query_vector(TEXT)[None, :], doc_hash="fresh")
    store.publish(new.doc_id, [new], doc_hash="fresh")
    return new


def test_dense_hits_missing_from_the_keyword_index_come_from_the_callers_collections(hash_settings):
    run_ingest(hash_settings, progress=False)
    store, keyword = ChunkStore(hash_settings), KeywordIndex(hash_settings.keyword_path)
    retriever = Retriever(hash_settings, store, keyword, HashEmbedder())
    indexed = retriever.dense("place partnership lead", ("public", "confidential"), 5)
    assert indexed and all(keyword.chunk(h.chunk.id) == h.chunk for h in indexed)

    template = live_chunks(hash_settings)[0]
    public = publish_one(store, template, "late-public:0001", "public")
    secret = publish_one(store, template, "late-secret:0001", "confidential")
    assert keyword.chunk(public.id) is None and keyword.chunk(secret.id) is None

    as_public = retriever.dense(TEXT, ("public",), 5)
    assert as_public[0].chunk == public and as_public[0].similarity > 0.99
    assert secret.id not in {h.chunk.id for h in as_public}
    as_cleared = {h.chunk.id: h.chunk for h in retriever.dense(TEXT, ("public", "confidential"), 5)}
    assert as_cleared[secret.id] == secret and as_cleared[public.id] == public
