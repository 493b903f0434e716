"""Cited answers on the real index: right document and page, consistent markers, refusals,
no confidential material for a public caller, and the LLM path with repairs and fallback."""
from __future__ import annotations

import re
import socket

import pytest

from assistant.refusal import asked_subject, question_subject
from assistant.service import build_assistant
from core.errors import BadQuestion
from core.models import Turn
from tests.llm_stub import ChatStub

CONFIDENTIAL = "southwark-2022-07-16-ics-strategic-options"
MARKER = re.compile(r"\[(\d+)\]")

# (question, document, pages where the answer is printed)
KNOWN = [
    ("What are the four aims of integrated care systems?",
     "nhse-lga-2021-09-thriving-places-guidance", {1}),
    ("Which areas will Place-based Partnerships in BOB take responsibility for?",
     "bob-icb-board-2022-09-27-place-based-partnerships", {2}),
    ("What is the Barking and Dagenham Health and Wellbeing Board recommended to note about the Place Partnership Lead?",
     "lbbd-hwb-2022-06-14-place-partnership-lead", {1}),
]

# The six kinds of thing only the confidential paper answers, and text that would betray it.
CONFIDENTIAL_PROBES = [
    "How much is the allocation from the ICS to Partnership Southwark in 2022/23?",
    "What health inequality funding was recently agreed in Southwark?",
    "Which consultants prepared the Southwark strategic options analysis?",
    "What are the outline options for the Southwark Place Lead role?",
    "Which senior council officers in Greenwich and Bexley have taken on the place based role?",
    "What barriers and risks did Southwark identify for partnership working?",
]
LEAKS = ["Southwark", "£145 million", "£781,000", "Mutual Ventures", "Greenwich", "Bexley",
         "Strategic Options Analysis"]


@pytest.mark.parametrize("question,doc_id,pages", KNOWN)
def test_known_questions_cite_the_right_document_and_page(assistant, question, doc_id, pages):
    answer = assistant.ask(question, "public")
    assert not answer.refused, answer.answer
    assert answer.citations[0].doc_id == doc_id
    assert {c.page for c in answer.citations if c.doc_id == doc_id} & pages


def test_every_marker_has_a_citation_and_every_citation_a_marker(assistant):
    for question, _, _ in KNOWN:
        answer = assistant.ask(question, "public")
        markers = [int(n) for n in MARKER.findall(answer.answer)]
        numbers = [c.n for c in answer.citations]
        assert numbers == list(range(1, len(numbers) + 1))
        assert sorted(set(markers)) == numbers
        assert markers == sorted(markers), "markers run in order"
        for citation in answer.citations:
            assert citation.quote and citation.title and citation.page >= 1


def test_quotes_are_verbatim_sentences_of_the_cited_page(assistant, indexed_settings):
    from pypdf import PdfReader
    import unicodedata

    answer = assistant.ask(KNOWN[0][0], "public")
    for citation in answer.citations:
        pdf = PdfReader(indexed_settings.corpus_dir / f"{citation.doc_id}.pdf")
        page = unicodedata.normalize("NFKC", pdf.pages[citation.page - 1].extract_text())
        assert " ".join(citation.quote.split()) in " ".join(page.split())


@pytest.mark.parametrize("question,clearance", [
    ("What is the capital of France?", "public"),
    ("How do I renew my passport?", "public"),
    ("What is the recipe for a Victoria sponge cake?", "public"),
    # near the documents' topics, but asking for something none of them ever mentions
    ("What overtime is paid to place partnership leads?", "confidential"),
    ("What pension does the Place Delivery Director get?", "confidential"),
    ("How many helicopters does the ICB fund?", "confidential"),
])
def test_unanswerable_questions_are_refused_with_closest_documents(assistant, question, clearance):
    answer = assistant.ask(question, clearance)
    assert answer.refused, answer.answer
    assert answer.citations == []
    assert "do not answer" in answer.answer and answer.closest_documents
    if clearance == "confidential":  # refused by a rule that names the caller's own words
        assert answer.notice and question.split()[1 if question.startswith("What") else 2] \
            in answer.notice, answer.notice
    if clearance == "public":
        assert all(d.doc_id != CONFIDENTIAL for d in answer.closest_documents)


@pytest.mark.parametrize("question", CONFIDENTIAL_PROBES)
def test_public_caller_gets_nothing_from_the_confidential_paper(assistant, question):
    answer = assistant.ask(question, "public")
    assert all(c.doc_id != CONFIDENTIAL for c in answer.citations)
    assert all(d.doc_id != CONFIDENTIAL for d in answer.closest_documents)
    payload = answer.model_dump_json()
    for secret in LEAKS:
        assert secret not in payload
    hits = assistant.search(question, "public", top_k=20)
    assert all(h.chunk.visibility == "public" for h in hits)


def test_confidential_caller_is_answered_from_the_confidential_paper(assistant):
    answer = assistant.ask(CONFIDENTIAL_PROBES[0], "confidential")
    assert not answer.refused
    assert answer.citations[0].doc_id == CONFIDENTIAL
    assert "£145 million" in answer.answer


def test_documents_list_hides_confidential_titles_from_public_callers(assistant):
    public = {d.doc_id for d in assistant.documents("public")}
    everything = {d.doc_id for d in assistant.documents("confidential")}
    assert CONFIDENTIAL not in public and CONFIDENTIAL in everything
    assert len(public) == 4


def test_follow_up_uses_the_conversation(assistant):
    first = "What will BOB place-based partnerships be responsible for?"
    history = [Turn(role="user", content=first),
               Turn(role="assistant", content=assistant.ask(first, "public").answer)]
    question = "and which areas stay with the system?"
    follow_up = assistant.ask(question, "public", history=history)
    bob = "bob-icb-board-2022-09-27-place-based-partnerships"
    assert not follow_up.refused
    assert {c.doc_id for c in follow_up.citations} == {bob}
    # searched with the conversation, every passage is BOB's; alone, the words "areas" and
    # "system" reach the national guidance too
    with_history = assistant.retriever.retrieve(question, "public", history=history)[:6]
    alone = assistant.retriever.retrieve(question, "public")[:6]
    assert {h.chunk.doc_id for h in with_history} == {bob}
    assert {h.chunk.doc_id for h in alone} != {bob}


@pytest.mark.parametrize("bad", ["", "   \n", "x" * 2001])
def test_empty_or_oversized_questions_are_rejected(assistant, bad):
    with pytest.raises(BadQuestion):
        assistant.ask(bad, "public")


def _llm_assistant(settings, url: str):
    return build_assistant(settings.model_copy(update={"llm_base_url": url, "llm_timeout_s": 5}))


def test_llm_answer_keeps_valid_citations_and_drops_invented_ones(indexed_settings):
    reply = ("Integrated care systems exist to achieve four aims [1]. They also run hospitals "
             "on the moon [9]. Outcomes must improve [1][2].")
    with ChatStub(reply) as stub:
        answer = _llm_assistant(indexed_settings, stub.url).ask(KNOWN[0][0], "public")
    assert answer.mode == "llm" and not answer.refused
    assert "[9]" not in answer.answer
    # each supported claim keeps its markers, renumbered in order; a source cited for two
    # claims backed by different sentences is two citations, so the count is not fixed
    markers = sorted({int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)})
    assert [c.n for c in answer.citations] == markers == list(range(1, len(markers) + 1))
    assert len(markers) >= 2
    assert answer.citations[0].doc_id == "nhse-lga-2021-09-thriving-places-guidance"
    prompt = stub.requests[0]["messages"][-1]["content"]
    assert '<source id="1"' in prompt and "Question: " in prompt


def test_llm_answer_with_no_valid_citation_becomes_a_refusal(indexed_settings):
    with ChatStub("Everything is fine [12].") as stub:
        answer = _llm_assistant(indexed_settings, stub.url).ask(KNOWN[0][0], "public")
    assert answer.refused and answer.citations == []


def test_llm_saying_not_covered_is_a_refusal(indexed_settings):
    with ChatStub("NOT_COVERED") as stub:
        answer = _llm_assistant(indexed_settings, stub.url).ask("What is the capital of France?", "public")
    assert answer.refused and answer.mode == "llm"


def test_llm_endpoint_down_falls_back_to_extractive_and_says_so(indexed_settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    answer = _llm_assistant(indexed_settings, f"http://127.0.0.1:{port}/v1").ask(KNOWN[0][0], "public")
    assert answer.mode == "fallback" and not answer.refused
    assert "unavailable" in answer.notice
    assert answer.citations[0].page == 1


def test_llm_stream_sends_tokens_then_a_repaired_final_answer(indexed_settings):
    reply = "Integrated care systems have four aims [1] [5]. They improve outcomes in health [1]."
    with ChatStub(reply) as stub:
        events = list(_llm_assistant(indexed_settings, stub.url).ask_stream(KNOWN[0][0], "public"))
    deltas = [e.text for e in events if e.kind == "delta"]
    final = events[-1]
    assert len(deltas) == 2 and final.kind == "final"  # one per checked sentence
    assert final.answer.mode == "llm" and "".join(deltas) == final.answer.answer
    assert [c.n for c in final.answer.citations] == list(range(1, len(final.answer.citations) + 1))


def test_extractive_stream_ends_with_the_same_answer_as_ask(assistant):
    events = list(assistant.ask_stream(KNOWN[0][0], "public"))
    assert events[-1].kind == "final"
    assert "".join(e.text for e in events[:-1]) == events[-1].answer.answer
    assert events[-1].answer == assistant.ask(KNOWN[0][0], "public")


@pytest.mark.parametrize("question,subject", [
    ("What salary band is the NEL Place Partnership Lead paid?", ["salary", "band"]),
    ("How many hospital beds does the trust have?", ["hospital", "beds"]),
    ("What is meant by mutual accountability?", ["mutual", "accountability"]),
    ("Which documents say partnerships should agree a purpose?", ["documents"]),
    ("What is the Public Health Grant figure quoted for Southwark?", ["Public", "Health", "Grant"]),
    ("What goes wrong if money is not shared out?", []),
    ("What decides which leadership roles are needed at place?", []),  # a verb, not a subject
    ("What fee was paid?", ["fee"]),
    ("Who leads the place-based partnership?", []),
    ("what's barking and dagenham's public health grant", ["public", "health", "grant"]),
    ("What is the trust's role?", ["role"]),  # what the owner has, not the owner
    ("What is the LGA's postal address?", []),  # the answer's shape, like "date" or "figure"
    ("What email address do comments go to?", []),
    ("whats the delegated budget for the oxfordshire place", ["delegated", "budget"]),  # Slack
])
def test_question_subject_is_what_a_what_question_asks_about(question, subject):
    assert question_subject(question) == subject


@pytest.mark.parametrize("question, subject", [
    ("referral criteria for the memory clinic?", ["referral", "criteria"]),
    ("salary band of the place lead", ["salary", "band"]),
    ("icb budgets vs old ccg budgets - who explains the difference", ["icb", "budgets"]),
    ("the b&d place lead - who picks them", ["b", "d", "place", "lead"]),
    ("closing date for applications", ["closing"]),  # "date": the answer's shape
    # a sentence, not a bare noun phrase: no subject read off its first words
    ("since bob moved the contracts up to system level, which team holds them?", []),
    ("until when is the appointment deferred?", []),
    ("What salary band is the lead paid?", ["salary", "band"]),  # a what-question as before
    # what staff type before the question asks nothing
    ("tl;dr - what are the key points up front in thriving places",
     ["key", "points", "up", "front"]),
    ("quick q: referral criteria for the hope service?", ["referral", "criteria"]),
    ("question about the parking policy", ["question"]),  # "question" opens no question here
    # a sentence of context first: the subject is read from the clause that asks
    ("Writing the induction pack for new board members. what salary band is the lead on?",
     ["salary", "band"]),
    ("Putting together a briefing for our finance committee next week - which budget lines "
     "are delegated to place?", ["budget", "lines"]),
    ("Sorting out the agenda for our first partnership meeting - who should chair it?", []),
    # a short topic before the dash names what is asked about
    ("sandwell paper - what should partners weigh up", ["sandwell", "paper"]),
    # a wh-word ends a bare phrase; "what" starts the subject over
    ("swbh why pbps fail elsewhere", ["swbh"]),
    ("roughly what share of contact with the nhs is at home", ["share"]),
    # a pronoun, "else" or "gist" names nothing asked about
    ("what are they meant to be doing together", []),
    ("what else do they include", []),
    ("what's the gist of mutual accountability", []),
    # a noun phrase ends on what it names: the words before say whose
    ("nel place partnership lead salary band", ["partnership", "lead", "salary", "band"]),
    ("b&d partners cant agree one nominee what then", []),
    # staff's ways into a question name nothing asked about
    ("am I right that the white paper wants one person in charge in every place?", []),
    ("quick check on the bob paper - what footprint should place follow?", []),
    ("what's their main worry about the money?", ["main", "worry"]),
])
def test_a_bare_noun_phrase_question_asks_about_its_first_words(question, subject):
    """Staff type "referral criteria for X?": what they ask about is the phrase before the
    first preposition or verb, weighed like a what-question's subject."""
    assert asked_subject(question) == subject


def test_a_noun_phrase_question_about_what_no_document_names_counts_as_unmentioned(assistant):
    answerer = assistant.answerer
    assert answerer.unmentioned_subject("parking bays at the icb headquarters?", "public") == 1.0
    assert answerer.unmentioned_subject("governance principles in the sandwell paper?",
                                        "public") == 0.0


def test_a_users_own_word_beside_a_known_one_is_not_refused(assistant):
    question = "What does the Place Partnership Lead job involve?"  # no document says "job"
    assert not assistant.answerer.asks_about_the_unmentioned(question, "public")
    assert not assistant.ask(question, "public").refused


def test_the_share_of_what_is_asked_for_that_no_document_names_is_a_feature(assistant):
    """"cover" is printed somewhere, "indemnity" and "insurance" nowhere: two thirds unknown,
    which the fitted model weighs, though no longer all-or-nothing."""
    answerer = assistant.answerer
    question = "what indemnity or insurance cover do members of a joint committee need?"
    assert answerer.unmentioned_subject(question, "public") == pytest.approx(2 / 3)
    assert not answerer.asks_about_the_unmentioned(question, "public")
    assert answerer.unmentioned_subject("What salary band is the lead paid?", "public") == 1.0
    hits = assistant.retriever.retrieve(question, "public")
    scored = answerer.scored_units(question, hits)
    features = answerer.features(question, hits, scored[0], "public")
    assert features.unknown_subject == pytest.approx(2 / 3)
    assert assistant.ask(question, "public").refused


def test_a_word_naming_a_retrieved_paper_is_not_an_unknown_word(assistant):
    """Staff call a paper by its short name ("swbh", the id of the Sandwell and West
    Birmingham paper), which its pages never print: that word names the passages' document,
    it is not a subject the documents never mention."""
    from assistant.compose import CHUNKS_CONSIDERED, passage_coverage

    answerer = assistant.answerer
    question = "swbh paper - what governance principles does it set out?"
    hits = assistant.retriever.retrieve(question, "public")
    assert hits[0].chunk.doc_id.startswith("swbh-")
    assert answerer.unknown_share(question, "public") > 0  # no page prints "swbh"
    features = answerer.features(question, hits, answerer.scored_units(question, hits)[0],
                                 "public")
    assert features.unknown_terms == 0
    assert features.passage_coverage > passage_coverage(question, hits[:CHUNKS_CONSIDERED])
    assert not assistant.ask(question, "public").refused


def test_what_the_public_are_told_does_not_depend_on_confidential_words(assistant, caplog):
    question = "What shortages does the place partnership face?"  # only the paper says it
    assert assistant.answerer.asks_about_the_unmentioned(question, "public")
    assert not assistant.answerer.asks_about_the_unmentioned(question, "confidential")
    with caplog.at_level("INFO", logger="assistant.compose"):
        answer = assistant.ask(question, "public")
    assert answer.refused and '"shortages"' in answer.notice  # helps them rephrase
    assert not any(marker in answer.model_dump_json() for marker in LEAKS)
    [logged] = [r.getMessage() for r in caplog.records if r.name == "assistant.compose"]
    assert "answerability" in logged  # the score, for operators
    assert not any(marker in logged for marker in LEAKS)


def test_a_how_many_question_needs_a_number_beside_what_it_counts():
    from assistant.refusal import value_unstated

    sentences = ["The ICS has three places.", "Each place has a partnership board.",
                 "Report to the Trust Board: 7th October 2021"]
    assert value_unstated("How many places are there in the ICS?", sentences) is None
    # "2021" is a number, but not beside "hospital" or "beds"
    assert value_unstated("How many hospital beds does the trust have?", sentences) == "number"
    assert value_unstated("What is a place-based partnership?", sentences) is None


@pytest.mark.parametrize("question,passages,unstated", [
    ("what's the 2021/22 budget for the sandwell place partnership",
     ["Budgets for 2021/22 will be set by the ICB.", "The partnership meets monthly."], True),
    ("How much is the 2022/23 allocation from the ICS?",
     ["The 2022/23 allocation from the ICS to the borough is £145 million."], False),
    # "how much money" asks for a sum: a count beside "money" is not one
    ("how much money will the places get in 2022/23",
     ["Places will get money from 3 sources in 2022/23."], True),
    ("how much money will the places get in 2022/23",
     ["Places will get £12m in 2022/23."], False),
    ("how much did the ics allocate to the place in 2022/23",
     ["The ICS will allocate funding to places in 2022/23."], True),
    ("What principle must partnerships adopt when taking NHS funding?",
     ["Partnerships must adopt the principle of equal access for equal need."], False),
    ("How many GP practices are there in Oxfordshire?",
     ["One clinical director per sub-place (4 Buckinghamshire 3 Oxfordshire).",
      "GP practices in the county work together in primary care networks across the area."],
     True),
    ("how many key lines of enquiry are in the resource",
     ["It includes 10 key lines of enquiry to consider."], False),
    # a figure asked for by what it measures: a minimum, a target, a quorum
    ("what's the minimum population a place has to cover", ["Place is defined by population."],
     True),
    ("what's the minimum population a place has to cover", ["places of 250,000 population"],
     False),
    ("what size should a place be", ["The footprint of place should be a town or county."], False),
    ("what quorum does a joint committee need?", ["A joint committee may take decisions."], True),
    ("what quorum does a joint committee need?", ["The quorum is 4 members."], False),
    # a year counts nothing; a how-long question needs a duration
    ("how many icss are there in england?", ["ICSs will be statutory from April 2022."], True),
    ("how many icss are there in england?", ["There are 42 ICSs."], False),
    # a count stands before what it counts: "more than one local authority" counts
    # authorities, however near "ICS" it is printed; "members: 12" after it also counts
    ("how many icss are there in england?",
     ["Where ICS areas contain more than one local authority, HWB footprints may serve."], True),
    ("how many members does the committee have?", ["Committee members: 12."], False),
    # a number that makes an adjective counts nothing; "twenty-one" still counts
    ("how many areas have signed an integrated care provider contract?",
     ["In two-tier areas, the county council and ICS may be co-terminous."], True),
    ("how many members does the committee have?", ["It has twenty-one members."], False),
    ("how long is the lead appointed for?", ["The lead is appointed by 1 July 2022."], True),
    ("how long is the lead appointed for?", ["The lead is appointed for two years."], False),
    ("how often does the uec board meet", ["A UEC board at ICS level will oversee it."], True),
    ("how often does the uec board meet", ["The UEC board meets monthly."], False),
    ("closing date for applications for the director job?",
     ["The director role is being co-designed with partners."], True),
    ("closing date for applications for the director job?",
     ["Applications close on 24 June."], False),
    ("what's the population covered by the sandwell place",
     ["The place serves a diverse population."], True),
    ("what's the population covered by the sandwell place",
     ["The place covers a population of 580,000."], False),
    ("what's the national minimum nhs contribution to the better care fund in £?",
     ["Southwark's public health grant is £29m.", "The better care fund pools budgets."], True),
    ("what's the minimum nhs contribution to the better care fund in £?",
     ["The NHS contribution to the better care fund is £4.3bn."], False),
    # one shared word, or a shared year, does not make another sum this one
    ("how much funding did sussex ics get for its functional review?",
     ["There is £145 million allocation in 2022/23 from the ICS to Partnership Southwark."], True),
    ("what's the minimum nhs contribution to the better care fund for 2022/23 in £?",
     ["There is £145 million allocation in 2022/23 to Partnership Southwark."], True),
    ("How much is the 2022/23 allocation from the ICS to Partnership Southwark?",
     ["There is £145 million allocation in 2022/23 from the ICS to Partnership Southwark."], False),
    ("when does the place committee hold its first meeting",
     ["Nominations are due by 24 June.", "The place committee will oversee delivery."], True),
    ("When will the partnerships be formally established?",
     ["They will be formally established as we go into the 2023 calendar year."], False),
])
def test_a_question_asking_for_a_sum_a_count_or_a_measure_needs_one_in_the_passages(
        question, passages, unstated):
    from assistant.refusal import value_unstated

    assert (value_unstated(question, passages) is not None) is unstated


def test_a_shortened_word_is_known_by_the_words_it_begins(assistant):
    from assistant.retrieve import query_terms

    known = assistant.answerer.known_terms
    exec_, parking = query_terms("exec"), query_terms("parking")
    assert known(exec_, ["public"]) == exec_  # "exec director": executive
    assert not known(parking, ["public"])  # no document word begins "park"
    assert not known(query_terms("pol"), ["public"])  # too short to stand for anything


@pytest.mark.parametrize("question,passages,missing", [
    ("what was the allocation for 2023/24", ["the 2022/23 allocation is £145m"], ["2023/24"]),
    ("what was the allocation for 2022/23", ["the 2022-23 allocation is £145m"], []),
    ("allocation in 2022-23?", ["the 2022/2023 allocation"], []),
    ("What did the 2019 edition say?", ["Version 1, 2 September 2021"], ["2019"]),
    ("What happened in Sandwell in 2021?", ["Sandwell, 7th October 2021"], []),
])
def test_a_year_the_question_names_must_be_in_the_passages(question, passages, missing):
    from assistant.refusal import unsupported_names

    assert unsupported_names(question, passages) == missing


@pytest.mark.parametrize("question,places", [
    ("who chairs partnership southwark", {"southwark"}),
    ("bexley's place exec director - what council post does he hold", {"bexley"}),
    ("in greater manchester which councils' chief execs are place leads", {"greater manchester"}),
    ("stoke-on-trent and North East London plans", {"stoke on trent", "north east london"}),
    ("reading the bob paper, what does bury mean for staff?", set()),  # everyday words
    ("what does the place partnership lead do", set()),
])
def test_places_are_found_however_they_are_typed(question, places):
    from assistant.places import places_named

    assert places_named(question) == places


@pytest.mark.parametrize("question,passages,missing", [
    ("who chairs partnership southwark", ["Partnership Southwark is chaired by ..."], []),
    ("who chairs partnership southwark", ["Barking and Dagenham, North East London"],
     ["southwark"]),
    ("what does barking and dagenham's lead do", ["the Barking & Dagenham Place Lead"], []),
    ("stoke-on-trent's plan", ["the Stoke on Trent plan"], []),
    # staff shorthand for a place is the place: found as printed in full, or missed as such
    ("I need the numbers for Bucks, Oxon and Berks West",
     ["4 Buckinghamshire, 3 Oxfordshire, 3 Berkshire West"], []),
    ("what about Oxon", ["4 Buckinghamshire"], ["oxfordshire"]),
])
def test_a_place_typed_in_lower_case_must_be_in_the_passages(question, passages, missing):
    from assistant.refusal import unsupported_names

    assert unsupported_names(question, passages) == missing


def test_a_place_only_a_confidential_paper_names_is_refused_to_a_public_caller(assistant):
    """Southwark is named only in the confidential paper: typed in lower case, the public
    caller is told the guidance does not cover it; a cleared caller gets the paper."""
    question = "is southwark's place footprint the same as the council boundary"
    public = assistant.ask(question, "public")
    assert public.refused and not public.citations
    assert "southwark" not in public.answer.lower()
    cleared = assistant.ask(question, "confidential")
    assert not cleared.refused
    assert any("southwark" in c.doc_id for c in cleared.citations)


def test_a_question_about_a_year_no_paper_gives_is_refused(assistant):
    """The Southwark paper gives the 2022/23 allocation; 2023/24's is not in it."""
    answer = assistant.ask("what was partnership southwark's allocation for 2023/24", "confidential")
    assert answer.refused
    assert not assistant.ask("what was partnership southwark's allocation for 2022/23",
                             "confidential").refused


@pytest.mark.parametrize("question", [
    "What should the 2022/23 place arrangements set out?",
    "What are the four aims of integrated care systems?",
    "Who should be members of a place-based partnership?",
])
def test_no_answer_quotes_the_same_line_twice(assistant, question):
    """Lists that run across a chunk boundary meet ingest's overlap there: each item once."""
    answer = assistant.ask(question, "public")
    lines = [re.sub(r"\[\d+\]|^\s*-\s*", "", line).strip().lower()
             for line in answer.answer.splitlines()]
    lines = [line for line in lines if line]
    assert not answer.refused and len(lines) == len(set(lines))


def test_a_postal_address_is_answered_from_the_back_page(assistant):
    """Contact details sit on a document's last page, which a search for the topic misses."""
    answer = assistant.ask("What is the Local Government Association's postal address?", "public")
    assert not answer.refused and "SW1P 3HZ" in answer.answer
    assert any(c.page == 21 and "SW1P 3HZ" in c.quote for c in answer.citations)


def test_the_consultancy_that_prepared_a_report_is_named_from_its_page_about_itself(assistant):
    """The Southwark options analysis prints no "prepared by"; its last page is "About Mutual
    Ventures". A cleared caller is told the firm, cited to that page; a public caller is not."""
    question = "Which consultancy prepared the Southwark analysis?"
    answer = assistant.ask(question, "confidential")
    assert answer.answer.startswith("About Mutual Ventures")
    assert answer.citations[0].doc_id == CONFIDENTIAL and answer.citations[0].page == 8
    assert "Mutual Ventures" not in assistant.ask(question, "public").model_dump_json()


@pytest.mark.parametrize("question,passages,unstated", [
    # who holds a post: a person's name beside the post, not what the post does
    ("who is the bob icb chief exec",
     ["The ICB Chief Executive will chair the committee.",
      "Matthew Tait, Interim Chief Executive, presented the paper."], False),
    ("who is the bob icb chief exec",  # another chief: the post is every word of it
     ["The ICB Chief Executive will chair the committee.",
      "Matthew Tait, Interim Chief Delivery Officer, presented the paper."], True),
    ("who is the bob icb chief exec",
     ["The ICB Chief Executive will chair the committee.",
      "The Place Director reports to the Chief Delivery Officer."], True),
    # a name beside another chief, or beside "Executive Lead": not the chief executive's
    ("who is the bob icb chief exec",
     ["Executive Lead/Senior Responsible Officer: Matthew Tait, Interim Chief Delivery Officer"],
     True),
    ("who is the bob icb chief exec",
     ["Zena Etheridge (NEL ICB Chief Executive designate) chairs the panel."], False),
    ("who's the place lead for tower hamlets in nel",
     ["Each place will appoint a Place Partnership Lead by open competition."], True),
    ("who's the place lead for tower hamlets in nel",
     ["Cllr Maureen Worby is the Place Partnership Lead for the borough."], False),
    ("who ended up being appointed as the b&d place partnership lead",
     ["Nominations for the Place Partnership Lead are due by 24 June."], True),
    ("who ended up being appointed as the b&d place partnership lead",
     ["Zena Etheridge asked each place to nominate its Place Partnership Lead."], False),
    # the words before an outcome's post tell one director from another
    ("who got the nel clinical and care director job after the june interviews",
     ["Sponsor: Matthew Cole, Director of Public Health"], True),
    ("who got the nel clinical and care director job after the june interviews",
     ["Dr Jane Smith is the Clinical and Care Director for the place."], False),
    # "who's been appointed", "who was named": who got a post, in other words
    ("who's been appointed as the icb place director for oxfordshire in bob?",
     ["The ICB Place Director will be the key co-ordinating role for each place."], True),
    ("who was eventually confirmed as the b&d place partnership lead",  # an adverb between
     ["Nominations for the Place Partnership Lead are due by 24 June."], True),
    ("who was finally appointed as the b&d place partnership lead",
     ["Cllr Maureen Worby is the Place Partnership Lead for the borough."], False),
    ("who was named as the oxfordshire place director",
     ["Dr Jane Smith was appointed Place Director for Oxfordshire in May."], False),
    # who a body appointed or nominated, asked with the body first
    ("who did the icb appoint as place director for oxfordshire",
     ["The ICB Place Director will be the key co-ordinating role for each place."], True),
    ("does anyone know who b&d ended up nominating as their place partnership lead?",
     ["Nominations for the Place Partnership Lead are due by 24 June."], True),
    ("who has the icb picked as the oxfordshire place director",
     ["In May Dr Jane Smith became the Oxfordshire Place Director."], False),
    # the holder asked as a noun phrase: "... director name", "name of the ... lead"
    ("bob oxfordshire place director name",
     ["Executive Lead: Matthew Tait, Interim Chief Delivery Officer",
      "The ICB Place Director will be the key co-ordinating role for each place."], True),
    ("bob oxfordshire place director name",
     ["Dr Jane Smith is the Oxfordshire Place Director."], False),
    ("nel clinical and care director appointee",
     ["Sponsor: Matthew Cole, Director of Public Health"], True),
    ("what is the name of the b&d place partnership lead",
     ["Cllr Maureen Worby is the Place Partnership Lead for the borough."], False),
    # several holders ("the names of the pcn clinical directors"), and a post named before
    # the question that asks who got it
    ("names of the pcn clinical directors on the oxfordshire pbp",
     ["d. Primary Care Networks Clinical Director; one per sub-place (3 Oxfordshire)"], True),
    ("names of the pcn clinical directors on the oxfordshire pbp",
     ["Dr Jane Smith and Dr Ann Jones are the PCN Clinical Directors for Oxfordshire."], False),
    ("did the clinical and care director get appointed in june? who got the job?",
     ["Sponsor: Matthew Cole, Director of Public Health"], True),
    # a post's duties or its appointing body answer other questions, not these
    ("who is accountable for pharmacy services in bob",
     ["Pharmacy services are the responsibility of the ICB."], False),
    ("who appoints the place delivery director",
     ["The ICB appoints the Place Delivery Director."], False),
    ("who should be appointed to the place committee",
     ["Members of the committee should include the ICB Place Director."], False),
])
def test_a_question_asking_who_holds_a_post_needs_a_person_named_beside_it(
        question, passages, unstated):
    from assistant.refusal import value_unstated

    assert (value_unstated(question, passages) == "name") is unstated


READING_LIST = ["The King's Fund (April 2021) Developing place-based partnerships",
                "The King's Fund (September 2019) Creating healthy places",
                "Place-based partnerships should agree their leadership roles locally."]


@pytest.mark.parametrize("question, passages, unstated", [
    # the papers only point at it: a reading list's entry, who published it
    ("what does the king's fund 'developing place-based partnerships' report recommend",
     READING_LIST, True),
    ("what are the segments in the nhs system oversight framework",
     ["NHS England recently published the NHS System Oversight Framework for 2021/22."], True),
    # a paper that says what the publication sets out answers
    ("what does the king's fund 'developing place-based partnerships' report recommend",
     READING_LIST + ["In Developing place-based partnerships the King's Fund recommends that "
                     "places appoint a single lead."],
     False),
    # a reading list's "prepared by" entry only points at it; a sentence that shares its
    # common words ("learning", "place-based partnerships") but not its rarest printed one
    # ("Solace") is not about it
    ("what were the main findings in the solace learning from place-based partnerships report",
     ["Learning from place-based partnerships prepared by Society of Local Authority Chief "
      "Executives and Senior Managers (Solace)",
      "It reflects learning to date from existing place-based partnerships."], True),
    # a name of common words is named by them in a row: "Directors of Public Health,
    # Directors of Adult Social Care" is not about the health and social care leadership review
    ("what did the health and social care leadership review end up recommending",
     ["The Health and Social Care Leadership Review will look to improve processes.",
      "Statutory leadership roles: Directors of Public Health, Directors of Adult Social Care"],
     True),
    # a publication the papers are, named by their own words, is no outside publication
    ("what does the thriving places guidance say about chairs",
     ["Thriving places (2021) guidance on place-based partnerships"], False),
    # not a question about what a publication says
    ("who chairs the place-based partnership", READING_LIST, False),
])
def test_what_a_publication_says_is_unstated_where_the_papers_only_point_at_it(
        question, passages, unstated):
    from assistant.refusal import query_terms, value_unstated

    names = frozenset(query_terms("thriving places"))  # the retrieved paper's own name words
    assert (value_unstated(question, passages, names) == "content") is unstated


@pytest.mark.parametrize("question, passages, unstated", [
    # a body nobody is said to chair: its name's own word ("uec") never beside "chair"
    ("who chairs the bob ics uec board",
     ["This system role will be managed through a UEC board at ICS level.",
      "The ICB Chair will attend the Board."], True),
    # "them" names no body: any passage saying who chairs answers
    ("given they are joint committees, who chairs them?",
     ["Place based committees will be established as executive committees."], True),
    ("who will chair the place partnership",
     ["This role may take the form of a place-based partnership lead or chair."], False),
    ("who chairs the place partnership",
     ["Facilitating shared decision-making by chairing the place-based partnership"], False),
    # not a question about who chairs
    ("what does the chair of the icb do", ["The ICB Place Director leads place."], False),
])
def test_who_chairs_a_body_is_unstated_where_no_passage_says_chair_of_it(
        question, passages, unstated):
    from assistant.refusal import value_unstated

    assert (value_unstated(question, passages) == "chair") is unstated


def test_who_chairs_a_body_the_papers_never_say_chair_of_is_refused_and_one_they_do_is_answered(
        assistant):
    refused = assistant.ask("who chairs the bob ics uec board", "public")
    assert refused.refused and refused.citations == []
    assert refused.notice == 'No passage found says who chairs "the bob ics uec board".'
    answered = assistant.ask("who chairs the b&d place based partnership?", "public")
    assert not answered.refused and "chair" in answered.answer.casefold(), answered.answer


def test_a_refusal_for_a_value_no_passage_states_says_what_kind_was_missing():
    from assistant.refusal import unstated_notice

    assert unstated_notice("name", "who is the bob icb chief exec") == (
        'No passage found names the person who is "bob icb chief exec".')
    assert unstated_notice("chair", "who chairs the bob uec board?") == (
        'No passage found says who chairs "the bob uec board".')
    assert unstated_notice("date", "closing date for applications?") == (
        "No passage found gives the date asked for.")
    assert unstated_notice("content", "what does the ics design framework say about boards") == (
        'The papers only refer to "ics design framework"; none of them says what it sets out.')
    assert unstated_notice("number", "How many hospital beds does the trust have?") == (
        'No passage found gives a number for "hospital beds".')
    assert unstated_notice("sum", "how much money will places get in bob") == (
        "No passage found gives the sum asked for.")
    assert unstated_notice("sum", "what's the public health grant for b&d") == (
        'No passage found gives a sum of money for "public health".')


def test_a_deadline_asked_for_in_the_callers_own_word_is_answered_with_the_date(assistant):
    # "deadline" is printed in no document: it names the answer's shape (a date), not a topic,
    # so it is no reason to refuse; the answer is the sentence that gives the date
    from assistant.evidence import answer_type
    from assistant.refusal import asked_subject, question_subject

    question = "what's the deadline for b&d to nominate its place partnership lead"
    assert question_subject("what is the deadline for ICS leaders to confirm place plans") == []
    assert answer_type("timescale for setting up the bob place sub-committees?") == "when"
    answer = assistant.ask(question, "public")
    assert not answer.refused
    assert "24 June" in answer.parts[0].text
    assert answer.citations[0].doc_id == "lbbd-hwb-2022-06-14-place-partnership-lead"
    assert answer.citations[0].page == 3


def test_a_cover_sheets_letterhead_heads_no_section(assistant):
    # "HEALTH AND WELLBEING BOARD" over a board paper's cover names the meeting: a question
    # about health and wellbeing boards is not answered with the cover's date and title lines
    from assistant.evidence import COVER_FIELD_LINE

    answer = assistant.ask("what should happen to the health and wellbeing board", "public")
    assert not answer.refused
    assert not any(COVER_FIELD_LINE.match(p.text) or p.text == "14 JUNE 2022"
                   for p in answer.parts), answer.answer
    # the cover still answers what it is for: the meeting's date
    dated = assistant.ask("what date was the b&d health and wellbeing board that took the place "
                          "lead paper", "public")
    assert dated.parts[0].text == "14 JUNE 2022"


def test_a_cover_field_is_not_quoted_for_naming_the_paper_the_question_names(assistant):
    # "the bob paper" shares only "paper" with "Date of Paper: 04/09/2022": the date is not
    # what a question about the paper's purpose asks for
    answer = assistant.ask("what is the purpose of the bob paper", "public")
    assert answer.parts[0].text.startswith("This paper outlines a proposal")
    assert not any(p.text.startswith(("Date of Paper", "Conflicts of Interest"))
                   for p in answer.parts), answer.answer


@pytest.mark.parametrize("question,kind", [
    ("summarise the sandwell paper", "summary"),
    ("what is the bob paper about?", "summary"),
    ("give me an overview of the b&d report", "summary"),
    ("what does the summary say about provider collaboratives", "summary"),
    ("what is the bob place director about to do", "fact"),  # "about" alone is no summary
    ("What governance options are there for a place-based partnership?", "list"),
])
def test_a_request_for_a_summary_is_typed_as_one(question, kind):
    from assistant.evidence import answer_type

    assert answer_type(question) == kind


def test_a_summary_is_the_papers_own_account_of_itself(assistant):
    # not the cover sheet's form ("indicate with an 'X' which Strategic Objective ...") or
    # fields ("Report Author: ..."), which share the words "paper" and "report"
    sandwell = assistant.ask("summarise the sandwell paper", "public")
    assert sandwell.parts[0].text.startswith("The paper sets out the principles")
    assert not any("indicate with an" in p.text for p in sandwell.parts)
    assert {c.page for c in sandwell.citations} == {1}  # not the Black Country table (p2)
    # a guidance's key points, printed after its title page and contents, are its summary
    guidance = assistant.ask("summarise thriving places", "public")
    assert guidance.parts[0].text == "Key points" and guidance.citations[0].page == 2
    bd = assistant.ask("what is the b&d report about", "public")
    summary = ("The appointment of a Place Partnership lead is proposed",
               "The leadership of partnership working at place",
               "Place Based Partnerships are a crucial building block")
    assert bd.parts[0].text.startswith(summary), bd.answer
    assert {c.doc_id for c in bd.citations} == {"lbbd-hwb-2022-06-14-place-partnership-lead"}
    assert not any(p.text.startswith(("Report Author", "Contact Details")) for p in bd.parts)


def test_who_is_a_named_person_is_answered_by_the_role_printed_beside_the_name(assistant):
    # "who is zena etheridge" was answered with "Zena Etheridge, through the Place Based
    # Partnership Chair, needs to be informed ..." (a "Chair", but not hers); the answer is
    # where her role stands beside her name, and nothing that does not name her follows it
    answer = assistant.ask("who is zena etheridge", "public")
    assert not answer.refused
    assert "Zena Etheridge (NEL ICB Chief Executive designate)" in answer.parts[0].text
    tait = assistant.ask("who is matthew tait", "public")
    assert "Matthew Tait, Interim Chief Delivery Officer" in tait.parts[0].text
    assert all("Matthew Tait" in part.text for part in tait.parts), tait.answer  # no "Date of Paper"
    from assistant.evidence import WHO_IS_NAMED

    assert WHO_IS_NAMED.match("who's marie gabriel in the nel place lead selection")["name"] == (
        "marie gabriel")
    # a post or a doing is no name: "who is the place director" asks for the post's holder
    assert WHO_IS_NAMED.match("who is the place director") is None
    assert WHO_IS_NAMED.match("who is sponsoring the b&d report") is None


def test_a_cover_sheet_field_answers_only_what_it_is_for(assistant):
    # "Date and Name of Committee at which Paper Reviewed: ICB Executive 12/09/2022" led the
    # answer to whether the model constitution requires a named place committee (it shares
    # "name" and "committee"); a field answers questions about the paper, or ones its label names
    from assistant.compose import COVER_FIELD

    answer = assistant.ask("does the model icb constitution require a named place committee for "
                           "every place?", "confidential")
    assert not any(COVER_FIELD.match(p.text) for p in answer.parts), answer.answer
    asked = assistant.ask("which agenda item was the bob place-based partnerships paper", "public")
    assert COVER_FIELD.match(asked.parts[0].text), asked.answer


def test_a_value_for_a_named_place_is_looked_for_in_papers_about_that_place(assistant):
    # Southwark's "Public Health Grant of £29m" is no answer to Barking and Dagenham's grant
    from assistant.compose import about_places_asked

    question = "what's barking and dagenham's public health grant this year"
    hits = assistant.retriever.retrieve(question, "confidential")
    assert any("Public Health Grant of £29m" in h.chunk.text for h in hits)
    kept = about_places_asked(question, hits)
    assert kept and not any("Public Health Grant of £29m" in h.chunk.text for h in kept)
    answer = assistant.ask(question, "confidential")
    assert answer.refused and "sum" in (answer.notice or ""), answer.answer
    # a comparison's places are each answered from their own papers
    both = "how many places does bob have vs the black country"
    assert about_places_asked(both, hits) == list(hits)


def test_when_a_named_paper_came_out_is_answered_by_the_date_on_its_cover(assistant):
    # "when was thriving places published" got the foreword (no date); the cover's
    # "Version 1, 2 September 2021" never says "published", but is all that is asked
    from assistant.evidence import DATE

    answer = assistant.ask("when was thriving places published", "public")
    assert answer.parts[0].text == "Version 1, 2 September 2021", answer.answer
    assert answer.citations[0].page == 1
    # the paper's dates, not every cover field after the first
    written = assistant.ask("when was the bob paper written", "public")
    assert written.parts[0].text.startswith("Date of Paper"), written.answer
    assert all(DATE.search(part.text) for part in written.parts), written.answer


def test_a_fragment_split_off_a_line_does_not_follow_an_answer(assistant):
    # "the ICB." (a line the PDF split off the next item) followed the VCSE item as if it said
    # something; a short piece with a figure in it ("July 2022") may still follow
    answer = assistant.ask("what's the role of the voluntary sector at place", "public")
    assert not answer.refused
    assert all(len(p.text.split()) >= 3 or any(c.isdigit() for c in p.text)
               for p in answer.parts), answer.answer


def test_anything_in_a_question_is_not_an_unknown_word(assistant):
    # no paper prints "anything", so "does thriving places say anything about housing" counted
    # a word no document uses and was refused, while "what does ... say about housing" was not
    answer = assistant.ask("does thriving places say anything about housing", "public")
    assert not answer.refused
    assert "housing" in " ".join(p.text for p in answer.parts[:2]).lower(), answer.answer
    assert answer.citations[0].doc_id == "nhse-lga-2021-09-thriving-places-guidance"
    listed = assistant.ask("bob pbp sub-committees list pls", "public")  # nor is "pls"
    assert not listed.refused and "Urgent and emergency care" in listed.answer


def test_a_comparison_of_two_things_gets_a_part_about_each(assistant):
    # "difference between a joint committee and a committee of a statutory body" got the joint
    # committee row alone; Table 2's "Committee of a statutory body" row is the other half
    from assistant.compose import compared_sides

    answer = assistant.ask("difference between a joint committee and a committee of a "
                           "statutory body", "public")
    assert not answer.refused
    sections = {c.section.split(" > ")[-1] for c in answer.citations}
    assert {"Joint committee", "Committee of a statutory body"} <= sections, answer.citations
    # the words both sides share ("committee") say nothing of either; a long clause is no side
    assert compared_sides("lead provider vs joint committee") == [{"lead", "provid"},
                                                                 {"joint", "committe"}]
    assert compared_sides("by when will bob have worked out which camhs bits sit with place "
                          "vs system") == []


def test_a_comparison_of_three_things_gets_a_part_about_each(assistant):
    # Table 3's three leadership roles, each its own row; "lead" is shared, so no side's word
    from assistant.compose import compared_sides

    assert compared_sides("difference between a partnership convenor, an exec lead and a "
                          "programme lead") == [{"partnership", "convenor"}, {"execut"},
                                                {"programm"}]
    answer = assistant.ask("table 3 of thriving places - what's the difference between a "
                           "partnership convenor, an exec lead and a programme lead?", "public")
    assert not answer.refused
    sections = {c.section.split(" > ")[-1] for c in answer.citations}
    assert {"Partnership convenor", "Executive leads", "Programme leads"} <= sections, sections


def test_each_paper_in_a_comparison_speaks_from_its_body_not_its_cover_summary(assistant):
    # "The paper sets out the principles for Place Based Partnerships" (the Sandwell cover)
    # shares every topic word and says nothing of what a partnership is; page 2 does
    answer = assistant.ask("what do thriving places and the sandwell paper each say a "
                           "place-based partnership is?", "public")
    sandwell = [c for c in answer.citations if c.doc_id.startswith("swbh")]
    assert sandwell and all(c.page > 1 for c in sandwell), answer.citations
    assert any(c.doc_id.startswith("nhse-lga") for c in answer.citations)


LBBD = "lbbd-hwb-2022-06-14-place-partnership-lead"
# what staff ask about a paper itself, and where the real papers print it: (question, the
# first citation's document, page and the words its quote starts with)
ABOUT_THE_PAPER = [
    ("the b&d place lead paper is a report of who", LBBD, 1, ("Report of", "Report Author")),
    ("who is the b&d place lead paper from?", LBBD, 1, ("Report of", "Report Author", "Sponsor")),
    ("what appendices come with the b&d place lead report", LBBD, 5, ("Appendix A",)),
    ("what is the b&d report called", LBBD, 1, ("Title: Place Partnership Lead",)),
    ("full title of the thriving places guidance", "nhse-lga-2021-09-thriving-places-guidance", 1,
     ("Thriving places", "Guidance on the development")),
]


@pytest.mark.parametrize("question,doc_id,page,opening", ABOUT_THE_PAPER)
def test_questions_about_a_paper_are_answered_from_where_it_prints_that(assistant, question,
                                                                         doc_id, page, opening):
    """Its author, appendices and title: the cover's lines or the last page's list, first."""
    answer = assistant.ask(question, "public")
    assert not answer.refused, answer.answer
    first = answer.citations[0]
    assert (first.doc_id, first.page) == (doc_id, page), answer.answer
    assert first.quote.startswith(opening), first.quote


def test_who_holds_a_post_in_a_named_paper_is_looked_for_in_that_paper(assistant):
    """B&D's paper names the NEL ICB's chief executive designate; BOB's names none: the
    holder of BOB's post is not stated, and the question is refused saying so."""
    answer = assistant.ask("who is the bob icb chief executive", "public")
    assert answer.refused, answer.answer
    assert "Zena" not in answer.model_dump_json()
    assert "names the person" in (answer.notice or ""), answer.notice
