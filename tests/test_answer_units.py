"""The units engine's steps on inline data: answer types, units (lists, nesting, numbered
items, sets set out as headings), scoring, selection, composition and the fitted model."""
from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.answerability import FEATURES, Features, Model, like_unanswerable, load_model
from assistant.compose import UnitAnswerer, compose, covers_for, named_documents, select_units
from assistant.evidence import Scored, answer_type, score_units, without_exclusions
from assistant.retrieve import document_names
from assistant.units import units_of
from core.models import Chunk, Hit
from core.settings import Settings


def chunk(text: str, *, doc_id: str = "bob-icb-board", page_map=(), section: str = "Governance",
          section_map=(), title: str = "Place-based Partnerships", ordinal: int = 0,
          organisation: str = "Buckinghamshire Oxfordshire and Berkshire West ICB") -> Chunk:
    return Chunk(id=f"{doc_id}:x:{ordinal:04d}", doc_id=doc_id, title=title,
                 organisation=organisation, date="", doc_type="", visibility="public",
                 page_start=1, page_end=max([1, *(p for _, p in page_map)]), section=section,
                 ordinal=ordinal, text=text, content_hash="", page_map=tuple(page_map),
                 section_map=tuple(section_map))


@pytest.mark.parametrize("question, kind", [
    ("When will the sub-committees be formally established?", "when"),
    ("By what date must the borough nominate its lead?", "when"),
    ("Until when is the appointment of pathway leads deferred?", "when"),
    ("meeting dates of the two papers", "when"),
    ("How many Primary Care Network directors sit on the committee?", "how many"),
    ("Who wrote the Sandwell paper?", "author"),
    ("which consultancy prepared the analysis", "author"),
    ("Which section of the NHS Act 2006 allows joint committees between a local authority and an ICB?",
     "fact"),  # "authority" names no author
    ("who sponsored the bob paper", "author"),
    ("the b&d place lead paper is a report of who", "author"),
    ("who is the bob place paper from?", "author"),
    ("presented by whom?", "author"),
    ("what's appended to the place lead report", "appendix"),
    ("full title of the thriving places doc pls", "title"),
    ("what is the b&d report called", "title"),
    ("what are the local icps called in the black country table", "list"),
    ("who co-produced thriving places", "author"),
    ("is there a written job spec yet for the delivery post?", "fact"),  # "written": no author
    ("why does the paper say nhse wrote the guidance on its own?", "fact"),
    ("which appendices come with the bob paper", "appendix"),
    ("what's attached as annex 1 to the sandwell paper", "appendix"),
    ("bob annex on community integration - what does it say", "fact"),  # what an annex says
    ("who does the report say should lead from april", "who"),  # "from" a date, not a sender
    ("Who chairs the place committee?", "who"),
    ("What are the three categories of leadership role?", "list"),
    ("Which service areas will partnerships be responsible for?", "list"),
    ("What does a Place Partnership Lead do?", "list"),
    ("the sandwell paper's principles - what are they", "list"),
    ("the key lines of enquiry in the guide - can you list them?", "list"),
    ("What should ICS leaders confirm about their arrangements for 2022/23?", "fact"),
    ("what are s75 agreements used for at place?", "fact"),  # what it is for, not a set
    ("what are place boards meant to do?", "fact"),
    ("How is place defined?", "fact"),
    ("lga postal address on the back of the guidance?", "contact"),
    ("What is the LGA's address?", "contact"),
    ("how do i sign up for the integrated care bulletin", "contact"),
    ("which areas will the partnerships address?", "list"),  # a verb, not a postal address
    ("which version of the guidance is this and when was it published?", "when"),  # a later part
    ("what happens when the partners cannot agree a nominee?", "fact"),  # "when" a condition
    ("swbh paper says partnerships failed elsewhere - what were the usual reasons?", "list"),
    ("Prepping for the board. Which areas will the partnerships own?", "list"),  # after context
    ("table 1 promote health row - what sort of things count", "fact"),  # a row is prose
    ("are b&d advertising the lead post? want to forward the link to a colleague", "fact"),
])
def test_answer_type_is_read_from_the_question(question, kind):
    assert answer_type(question) == kind


MEMBERSHIP = chunk(
    "There will be a minimum expectation of core membership which includes:\n"
    "- Director of Public Health\n"
    "- Primary Care Networks Clinical Director; one per sub-place (4 Buckinghamshire 3 "
    "Oxfordshire, 3 Berkshire West)\n"
    "  - a sub-item kept under its parent\n"
    "- Healthwatch representative\n"
    "Next steps are set out below.", page_map=((0, 3), (160, 4)))


def test_a_list_unit_keeps_whole_items_and_leaves_sub_items_under_their_parent():
    [listed] = [u for u in units_of(MEMBERSHIP, 0) if u.items]
    assert listed.lead.text.endswith("which includes:")
    assert [i.text for i in listed.items] == [
        "Director of Public Health",
        "Primary Care Networks Clinical Director; one per sub-place (4 Buckinghamshire 3 "
        "Oxfordshire, 3 Berkshire West)",
        "Healthwatch representative"]


def test_an_intro_ending_in_a_colon_is_quoted_only_with_its_items():
    """"...core membership which includes:" alone answers nothing; its list does."""
    intros = [u for u in units_of(MEMBERSHIP, 0) if u.lead.text.endswith("which includes:")]
    assert [len(u.items) for u in intros] == [3]
    closed = chunk("Three tests apply to each function. Each is set out below.\n- first\n- second")
    assert any(not u.items and u.lead.text.startswith("Three tests") for u in units_of(closed, 0))


CONTINUED = "\nA long paragraph that is not part of the list follows on here."


@pytest.mark.parametrize("first, second, items", [
    ("The three collaboratives are:\n- Thames Valley adult secure services",
     "- Tier 4 child and adolescent mental health\n- HOPE eating disorders",
     ["Thames Valley adult secure services", "Tier 4 child and adolescent mental health",
      "HOPE eating disorders"]),
    # ingest opens a chunk with the last short block of the one before: an item cut there is
    # listed once ("the planned governance model ..." in Thriving Places had been quoted twice)
    ("They should set out:\n- the configuration of places\n- the governance model",
     "- the governance model\n- the reporting relationships",
     ["the configuration of places", "the governance model", "the reporting relationships"]),
])
def test_a_list_cut_by_the_chunk_end_continues_in_the_next_chunk(first, second, items):
    following = chunk(second + CONTINUED, ordinal=1)
    [listed] = [u for u in units_of(chunk(first), 0, lambda c: following) if u.items]
    assert [i.text for i in listed.items] == items


def test_a_set_does_not_take_the_headings_of_the_next_numbered_section():
    """"Two recently published documents ..." in "1. Introduction" is not answered by the
    headings "2. Proposal and Issues" and "2.1 Place Partnership Lead" printed after it."""
    text = ("Two recently published documents describe approaches to place leadership.\n"
            "The first was published in July 2021 by NHS England.\n"
            "2. Proposal and Issues\n2.1 Place Partnership Lead\nThe role convenes partners.")
    starts = [0, text.index("2. Proposal"), text.index("2.1 Place")]
    sections = ["1. Introduction", "2. Proposal and Issues",
                "2. Proposal and Issues > 2.1 Place Partnership Lead"]
    paper = chunk(text, section="1. Introduction", section_map=tuple(zip(starts, sections)))
    assert not [u for u in units_of(paper, 0) if u.items and u.lead.text.startswith("Two")]


def test_a_sentence_opening_with_following_announces_no_set():
    """"Following several years of ..." means "after"; the headings printed after it (a
    contents page's "Contents", "About this document") are not its items."""
    text = ("Following several years of locally-led development, the government has set out "
            "plans to put ICSs on a statutory footing.\nContents\nAbout this document")
    starts = [0, text.index("Contents"), text.index("About this")]
    sections = ["Foreword", "Contents", "Contents > About this document"]
    guide = chunk(text, section="Foreword", section_map=tuple(zip(starts, sections)))
    assert not [u for u in units_of(guide, 0) if u.items]


def test_numbered_lines_after_an_intro_are_its_items():
    text = ("Sussex used three design principles:\n1. Do we need a critical mass?\n"
            "2. Will working together achieve more?\n3. Does the plan align?\nAfterwards.")
    [listed] = [u for u in units_of(chunk(text), 0) if u.items]
    assert len(listed.items) == 3 and listed.items[0].text.startswith("1. Do we need")


def test_a_set_set_out_as_headings_takes_as_many_as_the_intro_counts():
    text = ("The roles fall into the three broad categories described in Table 3.\n"
            "Table 3: Leadership roles\nPartnership convenor\nConvenes the partnership.\n"
            "Executive leads\nTake responsibility.\nProgramme leads\nCoordinate.\n"
            "Leadership skills\nSkills matter.")
    starts = [text.index(h) for h in ("Table 3", "Partnership convenor", "Executive leads",
                                      "Programme leads", "Leadership skills")]
    sections = ["L > Roles > Table 3: Leadership roles", "L > Roles > Table 3: Leadership roles "
                "> Partnership convenor", "L > Roles > Table 3: Leadership roles > Executive leads",
                "L > Roles > Programme leads", "L > Leadership skills"]
    table = chunk(text, section="L > Roles", section_map=tuple(zip(starts, sections)))
    [listed] = [u for u in units_of(table, 0) if u.items]
    assert [i.text for i in listed.items] == ["Partnership convenor", "Executive leads",
                                              "Programme leads"]


def test_a_when_question_prefers_the_unit_that_gives_a_date():
    text = ("The sub-committees will support development of the partnerships.\n"
            "It is envisaged that the sub-committees will be formally established as we go into "
            "the 2023 calendar year.")
    best = score_units("When will the sub-committees be formally established?",
                       units_of(chunk(text), 0))[0]
    assert "2023" in best.unit.lead.text and best.typed == 1.0


def test_words_naming_the_document_need_not_be_in_the_quote():
    text = ("The Sandwell paper was written for the trust board meeting in public.\n"
            "Report Author: Daren Fradgley, Interim Director of Integration")
    sandwell = chunk(text, doc_id="swbh-trust", title="Place Based Partnerships",
                     organisation="Sandwell and West Birmingham Hospitals NHS Trust Board")
    best = score_units("Who wrote the Sandwell paper?", units_of(sandwell, 0))[0]
    assert best.unit.lead.text.startswith("Report Author: Daren Fradgley")


def test_documents_are_named_by_distinctive_words_and_x_and_y():
    lbbd = chunk("x", doc_id="lbbd-hwb", title="Place Partnership Lead",
                 organisation="Barking and Dagenham Health and Wellbeing Board")
    assert {"barking", "dagenham", "b&d", "lbbd"} <= document_names(lbbd)
    assert "lead" not in document_names(lbbd) and "place" not in document_names(lbbd)
    hits = [Hit(lbbd, 1.0), Hit(MEMBERSHIP, 0.5)]
    assert named_documents("what will the b&d place lead do", hits) == ["lbbd-hwb"]
    assert named_documents("what does a place lead do", hits) == []


def compared(question: str, bob: Chunk, lbbd_text: str) -> list:
    """The units chosen for a comparison of a BOB chunk and a Barking and Dagenham one."""
    lbbd = chunk(lbbd_text, doc_id="lbbd-hwb", title="Place Partnership Lead",
                 organisation="Barking and Dagenham Health and Wellbeing Board")
    scored = score_units(question, units_of(bob, 0) + units_of(lbbd, 1))
    return select_units(question, scored, [Hit(bob, 1.0), Hit(lbbd, 0.9)])


def test_a_comparison_gets_a_unit_from_each_document_it_names():
    chosen = compared("who does the bob place director report to, and the b&d delivery director?",
                      chunk("BOB place directors report to the ICB Chief Delivery Officer."),
                      "The Place Delivery Director reports to the place partnership lead.")
    assert {u.lead.chunk.doc_id for u in chosen} == {"bob-icb-board", "lbbd-hwb"}


def test_a_comparison_takes_each_papers_body_not_its_account_of_itself():
    # the paper's own summary covers every topic word; what it says of pooled budgets is in
    # its body, on a later page
    bob = chunk("This paper outlines our proposals for pooled budgets at place.\n"
                "Pooled budgets for mental health will be managed at place by the ICB Place "
                "Director.", page_map=((0, 1), (64, 5)))
    chosen = compared("pooled budgets: what do the bob paper and the b&d paper each say?", bob,
                      "The partnership will hold pooled budgets through a section 75 agreement.")
    bob_parts = [u.lead.text for u in chosen if u.lead.chunk.doc_id == "bob-icb-board"]
    assert bob_parts and all(not t.startswith("This paper") for t in bob_parts), bob_parts
    assert any(u.lead.chunk.doc_id == "lbbd-hwb" for u in chosen)


def test_a_list_on_one_page_is_one_citation_and_one_across_two_pages_is_two():
    [listed] = [u for u in units_of(MEMBERSHIP, 0) if u.items]
    answer = compose([listed])
    assert [c.page for c in answer.citations] == [3, 4]
    assert answer.citations[0].quote.startswith("There will be a minimum expectation")
    assert "Director of Public Health" in answer.citations[0].quote
    assert [p.citations for p in answer.parts] == [[1], [], [], [2]]
    assert answer.answer.count("[1]") == 1 and answer.answer.count("[2]") == 1


def test_the_shipped_model_matches_the_features_and_rises_with_evidence():
    model = load_model()
    weak = Features(0.2, 0.1, 0.0, 0.3, 0.5, 1.0, 1.0, 0.0)
    strong = Features(0.7, 0.9, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0)
    assert model.probability(strong) > model.threshold > model.probability(weak)
    assert list(Features.__dataclass_fields__) == FEATURES
    # asking what happened after a paper lowers the probability, everything else alike
    after = Features(0.7, 0.9, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, outcome=1.0)
    assert model.probability(after) < model.probability(strong)


@pytest.mark.parametrize("question, outcome", [
    ("when did the bob sub-committees actually hold their first meetings", True),
    ("did the leadership review ever report back", True),
    ("what did southwark end up deciding on the place lead", True),
    ("any minutes from the 27 sept board?", True),
    ("what did hwb members say about the paper", True),
    ("how many areas have actually signed a contract so far", True),
    ("Who was eventually appointed as the B&D Place Partnership Lead?", True),
    ("what was finally agreed about the oxfordshire place budget", True),
    ("who was appointed to chair the selection panel", False),  # what the paper says
    ("who has to sign off the place plan", False),
    # what the paper itself asked for, not what came after it
    ("was either board actually being asked to sign anything off", False),
    ("what does the guidance actually say about subsidiarity", False),  # what it says, not did
    ("when will bob partnerships be formally established", False),
])
def test_a_question_about_what_happened_after_the_paper_is_told_apart(question, outcome):
    from assistant.refusal import OUTCOME_ASKED

    assert bool(OUTCOME_ASKED.search(question)) is outcome


def _unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=float)
    return vector / np.linalg.norm(vector)


def test_a_question_like_the_ones_the_documents_did_not_answer_scores_higher():
    precedents = np.array([_unit(1, 0, 0), _unit(1, 0.1, 0), _unit(0, 1, 0), _unit(0, 1, 0.1)])
    answerable = np.array([False, False, True, True])
    like_a_staff_policy = like_unanswerable(_unit(1, 0.05, 0), precedents, answerable, k=2)
    like_the_guidance = like_unanswerable(_unit(0.05, 1, 0), precedents, answerable, k=2)
    assert like_a_staff_policy > 0.5 > -0.5 > like_the_guidance
    assert like_unanswerable(_unit(1, 0, 0), precedents[:2], answerable[:2]) == 0.0  # one kind
    assert like_unanswerable(_unit(1, 0), precedents, answerable) == 0.0  # another embedder


def test_a_question_is_never_its_own_precedent_and_public_callers_see_public_ones_only():
    """The dev set is measured as new questions are: a precedent worded as the question asked
    (spacing and case aside) is left out. A precedent only a cleared caller has answered is
    used for cleared callers only."""
    texts = {"what is the parking policy?": (1, 0, 0), "who chairs the board?": (0, 1, 0),
             "who sits on the board?": (0, 0.9, 0.1)}
    model = Model((0.0,) * len(FEATURES), 0.0, 0.5,
                  precedents=(("What is the parking policy?", False, "public"),
                              ("Who chairs the board?", True, "public"),
                              ("Who sits on the board?", True, "confidential")))
    answerer = UnitAnswerer(Settings(_env_file=None), model=model,
                            embed_query=lambda q: _unit(*texts[" ".join(q.split()).lower()]),
                            embed_texts=lambda ts: np.array([_unit(*texts[t.lower()]) for t in ts]))
    assert answerer.like_unanswerable("what is the  parking policy?") == 0.0  # no other kind
    assert answerer.like_unanswerable("Who chairs the board?") == 0.0  # its twin is confidential
    assert answerer.like_unanswerable("Who chairs the board?", "confidential") < 0


def test_a_question_only_a_cleared_caller_has_answered_is_a_precedent_for_them_only():
    """A question only a cleared caller has answered (the Southwark paper's) is a precedent
    for cleared callers only: nothing a public caller cannot see shapes their feature."""
    from evals.dataset import Question
    from evals.fit import precedents_of

    questions = [Question("a", "What is a place-based partnership?", True, "fact", {"tp": (2,)}),
                 Question("b", "Who prepared the Southwark analysis?", True, "probe",
                          {"southwark": (8,)}),
                 Question("c", "What is the parking policy?", False, "unanswerable", {})]
    ids = [f"{q}/{c}" for q in "abc" for c in ("public", "confidential")]
    labels = np.array([1, 1, 0, 1, 0, 0])
    assert precedents_of(questions, labels, ids) == [
        ("What is a place-based partnership?", True, "public"),
        ("Who prepared the Southwark analysis?", True, "confidential"),
        ("What is the parking policy?", False, "public")]


def test_fitting_reports_cross_validated_figures_and_a_threshold():
    from evals.fit import fit

    rng = np.random.default_rng(0)
    answerable = rng.uniform(0.5, 1.0, size=(40, len(FEATURES)))
    unanswerable = rng.uniform(0.0, 0.5, size=(20, len(FEATURES)))
    rows = np.vstack([answerable, unanswerable])
    labels = np.array([1] * 40 + [0] * 20)
    fitted = fit(rows, labels)
    assert fitted["features"] == FEATURES and len(fitted["weights"]) == len(FEATURES)
    assert fitted["cross_validated"]["answered_rate_answerable"] >= 0.85
    assert fitted["cross_validated"]["refusal_rate_unanswerable"] >= 0.9
    model = Model(tuple(fitted["weights"]), fitted["bias"], fitted["threshold"])
    assert model.probability(Features(*answerable[0])) > model.threshold
    json.dumps(fitted)  # what evals.fit writes
    # a question's two clearance rows stay in one fold: with them grouped, the fit still works
    twins = fit(np.vstack([rows, rows]), np.concatenate([labels, labels]),
                [f"q{i}" for i in range(len(labels))] * 2)
    assert twins["weights"] and twins["cross_validated"]["answered_rate_answerable"] >= 0.85


@pytest.mark.parametrize("line, label", [
    ("Role of the System", True), ("Medicines Management", True),
    ("Version 1, 2 September 2021", False), ("Report Author: Jane Leaman", False),
    ("Mark Cubbon Interim Chief Operating Officer NHS England", False),
    ("SANDWELL AND WEST BIRMINGHAM HOSPITALS NHS TRUST", True),  # a letterhead
])
def test_a_short_line_without_numbers_or_colon_is_a_label_not_a_fact(line, label):
    from assistant.evidence import is_label

    assert is_label(line) is label


ROLES_TEXT = (
    "Executive leads\n"
    "Leaders who are appointed to take on responsibility for decision-making functions "
    "delegated to the place partnership. These roles will be fulfilled by employees of the "
    "statutory body delegating the function.\n"
    "Programme leads\n"
    "Leaders who take on responsibility for shared programmes of work.")
ROLES = chunk(ROLES_TEXT, section="Leadership roles > Executive leads", section_map=(
    (ROLES_TEXT.index("Programme leads"), "Leadership roles > Programme leads"),))


def test_the_piece_after_the_best_unit_in_its_section_follows_it_and_never_crosses_a_heading():
    from assistant.units import next_in_section

    units = units_of(ROLES, 0)
    matched = next(u for u in units if u.lead.text.startswith("Leaders who are appointed"))
    assert next_in_section(matched).text.startswith("These roles will be fulfilled")
    last = next(u for u in units if u.lead.text.startswith("These roles"))
    assert next_in_section(last) is None  # "Programme leads" opens another section
    scored = score_units("who fills the executive leads posts", units)
    chosen = select_units("who fills the executive leads posts", scored, [Hit(ROLES, 1.0)])
    texts = [u.lead.text for u in chosen]
    assert texts[0].startswith("Leaders who are appointed")
    assert texts[1].startswith("These roles will be fulfilled")
    assert len(texts) == len(set(texts))


def test_what_follows_skips_a_bare_paragraph_number_and_stops_at_a_label():
    from assistant.units import next_in_section

    numbered = chunk("Committees will be executive committees of the Board.\n16.\n"
                     "This is a first step and the form may evolve.\nMedicines Management\n"
                     "Medicines are managed by the ICB.")
    units = units_of(numbered, 0)
    first = next(u for u in units if u.lead.text.startswith("Committees"))
    assert next_in_section(first).text == "This is a first step and the form may evolve."
    step = next(u for u in units if u.lead.text.startswith("This is a first step"))
    assert next_in_section(step) is None  # "Medicines Management" names a new topic
    captioned = chunk("Support the convening of the partnership.\n"
                      "Table 3: Leadership roles in place-based partnerships\nMore text.")
    lead = units_of(captioned, 0)[0]
    assert next_in_section(lead) is None  # a table's caption is not what the sentence leads to
    asks = chunk("It will be formally established in the 2023 calendar year.\n"
                 "Asks of the Board or of members present\nThe Board is asked to note it.")
    assert next_in_section(units_of(asks, 0)[0]) is None  # a heading the layout missed


def test_each_document_of_a_comparison_brings_what_follows_its_best_unit():
    bob = chunk("BOB place directors report to the ICB Chief Delivery Officer.\n"
                "They also have a line of escalation to the ICB Chief Executive.")
    lbbd = chunk("The Place Delivery Director reports to the place partnership lead.\n"
                 "The post also reports into the Council and the ICB.",
                 doc_id="lbbd-hwb", organisation="Barking and Dagenham Health and Wellbeing Board",
                 title="Place Partnership Lead")
    hits = [Hit(bob, 1.0), Hit(lbbd, 0.9)]
    question = "who does the bob place director report to, and the b&d delivery director?"
    scored = score_units(question, units_of(bob, 0) + units_of(lbbd, 1))
    texts = [u.lead.text for u in select_units(question, scored, hits)]
    assert "They also have a line of escalation to the ICB Chief Executive." in texts
    assert "The post also reports into the Council and the ICB." in texts


def quoted(question: str, *chunks: Chunk) -> list[str]:
    """The leads of the units an answer quotes from these chunks, retrieved in this order."""
    units = [u for rank, c in enumerate(chunks) for u in units_of(c, rank)]
    hits = [Hit(c, 1.0 - 0.1 * rank) for rank, c in enumerate(chunks)]
    return [u.lead.text for u in select_units(question, score_units(question, units), hits)]


def test_the_same_words_printed_twice_are_quoted_once():
    table = chunk("2 Align management Place-based partners agree options to align and share "
                  "resources.\nAlign managementPlace-based partners agree options to align and "
                  "share resources.\nPartners agree options for pooled budgets.")
    texts = quoted("what options do place-based partners agree", table)
    assert sum("partners agree options to align" in t for t in texts) == 1


def test_a_sentence_printed_again_a_few_words_apart_is_quoted_once():
    """A guidance's summary and body often say one thing twice in nearly the same words."""
    summary = chunk("Elements of this guidance are subject to change until the legislation passes "
                    "through Parliament and receives Royal Assent.\nWe welcome feedback.")
    body = chunk("Elements of this guidance are subject to change until the legislation receives "
                 "Royal Assent.\nGuidance on place leadership follows.", ordinal=1)
    texts = quoted("could the guidance change before royal assent", summary, body)
    assert sum("subject to change" in t for t in texts) == 1
    # sharing many words is not saying the same thing: two different options both stay
    options = chunk("The committee of a statutory body can hold a delegated budget set by it.\n"
                    "A joint committee of two statutory bodies can hold a pooled budget agreed by "
                    "both of them.")
    assert len(quoted("which committees can hold a budget", options)) == 2


def test_a_cover_sheet_field_supports_only_a_question_about_the_paper():
    """A paper's author or conflicts of interest say nothing about what its body says."""
    cover = chunk("Author: Matthew Tait, Interim Chief Delivery Officer\n"
                  "Conflicts of Interest Board members are likely to be members of partnerships")
    body = chunk("Subject matter experts for other functions will attend as requested.",
                 ordinal=1, page_map=((0, 8),))
    hits = [Hit(body, 1.0), Hit(cover, 0.9)]
    answer_unit, author, conflicts = units_of(body, 0) + units_of(cover, 1)

    def answer(question: str) -> list[str]:
        scored = [Scored(answer_unit, 1.0, 0.8, 0.0, 0.0), Scored(conflicts, 0.9, 0.7, 0.0, 0.0),
                  Scored(author, 0.8, 0.6, 0.0, 1.0)]  # an author line: the author's shape
        return [u.lead.text for u in select_units(question, scored, hits)]

    texts = answer("which functions attend place meetings as requested")
    assert texts[0].startswith("Subject matter experts")
    assert not any(t.startswith(("Author", "Conflicts")) for t in texts)
    # a question about the paper, or one naming the field, has it in its answer
    assert any(t.startswith("Author") for t in answer("who wrote the paper on functions"))
    assert any(t.startswith("Conflicts") for t in answer("any conflicts of interest declared?"))
    # a who-question may be answered by a field that names people, not by any other field
    who = answer("who attends place meetings as requested")
    assert not any(t.startswith("Conflicts") for t in who), who
    assert any(t.startswith("Author") for t in who), who


def test_a_supporting_unit_does_not_run_on_over_the_page():
    """What follows a supporting sentence on the next page is another page's citation; what
    follows the answer itself is still quoted (the answer often follows the matched line)."""
    answer_text = "Place directors report to the Chief Delivery Officer."
    first = chunk(f"{answer_text}\nThey may escalate to the Chief Executive.",
                  page_map=((0, 7), (len(answer_text) + 1, 8)))
    support_text = "The Chief Delivery Officer chairs the place directors' forum."
    support = chunk(f"{support_text}\nThe forum meets monthly in Oxford.", ordinal=1,
                    page_map=((0, 3), (len(support_text) + 1, 4)))
    hits = [Hit(first, 1.0), Hit(support, 0.9)]
    (lead, *_), (other, *_) = units_of(first, 0), units_of(support, 1)
    scored = [Scored(lead, 1.0, 0.8, 0.0, 0.0), Scored(other, 0.9, 0.7, 0.0, 0.0)]
    texts = [u.lead.text for u in select_units("who do place directors report to", scored, hits)]
    assert texts == [answer_text, "They may escalate to the Chief Executive.", support_text]


@pytest.mark.parametrize("question, term", [
    ("What is a place-based partnership?", "place-based partnership"),
    ("what's a consultative forum?", "consultative forum"),
    ("What are HWBs?", "HWBs"),
    ("How does the Thriving Places guidance define place-based partnerships?",
     "place-based partnerships"),
    ("what is meant by mutual accountability in a place-based partnership?",
     "mutual accountability"),
    ("what does ICP mean?", "ICP"),
    # a remark in brackets qualifies the term; it is not part of it
    ("what's an integrated care partnership (the icp body, not the contract)?",
     "integrated care partnership"),
    ("What are the options?", None),  # a set: a list question
    ("What is the role of the Place Partnership Lead in Barking?", None),  # not just a term
])
def test_a_question_that_asks_what_a_term_is_names_the_term(question, term):
    from assistant.evidence import defined_term

    assert defined_term(question) == term
    assert (answer_type(question) == "define") is (term is not None)


def test_a_definition_is_the_sentence_that_says_what_it_is_or_opens_its_row():
    guidance = chunk("Key points\n- It will be for system partners to determine the footprint of "
                     "each place-based partnership and what functions it will carry out.\n"
                     "- Place-based partnerships are collaborative arrangements formed by the "
                     "organisations responsible for care in a locality.", ordinal=1)
    seizing = chunk("Place-based partnerships are already seizing opportunities to support people "
                    "in their communities.", ordinal=2)
    assert not score_units("What is a place-based partnership?", units_of(seizing, 0))[0].typed
    best = score_units("What is a place-based partnership?", units_of(guidance, 0))[0]
    assert best.unit.lead.text.startswith("Place-based partnerships are collaborative")
    assert best.typed == 1.0
    listed = chunk("The Bill sets up two statutory bodies:\n- an integrated care partnership "
                   "(ICP), the broad alliance of organisations concerned with care\n"
                   "- The Integrated Care Provider (ICP) Contract is one of the options.")
    best = score_units("what's an integrated care partnership (the icp body, not the contract)?",
                       units_of(listed, 0))
    defining = [s for s in best if s.typed]  # a term defined in apposition: "X (ICP), the ..."
    assert [s.unit.lead.text[:33] for s in defining] == ["an integrated care partnership (I"]
    text = ("Joint committee\nA committee established between partner organisations.\n"
            "It may hold a budget.")
    table = chunk(text, section="Governance > Joint committee")
    best = score_units("what is a joint committee", units_of(table, 0))[0]
    assert best.unit.lead.text == "A committee established between partner organisations."


def test_a_tables_caption_alone_is_never_quoted_as_content():
    text = ("Support the convening of the place-based partnership.\n"
            "Table 3: Leadership roles in place-based partnerships\nMore text follows here.")
    scored = score_units("What is a place-based partnership?", units_of(chunk(text), 0))
    assert scored and all(not s.unit.lead.text.startswith("Table 3") for s in scored)


def test_an_annex_title_is_quoted_only_when_the_question_asks_about_annexes():
    """"Annex 1: Thriving Places - NHS / LGA Guidance 2nd September 2021" names what is
    attached; it says nothing about place footprints."""
    text = ("Place footprints should match the council boundary where they can.\n"
            "Annex 1: Thriving Places - NHS / LGA Guidance on place footprints 2nd September 2021")
    units = units_of(chunk(text, doc_id="swbh-board", title="Place Based Partnerships"), 0)
    about_footprints = score_units("what should the place footprint line up with", units)
    assert all(not s.unit.lead.text.startswith("Annex") for s in about_footprints)
    about_annexes = score_units("what is annexed to the sandwell paper", units)
    assert about_annexes[0].unit.lead.text.startswith("Annex 1")


def test_items_numbered_in_a_new_scheme_are_sub_items_of_the_item_before_them():
    text = ("14. Where provider collaboratives have been established these will be managed at "
            "system level:\n"
            "- a. In 2022/23 this will include all planned care.\n"
            "- b. This is in addition to the three provider collaboratives already in place. "
            "The three collaboratives are:\n"
            "- i. Thames Valley and Wessex Adult Secure Services\n"
            "- ii. Thames Valley Tier 4 Child and Adolescent Mental Health Services,\n"
            "- iii. HOPE Adult Eating disorders services\n"
            "- c. Later services follow.")
    units = units_of(chunk(text), 0)
    [collaboratives] = [u for u in units if u.lead.text.startswith("b.") and u.items]
    assert [i.text[:4] for i in collaboratives.items] == ["i. T", "ii. ", "iii."]
    [whole] = [u for u in units if u.lead.text.startswith("14.") and u.items]
    assert [i.text[:2] for i in whole.items] == ["a.", "b.", "c."]  # i.-iii. stay under b.
    answer = compose([collaboratives]).answer
    assert answer.endswith("\n- iii. HOPE Adult Eating disorders services")


def test_a_lettered_list_that_reaches_i_stays_one_list():
    letters = "\n".join(f"- {c}. item {c}" for c in "abcdefghij")
    [listed] = [u for u in units_of(chunk("The areas are:\n" + letters), 0) if u.items]
    assert len(listed.items) == 10 and all(i.depth == 0 for i in listed.items)


def test_lines_ending_in_semicolons_after_an_intro_are_a_list_whose_bullets_were_lost():
    text = ("Additionally, a place Clinical and Care Director role provisionally covers support "
            "to overall:\n"
            "Co-ordination of clinical and care professional leadership into the partnership;\n"
            "Facilitation of clinical and care professional engagement; and\n"
            "Ensuring local clinical and care professional input to NEL-wide strategies\n"
            "The ICS-wide work also provides for more.")
    [listed] = [u for u in units_of(chunk(text), 0) if u.items]
    assert [i.text.split()[0] for i in listed.items] == ["Co-ordination", "Facilitation",
                                                         "Ensuring"]
    assert "- Ensuring local clinical" in compose([listed]).answer


def test_a_field_whose_label_names_what_is_asked_is_the_answer():
    cover = chunk("Report of the Chair of the Delivery Group\nKey Decision: No\n"
                  "Wards Affected: All", doc_id="lbbd-hwb", title="Place Partnership Lead")
    body = chunk("Partners will agree how the place lead role works in the paper.",
                 doc_id="lbbd-hwb", title="Place Partnership Lead", ordinal=1)
    scored = score_units("is the paper a key decision",
                         units_of(body, 0) + units_of(cover, 1))
    assert scored[0].unit.lead.text == "Key Decision: No" and scored[0].typed == 1.0


def test_a_second_list_is_shown_when_it_scores_as_well_or_shares_the_first_ones_heading():
    from assistant.evidence import Scored

    text = ("The Role:\n- A prominent leader\n- A single accountable person\n"
            "What:\n- Convening key forums\n- Arbitrating and resolving disputes\n")
    elsewhere = chunk("Who:\n- Selected by partners\n- Employed by the council",
                      section="Appointment", ordinal=1)
    role, what = [u for u in units_of(chunk(text), 0) if u.items]
    who = [u for u in units_of(elsewhere, 1) if u.items][0]
    hits = [Hit(role.lead.chunk, 1.0), Hit(elsewhere, 0.9)]

    def chosen(order: list, scores: list[float]) -> list[str]:
        scored = [Scored(u, s, 0.5, 0.0, 1.0) for u, s in zip(order, scores)]
        return [u.lead.text for u in select_units("the lead's duties", scored, hits)]

    # under one heading on one page: parts of one description, both shown
    assert chosen([role, what, who], [1.0, 0.8, 0.5]) == ["The Role:", "What:"]
    # another section's list is shown only when it scores as well (a tie)
    assert chosen([role, who, what], [1.0, 0.99, 0.5])[:2] == ["The Role:", "Who:"]
    assert chosen([role, who], [1.0, 0.8]) == ["The Role:"]


def test_a_supporting_unit_on_another_page_must_score_higher_than_one_on_the_first_ones_page():
    from assistant.compose import OFF_PAGE_SHARE, SUPPORT_SHARE
    from assistant.evidence import Scored

    first_text = "Executive leads take formal responsibility for delegated functions.\n"
    same_text = "Programme leads coordinate a shared programme of work for the place.\n"
    text = first_text + same_text + "Clinical leads advise the partnership on care models."
    paged = chunk(text, page_map=((0, 1), (len(first_text + same_text), 2)))
    units = [u for u in units_of(paged, 0) if not u.items]
    between = (SUPPORT_SHARE + OFF_PAGE_SHARE) / 2

    def chosen(scores: list[float]) -> list[str]:
        scored = sorted((Scored(u, s, 0.5, 0.0, 0.0) for u, s in zip(units, scores)),
                        key=lambda s: -s.score)
        return [u.lead.text.split()[0] for u in
                select_units("who leads what", scored, [Hit(paged, 1.0)])]

    assert "Clinical" not in chosen([1.0, 0.1, between])  # page 2, below the higher share
    assert "Clinical" in chosen([1.0, 0.1, OFF_PAGE_SHARE + 0.01])


def test_a_supporting_unit_brings_the_piece_that_follows_it_too():
    from assistant.evidence import Scored

    text = ("Executive leads take formal responsibility for delegated functions.\n"
            "These roles will be filled by employees of the delegating body.\n"
            "Programme leads coordinate a shared programme of work.\n"
            "They report to the partnership on its progress.")
    units = [u for u in units_of(chunk(text), 0) if not u.items]
    scored = [Scored(u, s, 0.5, 0.0, 0.0) for u, s in zip(units, [1.0, 0.2, 0.9, 0.1])]
    chosen = select_units("what do leads do", sorted(scored, key=lambda s: -s.score),
                          [Hit(units[0].lead.chunk, 1.0)])
    assert [u.lead.text.split()[0] for u in chosen] == ["Executive", "These", "Programme",
                                                        "They"]


def test_a_sentence_introducing_a_table_lists_the_rows_set_out_under_headings_after_it():
    intro = chunk("Table 2 summarises the broad types of governance arrangements that could be "
                  "established to support place-based partnerships to make decisions between "
                  "the appropriate partners, if the Bill is passed in its current form.\n"
                  "It is also possible to use a single forum for multiple purposes.")
    rows = [chunk(f"{name}\nA description of the {name.lower()} row.", ordinal=n,
                  section=f"Governance > {name}", section_map=((0, f"Governance > {name}"),))
            for n, name in enumerate(["Consultative forum", "Joint committee", "Lead provider"],
                                     start=1)]
    following = {c.ordinal - 1: c for c in rows}
    units = units_of(intro, 0, lambda c: following.get(c.ordinal))
    [table] = [u for u in units if u.items]
    assert [i.text for i in table.items] == ["Consultative forum", "Joint committee",
                                             "Lead provider"]


def test_a_question_asking_by_when_prefers_the_date_given_as_a_deadline():
    text = ("Where there is a single nomination, this will be done for 1 July.\n"
            "The chair needs to be told of our nomination by 24 June.")
    units = units_of(chunk(text), 0)
    by_when = score_units("By what date must the borough send its nomination?", units)
    assert "24 June" in by_when[0].unit.text and by_when[0].typed == 1.0
    assert next(s for s in by_when if "1 July" in s.unit.text).typed == 0.5
    when = score_units("When will a single nomination be done?", units)
    assert "1 July" in when[0].unit.text  # no deadline asked: both dates fit


def test_the_opening_of_a_section_the_question_names_by_its_heading_answers_it():
    text = ("3 Consultation\nThe model was discussed with the Delivery Group.\n"
            "4.4 Financial Implications\nClarification pending at the time of writing.\n"
            "4.5 Legal Implications\nClarification pending at the time of writing.")
    sections = tuple((text.index(h), f"Implications > {h}") for h in
                     ("3 Consultation", "4.4 Financial Implications", "4.5 Legal Implications"))
    paper = chunk(text, section="Implications > 3 Consultation", section_map=sections[1:],
                  doc_id="lbbd-hwb", title="Place Partnership Lead")
    best = score_units("What are the financial implications of the proposal?",
                       units_of(paper, 0))[0]
    assert best.unit.lead.text == "Clarification pending at the time of writing."
    assert paper.section_of(best.unit.lead.offset).endswith("4.4 Financial Implications")
    assert best.typed == 1.0


def test_a_lone_item_quoted_after_a_list_is_prose_not_one_of_its_items():
    text = ("The Role:\n- A prominent leader convening partners\n- A single accountable person\n"
            "Delivery role:\n- Leading integrated place teams\n- Holding accountability")
    units = units_of(chunk(text), 0)
    role = next(u for u in units if u.lead.text == "The Role:" and u.items)
    teams = next(u for u in units if u.lead.text == "Leading integrated place teams")
    answer = compose([role, teams])
    assert [p.kind for p in answer.parts] == ["sentence", "item", "item", "sentence"]
    assert answer.answer.endswith("\nLeading integrated place teams [2]")
    assert compose([teams]).parts[0].kind == "item"  # answering first, it stays a bullet


def test_a_row_the_question_names_brings_its_next_two_pieces():
    text = ("Executive leads\nTake formal responsibility for delegated functions.\n"
            "Leaders who are appointed to take on decision-making functions.\n"
            "These roles will be fulfilled by employees of the delegating body.\n"
            "Programme leads\nCoordinate a shared programme of work.")
    sections = ((0, "Leadership > Executive leads"),
                (text.index("Programme leads"), "Leadership > Programme leads"))
    roles = chunk(text, section="Leadership > Executive leads", section_map=sections[1:])
    question = "table 3 executive leads - who fills those posts"
    scored = score_units(question, units_of(roles, 0))
    assert scored[0].opening and scored[0].unit.lead.text.startswith("Take formal")
    chosen = [u.lead.text.split()[0] for u in select_units(question, scored, [Hit(roles, 1.0)])]
    assert chosen[:3] == ["Take", "Leaders", "These"] and "Coordinate" not in chosen


def test_a_contents_page_is_quoted_only_when_the_question_asks_for_the_contents():
    text = ("Contents\nLeadership 28 Leadership roles Leadership skills and capabilities 6.\n"
            "Conclusion 29 Annex 1: Helpful resources 32")
    contents = chunk(text, section="Contents", doc_id="nhse-guidance", title="Thriving places")
    roles = chunk("The leadership roles are set out in Table 3.", section="Leadership",
                  doc_id="nhse-guidance", title="Thriving places", ordinal=1)
    units = units_of(contents, 0) + units_of(roles, 1)
    assert {s.unit.lead.chunk.id for s in score_units("What leadership roles are there?",
                                                      units)} == {roles.id}
    asked = score_units("what sections does the guidance have on leadership", units)
    assert any(s.unit.lead.chunk.id == contents.id for s in asked)


def test_a_question_for_the_contents_gets_the_whole_contents_page_from_its_first_line():
    """"whats in the contents ... which chapters": the contents page, printed as one run of
    headings and page numbers, is the answer, whole and in order, not prose that shares words."""
    text = ("Contents\nICS implementation guidance 1 About this document 3 Key points 3 Foreword "
            "1. Introduction 5 Background 6 2.\nDefining place within the health and care system "
            "10 4.\nGovernance, decision-making and accountability 20 5.\nLeadership 28 "
            "Leadership roles 6.\nConclusion 29 Annex 1: Helpful resources 32")
    contents = chunk(text, section="Contents", doc_id="nhse-guidance", title="Thriving places")
    about = chunk("This document seeks to support partners in integrated care systems to define "
                  "their place-based partnership guidance.", section="About this document",
                  doc_id="nhse-guidance", title="Thriving places", ordinal=1)
    question = "whats in the contents of the place guidance - which chapters"
    units = units_of(about, 0) + units_of(contents, 1)
    scored = score_units(question, units)
    chosen = select_units(question, scored, [Hit(about, 1.0), Hit(contents, 0.9)])
    assert {u.lead.chunk.id for u in chosen} == {contents.id}
    assert chosen[0].lead.text.startswith("ICS implementation guidance 1")
    assert chosen[-1].lead.text.startswith("Conclusion 29")
    offsets = [u.lead.offset for u in chosen]
    assert offsets == sorted(offsets) and len(chosen) >= 5


def test_a_sponsoring_executive_answers_who_sponsors_a_paper():
    cover = chunk("Sponsoring Executive: Richard Beeken, Chief Executive\n"
                  "Report Author: Daren Fradgley, Interim Director of Integration\n"
                  "The paper sets out the principles for place based partnerships.",
                  doc_id="swbh-board", title="Place Based Partnerships")
    best = score_units("who's the sponsoring exec on the paper", units_of(cover, 0))[0]
    assert best.unit.lead.text.startswith("Sponsoring Executive:") and best.typed == 1.0


@pytest.mark.parametrize("date", ["1 st October 2021", "1st October 2021", "14 June 2022"])
def test_a_sign_off_keeps_the_date_printed_under_the_name(date):
    text = ("RECOMMENDATIONS\n18. The Trust Board is asked to:\n- a. NOTE the information\n"
            "- b. DISCUSS the contents\nDaren Fradgley Interim Director of Integration (designate)\n"
            f"{date}\nAnnex 1: Thriving Places guidance 2nd September 2021")
    units = units_of(chunk(text, doc_id="swbh-board", title="Place Based Partnerships"), 0)
    board_asks = next(u for u in units if u.lead.text.startswith("18."))
    assert [i.text for i in board_asks.items] == ["a. NOTE the information",
                                                  "b. DISCUSS the contents"]  # a date is no item
    best = score_units("what date is on daren fradgley's sign-off", units)[0]
    assert best.unit.lead.text.startswith("Daren Fradgley") and best.unit.items[0].text == date


FOOTPRINTS = ("While many NHS services are oriented around communities, they may not have a "
              "consistent catchment area.\nIn considering place-level footprints:\n"
              "System partners should consider how primary care networks are organised.\n"
              "They should also consider how local people use NHS services.\n"
              "There are other factors partners may wish to consider:\n- geographical features")


def test_an_intro_whose_colon_lost_its_bullets_lists_the_sentences_it_announces():
    units = units_of(chunk(FOOTPRINTS), 0)
    [announced] = [u for u in units if u.lead.text == "In considering place-level footprints:"
                   and u.items]
    assert [i.text.split()[0] for i in announced.items] == ["System", "They"]  # not "There"
    label = chunk("Summary:\nThe partnership is a building block.\nIt will evolve.")
    assert not any(u.items for u in units_of(label, 0))  # a label heads a section, not a list


def test_a_sentence_that_leads_into_a_list_brings_the_list():
    footprints = chunk(FOOTPRINTS)
    question = "what should we look at given nhs services have no consistent catchment area"
    scored = score_units(question, units_of(footprints, 0))
    assert scored[0].unit.lead.text.startswith("While many NHS services")
    chosen = select_units(question, scored, [Hit(footprints, 1.0)])
    assert chosen[1].lead.text == "In considering place-level footprints:"
    assert [i.text.split()[0] for i in chosen[1].items] == ["System", "They"]


def test_a_chunk_that_goes_on_with_a_section_does_not_open_it():
    """The second chunk of "2.1 Place Partnership Lead" starts with "Appointment Process:";
    that is not what the heading introduces, whatever the question names."""
    text = "Appointment Process:\nWhere there is a single nomination, this will be done for 1 July."
    later = chunk(text, section="Proposal > 2.1 Place Partnership Lead", doc_id="lbbd-hwb",
                  title="ICS Place Based Partnership")
    question = "if only one nominee for place partnership lead, when is it confirmed"
    assert not any(s.opening for s in score_units(question, units_of(later, 0)))
    headed = chunk("2.1 Place Partnership Lead\n" + text, doc_id="lbbd-hwb",
                   section="Proposal > 2.1 Place Partnership Lead",
                   section_map=((0, "Proposal > 2.1 Place Partnership Lead"),),
                   title="ICS Place Based Partnership")
    assert any(s.opening for s in score_units(question, units_of(headed, 0)))


@pytest.mark.parametrize("question, kept, dropped", [
    ("other things to weigh up when drawing a place boundary, apart from council areas?",
     "boundary", "council"),
    ("besides the core members, what other partners might we pull in", "partners", "core"),
    ("principles for place partnerships (not the governance ones) - what are they",
     "principles", "governance"),
    ("what other risks are listed apart from losing councillor accountability", "risks",
     "councillor"),
    ("what's an icp (the partnership body, not the contract)?", "partnership", "contract"),
    ("who chairs it, not the icb board?", "chairs", "board"),
])
def test_what_a_question_sets_aside_is_not_what_it_asks_about(question, kept, dropped):
    asked = without_exclusions(question)
    assert kept in asked and dropped not in asked


def test_the_unit_about_what_the_question_sets_aside_does_not_answer_it():
    text = ("Council areas are the usual place boundary.\n"
            "Partners also weigh up geographical features for a place boundary.")
    question = "what else to weigh up for a place boundary, apart from council areas?"
    best = score_units(question, units_of(chunk(text), 0))[0]
    assert best.unit.lead.text.startswith("Partners also weigh up")
    plain = score_units(question.replace(", apart from", ", and"), units_of(chunk(text), 0))[0]
    assert plain.unit.lead.text.startswith("Council areas")  # with those words asked for


def _sectioned(headings_and_lines: list[tuple[str, list[str]]]) -> Chunk:
    text, marks = "", []
    for heading, lines in headings_and_lines:
        marks.append((len(text), f"Paper > {heading}"))
        text += "\n".join([heading, *lines]) + "\n"
    return chunk(text.rstrip("\n"), section="Paper", section_map=tuple(marks))


def test_a_heading_naming_a_set_lists_the_points_printed_under_it():
    points = ["The partnership should be underpinned by a shared vision.",
              "The partnership should make it clear how decisions are made.",
              "The partnership should help streamline ways of working."]
    paper = _sectioned([("GOVERNANCE PRINCIPLES", points), ("RISKS", ["Risks are low here."])])
    [listed] = [u for u in units_of(paper, 0) if u.items]
    assert listed.lead.text == "GOVERNANCE PRINCIPLES"
    assert [i.text for i in listed.items] == points  # and nothing from the next section
    best = score_units("what governance principles does the paper set", units_of(paper, 0))[0]
    assert best.unit == listed


def test_a_heading_about_a_set_is_a_topic_not_a_list_of_points():
    topic = _sectioned([("Agreeing the functions of the partnership",
                         ["Leaders should agree responsibilities.", "Functions will vary."])])
    assert not [u for u in units_of(topic, 0) if u.items]


def test_a_heading_with_a_note_in_brackets_is_quoted_as_a_fact():
    paper = _sectioned([("2.2 Place Delivery Role (JD currently being drafted)",
                         ["A full-time dedicated and senior delivery role."]),
                        ("2.3 Clinical Model", ["Each place already has clinical leaders."])])
    leads = [s.unit.lead.text for s in score_units("is the jd for the place delivery role out",
                                                   units_of(paper, 0))]
    assert leads[0] == "2.2 Place Delivery Role (JD currently being drafted)"
    assert "2.3 Clinical Model" not in leads  # a bare heading is never quoted as content


def test_back_page_and_contact_questions_read_the_documents_ends():
    """A cover sheet is read for who and when; the back page for a question about it, about
    contact details (addresses, sign-up links, formats on request are printed there) or about
    who wrote it (a consultancy's report ends with a page about the firm)."""
    first, middle, last = (chunk(t, ordinal=i) for i, t in enumerate(
        ["Report Author: Jane Smith", "Place-based partnerships agree their footprint.",
         "Local Government Association 18 Smith Square London SW1P 3HZ"]))
    hits = [Hit(middle, 1.0)]

    def ends(question: str) -> list[str]:
        return [c.text for c in covers_for(question, hits, lambda c: first, lambda c: last)]

    assert ends("what does the lga say about footprints") == []
    assert ends("who wrote it") == [first.text, last.text]
    assert ends("when was it published") == [first.text]
    assert ends("what is on the back page") == [last.text]
    assert ends("lga postal address?") == [first.text, last.text]


@pytest.mark.parametrize("heading, names_the_author", [
    ("About Mutual Ventures", True), ("About this document", False), ("About us", False)])
def test_a_firms_page_about_itself_says_who_prepared_the_report(heading, names_the_author):
    """A consultancy's report prints no "prepared by": its last page is about the firm."""
    back = chunk(f"{heading}\nOur approach is based on our commitment to public services.",
                 doc_id="southwark-options", title="Strategic Options Analysis",
                 section=heading, section_map=((0, heading),))
    best = score_units("Which consultancy prepared the Southwark analysis?", units_of(back, 0))[0]
    assert (best.unit.lead.text == heading and best.typed == 1.0) is names_the_author


def test_the_table_a_question_points_at_is_where_its_answer_is_printed():
    """"table 1 service delivery row": a unit printed under "Table 1: ..." is in the place the
    question names, beside a sentence elsewhere that merely shares its words."""
    paper = _sectioned([("Operating model", ["Service delivery will cover what the board does."]),
                        ("Table 1: Potential activities",
                         ["Service delivery teams integrate care around people."])])
    best = score_units("table 1 service delivery row - what sort of things does it cover",
                       units_of(paper, 0))[0]
    assert best.unit.lead.text == "Service delivery teams integrate care around people."
    best = score_units("service delivery - what does it cover", units_of(paper, 0))[0]
    assert best.unit.lead.text == "Service delivery will cover what the board does."


def test_words_about_the_page_name_nothing_a_question_asks_about():
    from assistant.retrieve import query_terms

    assert query_terms("table 1 service delivery row - the kind of things it has") == \
        query_terms("table 1 service delivery - it has")


def test_a_bare_label_is_shown_under_its_section_heading():
    """"What:" alone does not say whose duties follow; its section heading does."""
    paper = _sectioned([("2.2 Place Delivery Role", ["What:", "- Leading integrated teams",
                                                     "- Holding accountability"])])
    [listed] = [u for u in units_of(paper, 0) if u.items]
    answer = compose([listed])
    assert answer.answer.splitlines()[0] == "2.2 Place Delivery Role — What: [1]"
    assert answer.citations[0].quote.startswith("What:")  # the quote stays verbatim
    rows = _sectioned([("Executive leads", ["Take responsibility for functions.",
                                             "They are employees of the statutory body."])])
    opening, second = [u for u in units_of(rows, 0) if u.lead.kind == "sentence"]
    assert compose([opening]).answer == ("Executive leads — Take responsibility for functions. "
                                         "[1]")  # a row's label says what its cell describes
    assert compose([opening]).citations[0].quote == "Take responsibility for functions."
    assert compose([second]).answer == "They are employees of the statutory body. [1]"
    long = _sectioned([("How the partnership will work with the wider system",
                        ["The lead convenes partners."])])
    assert compose(units_of(long, 0)[1:2]).answer == "The lead convenes partners. [1]"


def test_a_table_row_is_quoted_whole_and_prose_takes_one_following_sentence():
    """A table's row is one paragraph whose sentences answer together ("Promote health and
    wellbeing ... This could include improving the quality of housing ..."); the next row,
    and in prose the second sentence after the answer, are not part of it."""
    rows = ("Promote health and wellbeing The partnership works with local agencies on the wider "
            "determinants of health. This may include aligning plans with public health. This "
            "could include improving the quality of housing and air quality.\n"
            "Align management Place-based partners agree options to share resources.")
    table = chunk(rows, section="Table 1: Potential activities of place-based partnerships")
    texts = quoted("table 1 promote health and wellbeing row - what sort of things count", table)
    assert texts[:3] == ["Promote health and wellbeing The partnership works with local agencies "
                         "on the wider determinants of health.",
                         "This may include aligning plans with public health.",
                         "This could include improving the quality of housing and air quality."]
    assert not any("Align management" in t for t in texts)
    prose = chunk(rows, section="Working with local agencies")
    texts = quoted("table 1 promote health and wellbeing row - what sort of things count", prose)
    assert "This could include improving the quality of housing and air quality." not in texts[:2]


def test_sentences_printed_one_after_the_other_on_a_page_are_one_citation():
    """The answer and the sentence that follows it in the paper are one passage: one quote,
    one marker at its end. A sentence on the next page, or one a paragraph number stands
    before, is its own citation."""
    first, second = ("Place directors report to the Chief Delivery Officer.",
                     "They may escalate to the Chief Executive.")
    third = "The forum meets monthly in Oxford."
    text = f"{first} {second}\n17.\n{third}"
    paper = chunk(text, page_map=((0, 7),))
    units = [u for u in units_of(paper, 0) if u.lead.text in (first, second, third)]
    answer = compose(units)
    assert [c.quote for c in answer.citations] == [f"{first} {second}", third]
    assert all(c.quote in text for c in answer.citations)  # verbatim, as printed
    assert answer.answer.splitlines() == [f"{first} {second} [1]", f"{third} [2]"]
    assert [p.citations for p in answer.parts] == [[], [1], [2]]
    over_the_page = chunk(f"{first} {second}", page_map=((0, 7), (len(first) + 1, 8)))
    assert len(compose(units_of(over_the_page, 0)).citations) == 2
    paragraphs = chunk(f"{first}\n{second}")  # one quote, its line break as printed
    assert [c.quote for c in compose(units_of(paragraphs, 0)).citations] == [f"{first}\n{second}"]
    label = chunk(f"About Mutual Ventures\n{third}")  # a line, then prose: two lines
    assert compose(units_of(label, 0)).answer.splitlines() == ["About Mutual Ventures [1]",
                                                              f"{third} [2]"]


def test_a_sentence_naming_several_things_in_a_row_half_fits_a_list_question():
    """"Which capabilities ...": a list printed as prose ("such as people, digital and
    technology functions, business intelligence and analytics") is the answer's shape too, so
    it is not scored down as off-type beside a real list about something else."""
    from assistant.evidence import enumerates, type_match
    from assistant.units import Unit, sentences_of

    prose = Unit(sentences_of(chunk("These may be underpinned by shared capabilities, such as "
                                    "people, digital and technology functions, business "
                                    "intelligence and analytics."), 0)[0])
    assert enumerates(prose.text) and type_match("list", prose) == 0.5
    plain = Unit(sentences_of(chunk("The partnership agrees its shared capabilities."), 0)[0])
    assert not enumerates(plain.text) and type_match("list", plain) == 0.0


def test_shared_capabilities_are_answered_by_the_sentence_that_names_them(assistant):
    answer = assistant.ask("what shared capabilities could underpin the programmes places run "
                           "together", "public")
    first = answer.answer.splitlines()[0]
    assert "digital and technology functions" in first, answer.answer
    assert answer.citations[0].page == 8


def test_the_answer_shape_counts_in_full_only_for_a_unit_on_topic():
    """A role printed in a sentence that shares one word with the question is not a better
    answer to "who ..." than the sentence about what was asked."""
    question = "who runs the health anchors learning network"
    text = ("The Place Director will lead the team for the network of services. "
            "The Health Anchors Learning Network is facilitated by The Health Foundation.")
    scored = score_units(question, units_of(chunk(text), 0))
    assert scored[0].unit.lead.text.startswith("The Health Anchors Learning Network")
    role = next(s for s in scored if s.unit.lead.text.startswith("The Place Director"))
    assert role.typed == 1.0 and 0 < role.coverage < 0.2  # the shape, barely on topic


def test_who_runs_the_learning_network_is_answered_by_who_facilitates_it(assistant):
    answer = assistant.ask("who runs the health anchors learning network mentioned in thriving "
                           "places", "public")
    assert "The Health Foundation" in answer.answer.splitlines()[0], answer.answer


def test_a_support_from_a_rival_section_does_not_join_an_answer_from_the_section_named():
    """Under "2.1 Place Partnership Lead" and "2.2 Place Delivery Role", a question about the
    Lead is answered from 2.1: the bullets of 2.2 describe another role, however well they
    score. A section whose heading names nothing of the question is no rival."""
    from assistant.compose import rival_section
    from assistant.units import Unit, sentences_of

    text = ("The Lead convenes partners and holds overall accountability for delivery.\n"
            "Leading integrated place teams delivering work on behalf of the partnership.\n"
            "Partners should agree the arrangements.")
    lead_section = "Proposal > 2.1 Place Partnership Lead"
    both = chunk(text, section=lead_section, doc_id="lbbd-hwb",
                 section_map=((0, lead_section), (74, "Proposal > 2.2 Place Delivery Role"),
                              (151, "Proposal > Governance")),
                 title="ICS Place Based Partnership",
                 organisation="Barking and Dagenham Health and Wellbeing Board")
    first, rival, other = (Unit(s) for s in sentences_of(both, 0))
    question = "what does the place partnership lead do"
    assert rival_section(question, first, rival)
    assert not rival_section(question, first, other)  # "Governance" names none of it
    assert not rival_section("how are teams led", first, rival)  # no section named


def test_the_widget_example_about_the_lead_is_answered_from_the_leads_own_section(assistant):
    answer = assistant.ask("What is the role of the Place Partnership Lead?", "public")
    sections = {c.section for c in answer.citations}
    assert all("2.1 Place Partnership Lead" in s for s in sections), sections


def test_who_wrote_a_paper_named_by_its_topic_is_answered_from_its_author_lines():
    """"who wrote the b&d place lead paper": the title's words ("place", "lead") name the
    paper, they are not what its author line must print. Body sentences about the place lead
    used to outrank the cover's author lines; the line after an author is quoted only when it
    says more about them (contact details), not the meeting's date."""
    cover = chunk("Report of the Chair of the Delivery Group\n"
                  "Report Author: Jane Leaman, Consultant in Public Health\n"
                  "Contact Details: E-mail: jane.leaman@lbbd.gov.uk\n"
                  "Meeting: Health and Wellbeing Board, 14 June 2022",
                  doc_id="lbbd-hwb-place-lead", title="Place Partnership Lead",
                  section="Cover", page_map=((0, 1),))
    body = chunk("The Place Partnership Lead will convene partners at place.\n"
                 "The place lead paper sets out the role.", ordinal=1, page_map=((0, 4),),
                 doc_id="lbbd-hwb-place-lead", title="Place Partnership Lead")
    for question in ("who wrote the place lead paper", "the place lead paper is a report of who",
                     "who is the place lead paper from?"):
        texts = quoted(question, body, cover)
        assert texts[0].startswith(("Report of", "Report Author")), (question, texts)
        assert not any(t.startswith("The Place Partnership Lead will") for t in texts), question
    author_first = chunk(cover.text.split("\n", 1)[1], doc_id="lbbd-hwb-place-lead",
                         title="Place Partnership Lead", section="Cover", page_map=((0, 1),))
    texts = quoted("who is the author of the place lead paper", author_first)
    assert texts[0].startswith("Report Author")
    assert any(t.startswith("Contact Details") for t in texts)
    assert not any(t.startswith("Meeting") for t in texts)


def test_a_comparison_of_two_papers_authors_quotes_each_author_line():
    """Author lines share no topic word with "who wrote the x and y papers": each named
    paper's author line is still the part it brings."""
    sandwell = chunk("Report Author: Daren Fradgley, Director of Integration\n"
                     "Meeting: Trust Board, 7 October 2021", doc_id="swbh-trust-board",
                     title="Place Based Partnerships", section="Cover")
    bob = chunk("Author: Matthew Tait, Interim Chief Delivery Officer\n"
                "This paper outlines a proposal for place-based partnerships.",
                doc_id="bob-icb-board", title="Place-based Partnerships", section="Cover")
    texts = quoted("who wrote the sandwell and the bob papers on place-based partnerships",
                   sandwell, bob)
    assert any("Daren Fradgley" in t for t in texts) and any("Matthew Tait" in t for t in texts)
    assert not any(t.startswith("This paper outlines") for t in texts)


def test_what_is_appended_to_a_paper_is_answered_from_its_appendix_lines():
    """"what's appended to the place lead report": the title's words name the paper; the
    answer is the line that names an appendix, not a sentence about the place lead."""
    body = chunk("The Place Partnership Lead will convene partners at place.\n"
                 "The Role (see the role description for more).", page_map=((0, 3),),
                 doc_id="lbbd-hwb-place-lead", title="Place Partnership Lead")
    end = chunk("List of Appendices:\nAppendix A- NEL Place Partnership Lead Role Description",
                ordinal=1, page_map=((0, 5),), doc_id="lbbd-hwb-place-lead",
                title="Place Partnership Lead")
    texts = quoted("what's appended to the place partnership lead report", body, end)
    assert texts[0].startswith(("Appendix A", "List of Appendices")), texts
    assert any(t.startswith("Appendix A") for t in texts)
    assert not any(t.startswith("The Place Partnership Lead will") for t in texts)


def test_a_papers_title_is_answered_from_its_first_page_title_lines():
    """"full title of the thriving places doc": the title printed over two first-page
    headings, both quoted and nothing after them; another cover field that shares the
    manifest title's words ("Agenda item: 11") or a sentence that uses them is no title."""
    cover = chunk("Thriving places\nGuidance on the development of place-based partnerships as "
                  "part of statutory integrated care systems\nAgenda item: 11\n"
                  "Place-based partnerships are the foundations of integrated care systems, "
                  "building on the development of existing partnerships.",
                  doc_id="nhse-thriving-places", page_map=((0, 1),),
                  title="Thriving places: guidance on the development of place-based "
                        "partnerships as part of statutory integrated care systems",
                  section="Thriving places",
                  section_map=((16, "Thriving places > Guidance on the development of "
                                    "place-based partnerships as part of statutory integrated "
                                    "care systems"),))
    assert answer_type("whats charlotte pomery's job title") != "title"  # a post's, not a paper's
    texts = quoted("full title of the thriving places doc pls", cover)
    assert texts == ["Thriving places", "Guidance on the development of place-based partnerships "
                     "as part of statutory integrated care systems"], texts


@pytest.mark.parametrize("question, parts", [
    ("bob paper agenda item no, board date, which exec cttee saw it first", 3),
    ("thriving places guidance - what version is it n when published", 3),
    ("is the b&d report open or exempt, and which wards does it affect", 2),
    # "and" inside a name joins no two questions
    ("Who wrote the Sandwell and West Birmingham trust board paper on place based partnerships?", 1),
])
def test_a_question_is_cut_into_the_things_it_asks(question, parts):
    from assistant.compose import asked_parts

    assert len(asked_parts(question)) == parts


BOB_COVER = chunk("BOARD MEETING\nAgenda item: 11\nDate of Meeting: 27 September 2022\n"
                  "Date and Name of Committee at which Paper Reviewed: ICB Executive 12/09/2022\n"
                  "Date of Paper: 04/09/2022\nAuthor: Matthew Tait, Interim Chief Delivery Officer",
                  section="BOARD MEETING", page_map=((0, 1),))
BOB_BODY = chunk("Place-based partnerships will be committees of the ICB Board. Each place will agree "
                 "its own terms of reference with the ICB.", page_map=((0, 3),), ordinal=1)


def test_each_thing_a_question_asks_of_a_cover_sheet_gets_its_line():
    several = quoted("bob icb pbp paper agenda item no, board date, which exec cttee saw it first",
                     BOB_COVER, BOB_BODY)
    assert several[0].startswith("Date and Name of Committee")
    assert "Agenda item: 11" in several
    # one thing asked: no line for what was not asked
    one = quoted("bob icb pbp paper - which exec cttee saw it first", BOB_COVER, BOB_BODY)
    assert "Agenda item: 11" not in one
    # a question the body answers brings no cover lines
    body = quoted("who does each place agree its own terms of reference with, and when?",
                  BOB_COVER, BOB_BODY)
    assert body == ["Each place will agree its own terms of reference with the ICB."]


def test_a_list_that_points_back_at_the_answer_comes_with_it():
    proposals = chunk("NHS England asked ICSs to confirm their initial proposals for place-based "
                      "arrangements for 2022/23 onwards. These arrangements should be mutually "
                      "agreed between system partners and refined as needed. They should set out:\n"
                      "• the configuration, size and boundaries of places\n"
                      "• the system responsibilities and functions to be carried out at place level\n"
                      "• the planned governance model", section="Transitioning")
    other = chunk("Place-based partnerships will agree their own priorities with local people.",
                  ordinal=1)
    texts = quoted("what did icss have to confirm in their 2022/23 place proposals", proposals, other)
    assert texts[0].startswith("NHS England asked ICSs to confirm")
    assert "They should set out:" in texts  # "They": the proposals just named
    # a list that opens on its own subject is another topic, not announced by the sentence
    own = chunk(proposals.text.replace("They should set out:", "Local plans should set out:"),
                section="Transitioning")
    assert "Local plans should set out:" not in quoted(
        "what did icss have to confirm in their 2022/23 place proposals", own, other)


def test_of_the_lists_beside_the_first_the_one_labelled_with_the_asking_word_is_shown():
    from assistant.evidence import Scored

    text = ("The Role:\n- A prominent leader\n- A single accountable person\n"
            "Appointment Process:\n- Nominated by 24 June\n- Confirmed in July\n"
            "What:\n- Convening key forums\n- Arbitrating and resolving disputes\n"
            "Who:\n- Selected by partners\n- Already a senior leader\n")
    role, process, what, who = [u for u in units_of(chunk(text), 0) if u.items]
    hits = [Hit(role.lead.chunk, 1.0)]

    def chosen(question: str) -> list[str]:
        scored = [Scored(u, s, 0.5, 0.0, 1.0)
                  for u, s in zip([role, process, what, who], [1.0, 0.8, 0.7, 0.6])]
        return [u.lead.text for u in select_units(question, scored, hits)]

    assert chosen("b&d place partnership lead - what will they actually be doing") == [
        "The Role:", "What:"]
    assert chosen("who will the lead be?") == ["The Role:", "Who:"]
    assert chosen("can someone remind me what the lead is meant to do?") == ["The Role:", "What:"]
    assert chosen("the lead's job, just the 'what' part pls") == ["The Role:", "What:"]
    # no list labelled with the asking word: the best-scored sibling, as before
    assert chosen("the lead's role, in short?") == ["The Role:", "Appointment Process:"]


def test_the_other_parts_get_their_cover_lines_when_a_supporting_unit_is_one():
    from assistant.evidence import Scored

    body = units_of(BOB_BODY, 0)[0]
    cover = {u.lead.text: u for u in units_of(BOB_COVER, 1)}
    order = [body, cover["Date of Meeting: 27 September 2022"], cover["Agenda item: 11"]]
    scored = [Scored(u, s, 0.5, 0.0, 1.0) for u, s in zip(order, [1.0, 0.9, 0.1])]
    hits = [Hit(BOB_BODY, 1.0), Hit(BOB_COVER, 0.9)]
    texts = [u.lead.text for u in select_units(
        "bob paper committees - meeting date, and which agenda item is it?", scored, hits)]
    assert texts[0] == body.lead.text and "Date of Meeting: 27 September 2022" in texts
    assert "Agenda item: 11" in texts


def test_a_who_question_is_answered_by_the_cover_fields_that_name_people_not_its_title():
    from assistant.compose import stray_cover_field

    cover = chunk("HEALTH AND WELLBEING BOARD\nTitle: Place Partnership Lead - ICS Place Based "
                  "Partnership\nReport Author: Jane Leaman, Consultant in Public Health",
                  section="HEALTH AND WELLBEING BOARD", page_map=((0, 1),), doc_id="lbbd-hwb",
                  title="Place Partnership Lead")
    units = {u.lead.text.split(":")[0]: u for u in units_of(cover, 0)}
    question = "who decides the place lead if partners can't agree?"
    assert stray_cover_field(question, units["Title"])
    assert not stray_cover_field(question, units["Report Author"])
    assert not stray_cover_field("what is the title of the b&d place lead report?", units["Title"])


def test_a_question_about_the_cover_sheet_may_be_answered_by_any_of_its_fields():
    from assistant.compose import stray_cover_field

    cover = chunk("BOARD MEETING\nDate of Meeting: 27 September 2022\nConflicts of Interest "
                  "Board partner members are likely to be members of place-based partnerships",
                  section="BOARD MEETING", page_map=((0, 1),))
    field = next(u for u in units_of(cover, 0) if u.lead.text.startswith("Conflicts"))
    assert stray_cover_field("which option is ticked for partner members?", field)
    assert not stray_cover_field("on the bob cover sheet, which option is ticked for partner "
                                 "members?", field)


def test_one_member_of_a_set_is_answered_by_what_is_asked_of_it_not_the_sets_opening():
    """"Which of the leadership roles carries statutory functions" names the section "Leadership
    roles" only to say where to look: its opening sentence is no answer, the row that carries
    the functions is."""
    from assistant.evidence import named_openings

    paper = _sectioned([("Leadership roles", ["There is a range of roles at place."]),
                        ("Executive leads", ["Take formal responsibility for statutory "
                                             "functions delegated to the partnership."])])
    units = [u for u in units_of(paper, 0) if u.lead.kind == "sentence"]
    assert named_openings("what does the guidance say about leadership roles?", units)[0]
    assert not any(named_openings("which of the leadership roles carries statutory functions?",
                                  units))
    best = score_units("which of the leadership roles carries delegated statutory functions?",
                       units)[0]
    assert best.unit.lead.text.startswith("Take formal responsibility")


def test_a_label_line_over_a_paragraph_names_what_the_paragraph_is_about():
    """BOB's Annex 2 prints "Safeguarding" as a plain line over its paragraph: the paragraph
    is about safeguarding as if the line were its heading, so the words count as the heading's."""
    annex = chunk("Annex 2 System Areas\nSafeguarding\nThe ICB has statutory responsibilities "
                  "discharged in partnership with local authorities.\nMedicines Management\nLeads "
                  "will be linked into ICB place meetings.", section="Annex 2 System Areas")
    scored = {s.unit.lead.text[:8]: s for s in score_units(
        "who handles safeguarding responsibilities?", units_of(annex, 0))}
    assert scored["The ICB "].heading > 0 and scored["Leads wi"].heading == 0
    assert scored["The ICB "].score > scored["Leads wi"].score
