"""Pieces embedded at ingest: stored with their chunk, read back for the chunks an answer
weighs, and used to score units by meaning beside words."""
from __future__ import annotations

import numpy as np

from assistant.evidence import score_units
from assistant.units import Unit, sentences_of
from ingest.embed import HashEmbedder
from ingest.pieces import decode_vectors, encode_vectors, pieces_of


def test_vectors_survive_the_int8_encoding_in_chunk_metadata():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(5, 384)).astype(np.float32)
    decoded = decode_vectors(encode_vectors([0, 10, 20, 30, 40], vectors))
    assert sorted(decoded) == [0, 10, 20, 30, 40]
    for offset, original in zip(sorted(decoded), vectors):
        cosine = decoded[offset] @ original / np.linalg.norm(original)
        assert cosine > 0.99
    assert decode_vectors({"doc_id": "x"}) == {}  # a chunk ingested before pieces were stored


def test_every_piece_of_every_served_chunk_is_stored_with_the_vector_of_its_text(assistant):
    store = assistant.retriever.store
    chunks = store.live_chunks()
    stored = store.piece_vectors(chunks)
    assert set(stored) == {c.id for c in chunks}
    for chunk in chunks:
        assert set(stored[chunk.id]) == {p.offset for p in pieces_of(chunk)}, chunk.id
    sample = [(c, p) for c in chunks[::15] for p in pieces_of(c)[:2]]
    fresh = assistant.retriever.embedder.embed([p.text for _, p in sample])
    for (chunk, piece), vector in zip(sample, fresh):
        assert stored[chunk.id][piece.offset] @ vector > 0.97


def test_the_answerer_scores_units_by_the_stored_vectors(assistant):
    """The same units score differently once meaning is weighed: units closer to the
    question in meaning rise (here a question that shares no word with its answer)."""
    answerer = assistant.answerer
    hits = assistant.retriever.retrieve("What personal qualities should leaders show?", "public")
    units = [Unit(s) for h in hits[:3] for s in sentences_of(h.chunk, 0)]
    similarity = answerer.similarities("What personal qualities should leaders show?", units)
    assert similarity is not None and len(similarity) == len(units)
    assert max(similarity) > 0.3 and min(similarity) < max(similarity)


def test_meaning_reorders_units_that_words_alone_cannot_tell_apart():
    from tests.test_answer_units import chunk

    text = ("Leaders should show openness, honesty and curiosity. "
            "Leaders should show the budget to the board.")
    units = [Unit(s) for s in sentences_of(chunk(text), 0)]
    question = "what personal qualities should leaders show"
    by_words = score_units(question, units)
    assert by_words[0].score == by_words[1].score  # the same words of the question
    by_meaning = score_units(question, units, [0.2, 0.7])
    assert by_meaning[0].unit.lead.text == "Leaders should show the budget to the board."
    assert by_meaning[0].meaning == 0.7


def test_ingest_with_any_embedder_stores_pieces(hash_settings):
    from assistant.service import build_assistant
    from ingest.pipeline import run_ingest

    assert run_ingest(hash_settings, progress=False).ok
    store = build_assistant(hash_settings).retriever.store
    chunk = store.live_chunks()[0]
    vectors = store.piece_vectors([chunk])[chunk.id]
    first = pieces_of(chunk)[0]
    expected = HashEmbedder().embed([first.text])[0]
    assert vectors[first.offset] @ expected > 0.97


def test_a_date_line_is_a_line_and_a_numbered_item_is_numbered():
    from tests.test_answer_units import chunk

    pieces = pieces_of(chunk("14 JUNE 2022\n12. Partners agree the plan\n1st October 2021"))
    assert [p.kind for p in pieces] == ["line", "numbered", "line"]


def test_a_sentence_the_pdf_broke_across_lines_is_one_piece_at_its_own_offset():
    from tests.test_answer_units import chunk

    text = ("Pathway leadership roles, to be determined locally. The appointment of these leads is"
            "\ndeferred until Dec 2022. The current leads will remain until then\n"
            "New Heading Line\n- an item that ends without a stop\nbut goes on here.")
    pieces = pieces_of(chunk(text))
    deferred = next(p for p in pieces if p.text.startswith("The appointment"))
    assert deferred.text == "The appointment of these leads is deferred until Dec 2022."
    assert text[deferred.offset:].startswith("The appointment")
    assert pieces[-1].kind == "item" and pieces[-1].text.endswith("but goes on here.")
    assert any(p.text == "New Heading Line" for p in pieces)  # a capital starts a new line


def test_lowercase_lines_after_an_intro_ending_in_a_colon_are_items_not_one_run_on():
    """Thriving Places p19 prints its leadership behaviours as paragraphs without bullets:
    glued together as one "sentence" they made a 150-word item that matched any question."""
    from assistant.units import units_of
    from tests.test_answer_units import chunk

    text = ("Learning to date suggests the key skills and behaviours of leaders include:\n"
            "openness and honesty with colleagues, as well as acting with integrity\n"
            "a commitment to listening to others\n"
            "curiosity and the ability to understand what is really happening.\n"
            "There is a range of system leadership programmes on offer.")
    pieces = pieces_of(chunk(text))
    assert [p.kind for p in pieces] == ["line", "item", "item", "item", "sentence"]
    assert pieces[2].text == "a commitment to listening to others"
    assert text[pieces[2].offset:].startswith("a commitment")
    [listed] = [u for u in units_of(chunk(text), 0) if u.items]
    assert [i.text.split()[0] for i in listed.items] == ["openness", "a", "curiosity"]
    # a broken line that is not after a colon is still joined (the test above)
    joined = pieces_of(chunk("The appointment of these leads is\ndeferred until Dec 2022."))
    assert [p.text for p in joined] == ["The appointment of these leads is deferred until Dec 2022."]


def test_a_stop_the_pdf_printed_without_its_space_still_ends_the_sentence():
    from ingest.chunk import split_sentences
    from tests.test_answer_units import chunk

    text = ("Table 1 summarises the programmes, based on the existing progress of places.These "
            "may be underpinned by shared functions or capabilities.")
    assert [p.text for p in pieces_of(chunk(text))] == [
        "Table 1 summarises the programmes, based on the existing progress of places.",
        "These may be underpinned by shared functions or capabilities."]
    assert split_sentences("See www.england.nhs.uk and e.g.The U.K. now.") == [
        "See www.england.nhs.uk and e.g.The U.K. now."]  # no capitalised word after a stop


def test_kept_piece_vectors_never_outlive_the_chunk_text_they_were_read_for(hash_settings):
    """The store keeps piece vectors in memory by chunk id and content hash: a second read
    of the same chunk is served from memory, and a chunk re-ingested with other text (another
    hash, in this or another process) is read afresh, never answered with the old vectors."""
    from dataclasses import replace

    from assistant.service import build_assistant
    from ingest.pieces import encode_vectors
    from ingest.pipeline import run_ingest

    assert run_ingest(hash_settings, progress=False).ok
    store = build_assistant(hash_settings).retriever.store
    chunk = store.live_chunks()[0]
    first = store.piece_vectors([chunk])[chunk.id]
    offsets = sorted(first)
    flipped = -np.stack([first[o] for o in offsets])
    collection = store.collection(chunk.visibility)
    meta = collection.get(ids=[chunk.id], include=["metadatas"])["metadatas"][0]
    # another writer re-ingests the chunk: new text hash, new vectors
    collection.update(ids=[chunk.id], metadatas=[{**meta, **encode_vectors(offsets, flipped),
                                                  "content_hash": "changed"}])
    kept = store.piece_vectors([chunk])[chunk.id]  # the caller still holds the old chunk
    assert all(np.array_equal(kept[o], first[o]) for o in offsets)
    fresh = store.piece_vectors([replace(chunk, content_hash="changed")])[chunk.id]
    assert all(fresh[o] @ first[o] < -0.97 for o in offsets)
