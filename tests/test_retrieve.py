"""Post-retrieval steps are pure list -> list functions with exact, tested orders."""
import numpy as np
from core.models import Chunk, Hit, Turn
from assistant.retrieve import (boost_named, dedupe_overlaps, document_names, fuse_rrf,
                                interleave_named,
                                keyword_query, named_documents, rescore_by_coverage,
                                retrieval_query)
from assistant.index import KeywordIndex


def chunk(cid: str, text: str = "text", section: str = "", doc_id: str = "d",
          organisation: str = "", title: str = "T") -> Chunk:
    return Chunk(id=cid, doc_id=doc_id, title=title, organisation=organisation, date="",
                 doc_type="", visibility="public", page_start=1, page_end=1, section=section,
                 ordinal=0, text=text, content_hash="h")


SANDWELL = dict(doc_id="swbh-trust-board-2021-10-07-place-based-partnerships",
                organisation="Sandwell and West Birmingham Hospitals NHS Trust Board",
                title="Place Based Partnerships")
GUIDANCE = dict(doc_id="nhse-lga-2021-09-thriving-places-guidance",
                organisation="NHS England and NHS Improvement; Local Government Association",
                title="Thriving places: guidance on the development of place-based partnerships")


def test_rrf_rewards_chunks_found_by_both_retrievers():
    dense = [Hit(chunk("a"), 0.9, ("dense",), 0.9), Hit(chunk("b"), 0.8, ("dense",), 0.8)]
    keyword = [Hit(chunk("b"), 7.0, ("keyword",)), Hit(chunk("c"), 5.0, ("keyword",))]
    fused = fuse_rrf([dense, keyword], k=60)
    assert [h.chunk.id for h in fused] == ["b", "a", "c"]
    assert fused[0].sources == ("dense", "keyword")
    assert fused[0].score == 1 / 62 + 1 / 61
    assert fused[0].similarity == 0.8 and fused[2].similarity is None


def test_rescore_lifts_the_chunk_that_covers_the_question():
    hits = [Hit(chunk("a", "general words about partnerships"), 0.030),
            Hit(chunk("b", "the place partnership lead is appointed by the board"), 0.029)]
    rescored = rescore_by_coverage(hits, [0.25, 0.75])
    assert [h.chunk.id for h in rescored] == ["b", "a"]
    assert rescored[0].score == 0.029 * 1.75


def test_rescore_keeps_order_when_nothing_is_covered():
    hits = [Hit(chunk("a"), 0.2), Hit(chunk("b"), 0.1)]
    assert rescore_by_coverage(hits, [0.0, 0.0]) == hits


def test_term_coverage_reads_the_index_and_tokenizes_chunks_it_does_not_hold(tmp_path):
    indexed = [chunk("a", "general words about partnerships"),
               chunk("b", "the place partnership lead is appointed by the board")]
    index = KeywordIndex(indexed)
    fresh = chunk("c", "the place partnership lead is appointed by the board")  # not in the index
    question = "who appoints the place partnership lead"  # who, appoint, place, partnership, lead
    assert index.term_coverage(question, [*indexed, fresh]) == [0.2, 0.8, 0.8]
    assert index.term_coverage("the of and", indexed) == [0.0, 0.0]


def test_dedupe_drops_text_contained_in_a_better_hit():
    hits = [Hit(chunk("a", "one two three four"), 1.0), Hit(chunk("b", "two three"), 0.5),
            Hit(chunk("c", "five"), 0.4)]
    assert [h.chunk.id for h in dedupe_overlaps(hits)] == ["a", "c"]


def test_follow_up_is_searched_with_the_previous_question():
    history = [Turn(role="user", content="What does the place partnership lead do?"),
               Turn(role="assistant", content="They lead the partnership [1].")]
    assert retrieval_query("and who appoints them?", history) == \
        "What does the place partnership lead do? and who appoints them?"
    long_new_question = "What are the four aims of integrated care systems set out in the guidance on thriving places"
    assert retrieval_query(long_new_question, history) == long_new_question
    assert retrieval_query("and who appoints them?", []) == "and who appoints them?"
    standalone = "What is a place-based partnership?"  # short, but needs no earlier turn
    assert retrieval_query(standalone, history) == standalone
    assert retrieval_query("skills needed?", history).startswith("What does the place")


def test_a_question_names_documents_by_organisation_title_or_short_name():
    chunks = [chunk("g1", **GUIDANCE), chunk("s1", **SANDWELL), chunk("s2", **SANDWELL)]
    assert named_documents("What risks did the Sandwell paper identify?", chunks) == \
        {SANDWELL["doc_id"]}
    assert named_documents("swbh vs thriving places on governance", chunks) == \
        {SANDWELL["doc_id"], GUIDANCE["doc_id"]}
    assert named_documents("Who should be members of a place-based partnership?", chunks) == set()


def test_a_document_is_named_by_its_id_and_its_x_and_y():
    lbbd = dict(doc_id="lbbd-hwb-2022-06-14-place-partnership-lead",
                organisation="Barking and Dagenham Health and Wellbeing Board",
                title="Place Partnership Lead - ICS Place Based Partnership")
    assert {"b&d", "lbbd", "barking"} <= document_names(chunk("x", **lbbd))


def test_a_common_word_names_no_document_in_the_plural_either():
    assert document_names(chunk("x", **GUIDANCE)) >= {"thriving"}
    assert "places" not in document_names(chunk("x", **GUIDANCE))  # "in NEL places"
    assert named_documents("Until when are appointments in NEL places deferred?",
                           [chunk("g", **GUIDANCE)]) == set()


def test_a_word_that_names_two_documents_names_neither():
    bob = dict(doc_id="bob-icb-board-2022-09-27-place-based-partnerships", title="Place-based",
               organisation="Buckinghamshire Oxfordshire and Berkshire West Integrated Care Board")
    chunks = [chunk("s1", **SANDWELL), chunk("b1", **bob)]
    assert named_documents("place priorities in the west", chunks) == set()
    assert named_documents("What did Sandwell and West Birmingham decide?", chunks) == \
        {SANDWELL["doc_id"]}


def test_only_documents_among_the_callers_hits_can_be_named():
    public = [chunk("g1", **GUIDANCE)]  # a public caller's hits: no Southwark chunk among them
    assert named_documents("What did the Southwark analysis recommend?", public) == set()


def test_boost_lifts_the_named_documents_chunks_and_keeps_the_rest_in_order():
    hits = [Hit(chunk("g1", **GUIDANCE), 0.30), Hit(chunk("g2", **GUIDANCE), 0.20),
            Hit(chunk("s1", **SANDWELL), 0.16), Hit(chunk("s2", **SANDWELL), 0.05)]
    boosted = boost_named(hits, {SANDWELL["doc_id"]}, boost=1.0)
    assert [h.chunk.id for h in boosted] == ["s1", "g1", "g2", "s2"]
    assert boosted[0].score == 0.32 and boosted[3].score == 0.10
    assert boost_named(hits, set(), boost=1.0) == hits


def test_keyword_query_keeps_the_subject_and_drops_the_words_that_ask():
    assert keyword_query("What does the Sandwell paper say about risks?").split() == \
        ["the", "Sandwell", "paper", "about", "risks?"]
    assert keyword_query("Who should chair our place board?").split() == \
        ["chair", "place", "board?"]
    assert keyword_query("who?") == "who?"  # nothing but asking words: searched as asked


def test_documents_a_question_names_take_turns_at_the_top():
    hits = [Hit(chunk(f"{d}{i}", doc_id=d), 10.0 - n)
            for n, (d, i) in enumerate([("a", 1), ("a", 2), ("a", 3), ("c", 1), ("b", 1),
                                        ("b", 2)])]
    order = [h.chunk.id for h in interleave_named(hits, {"a", "b"})]
    assert order == ["a1", "b1", "a2", "b2", "a3", "c1"]
    assert interleave_named(hits, {"a"}) == hits  # one named document: the order stands


def test_an_acronym_and_its_plural_are_one_term_however_they_are_typed():
    from assistant.retrieve import query_terms

    printed = query_terms("Integrated care systems (ICSs) and primary care networks (PCNs)")
    assert query_terms("what is an ics") & printed
    assert query_terms("pcns") <= printed and query_terms("PCN") <= printed
    assert query_terms("nhs") == query_terms("NHS")
    assert query_terms("ccgs") == query_terms("CCGs") == query_terms("CCG")
    assert query_terms("icss") == query_terms("ICSs") == query_terms("ICS")
    assert query_terms("this bus") == {"bus"}  # words with vowels keep their endings


def test_staff_shorthand_means_the_word_the_documents_spell_out():
    from assistant.retrieve import query_terms

    assert query_terms("which orgs") == query_terms("which organisations")
    assert query_terms("exec leads") == query_terms("Executive leads")
    assert query_terms("medicines mgmt") == query_terms("medicines management")
    assert query_terms("information") == query_terms("info")
    assert query_terms("organic") != query_terms("organisations")  # whole words only
    assert query_terms("what's appended") == query_terms("what's in the Appendix")
    assert query_terms("annexes") == query_terms("Annex")
    assert query_terms("the thriving places doc") == query_terms("the Thriving Places document")
    assert query_terms("the icb ceo") == query_terms("the ICB Chief Executive")
    assert query_terms("would they need a coo") >= query_terms("Chief Operating Officer")
    assert query_terms("adult mh / ld") == query_terms("adult mental health / learning disabilities")
    assert query_terms("the mh provider collab") == query_terms("the MH provider collaborative")
    assert query_terms("feb 2022 white paper") == query_terms("February 2022 White Paper")
    assert query_terms("what date is v1 dated") >= query_terms("Version 1")  # "v1": a version
    assert query_terms("oxon place") == query_terms("Oxfordshire place")
    assert query_terms("bucks and berks w sub-cttees") == query_terms(
        "Buckinghamshire and Berkshire W sub-committees")
    assert query_terms("pcn cds") == query_terms("PCN clinical directors")
    # staff's everyday word for the papers' one: "answerable" is "accountable", a "job" a "role"
    assert query_terms("who is answerable") == query_terms("who is accountable")
    assert query_terms("marie gabriel's job") == query_terms("Marie Gabriel's role")
    assert query_terms("who wrote it") >= query_terms("Author")
    assert query_terms("a seat on the pbp") == query_terms("a membership on the pbp")
    # idioms for being accountable, read as the papers' words
    assert query_terms("who is still on the hook for it") == query_terms("who is still accountable")
    assert query_terms("the icb will carry the can") == query_terms("the icb will be accountable")
    assert query_terms("one person in charge of outcomes") == query_terms(
        "one person responsible for outcomes")
    assert query_terms("their worries") == query_terms("their concerns")
    # text-speak reads as the words it stands for
    assert query_terms("what shld leaders have acc to the guidance") == query_terms(
        "what should leaders have according to the guidance")
    assert query_terms("place lvl mtgs this yr") == query_terms("place level meetings this year")
    assert query_terms("trust neds") == query_terms("trust non-executive directors")
    # a section of an Act, however it is abbreviated
    assert query_terms("s75 agreements") == query_terms("S.75 agreements") \
        == query_terms("section 75 agreements")
    assert query_terms("S.65Z5") == query_terms("section 65Z5")
    assert query_terms("it's 75") == query_terms("it 75")  # an apostrophe's s is no section


def test_filler_words_name_nothing_a_question_asks_about():
    from assistant.retrieve import query_terms

    assert query_terms("what is an ics exactly") == query_terms("what is an ICS")
    assert query_terms("the nhs budget timing stuff") == query_terms("the NHS budget timing")
    assert "exactli" not in query_terms("exactly") and query_terms("budget")
    assert query_terms("full title of the doc pls") == query_terms("full title of the document")
    assert query_terms("the cover sheet headings") == query_terms("the cover")


def test_a_name_spelled_out_is_found_by_its_acronym_and_the_other_way_round():
    """The keyword index puts the acronym beside a name it spells out: "that lga report"
    finds "Local Government Association (July 2019) ...", and "health and wellbeing board"
    finds a passage that only says "HWB"."""
    index = KeywordIndex([chunk("a", "Local Government Association (July 2019) What a difference "
                                     "a place makes"),
                          chunk("b", "The HWB has provided a forum to align decisions"),
                          chunk("c", "general words about partnerships and places")])
    everything = np.ones(3, dtype=np.float32)
    assert [c.id for c, _ in index.search("that lga report", 3, everything)] == ["a"]
    assert [c.id for c, _ in index.search("health and wellbeing board forum", 3,
                                          everything)][0] == "b"
    assert [c.id for c, _ in index.search("sendai", 3, everything)] == []


def test_acronyms_stay_out_of_the_answerers_terms():
    """Only retrieval reads names as acronyms: what the answerer counts as a question's words
    (and so what it refuses) is as the caller typed it."""
    from assistant.retrieve import query_terms

    assert "lga" not in query_terms("Local Government Association")
