"""Chunking a real excerpt: headings start chunks and name sections; pages follow the text."""
from core.models import Chunk, Document, Page
from ingest.chunk import chunk_document, heading_key, to_blocks

DOC = Document(doc_id="nhse", title="Thriving places", organisation="NHS England",
               date="2021-09-02", doc_type="guidance", visibility="public")
# Thriving places, cleaned page 12 (part) and the top of page 13, as pypdf reads them:
# the PDF lost its bullets and wraps every line; the markdown rendering names the headings.
PAGE_12 = """\
4. Governance, decision-making and
accountability
Membership
While it will be for local partners to agree the appropriate organisations and individuals to
be included in the place-based partnership arrangements, they will do well to consider how
they will include representation from the following:
primary care provider leadership, represented by PCN clinical directors or other
relevant primary care leaders
providers of acute, community and mental health services, including representatives
of provider collaboratives where appropriate
people who use care and support services and their representatives including
Healthwatch
local authorities, including Directors of Adult Social Services and Directors of Public
Health and elected members
social care providers
the voluntary, community and social enterprise sector (VCSE)
the ICB.
Working with people and communities
As part of their decision-making arrangements, place-based partnerships should
systematically involve professionals, people and communities in their programmes of work
and decision-making processes. This should build on existing approaches to engaging and"""
PAGE_13 = """\
co-producing with people and communities; for example, those approaches developed by
HWBs."""
HEADINGS = {heading_key("4. Governance, decision-making and accountability"): 1,
            heading_key("Membership"): 3, heading_key("Working with people and communities"): 3}


def test_real_excerpt_chunks_by_heading_with_items_and_pages():
    chunks = chunk_document([Page(12, PAGE_12), Page(13, PAGE_13)], DOC, "0123456789abcdef",
                            known_headings=HEADINGS, min_words=40, max_words=120)
    assert chunks == [
        Chunk(id="nhse:0123456789ab:0000", doc_id="nhse", title="Thriving places",
              organisation="NHS England", date="2021-09-02", doc_type="guidance",
              visibility="public", page_start=12, page_end=12,
              section="4. Governance, decision-making and accountability > Membership", ordinal=0,
              text="4. Governance, decision-making and accountability\n"
                   "Membership\n"
                   "While it will be for local partners to agree the appropriate organisations and "
                   "individuals to be included in the place-based partnership arrangements, they will "
                   "do well to consider how they will include representation from the following:\n"
                   "- primary care provider leadership, represented by PCN clinical directors or other "
                   "relevant primary care leaders\n"
                   "- providers of acute, community and mental health services, including "
                   "representatives of provider collaboratives where appropriate\n"
                   "- people who use care and support services and their representatives including "
                   "Healthwatch\n"
                   "- local authorities, including Directors of Adult Social Services and Directors "
                   "of Public Health and elected members\n"
                   "- social care providers\n"
                   "- the voluntary, community and social enterprise sector (VCSE)\n"
                   "- the ICB.",
              content_hash="c1e59db46baa3b80", page_map=((0, 12),)),
        Chunk(id="nhse:0123456789ab:0001", doc_id="nhse", title="Thriving places",
              organisation="NHS England", date="2021-09-02", doc_type="guidance",
              visibility="public", page_start=12, page_end=13,
              section="4. Governance, decision-making and accountability > "
                      "Working with people and communities", ordinal=1,
              text="Working with people and communities\n"
                   "As part of their decision-making arrangements, place-based partnerships should "
                   "systematically involve professionals, people and communities in their "
                   "programmes of work and decision-making processes. This should build on existing "
                   "approaches to engaging and co-producing with people and communities; for "
                   "example, those approaches developed by HWBs.",
              content_hash="a0e29286574a2720", page_map=((0, 12), (292, 13))),
    ]
    assert chunks[1].page_of(chunks[1].text.index("co-producing")) == 13
    assert chunks[1].page_of(chunks[1].text.index("engaging and")) == 12


def test_lower_case_list_item_matching_a_heading_stays_an_item():
    page = Page(12, "The NHS, local government and other local partners should agree the planned\n"
                    "governance model for place including:\nmembership\nrepresentation on, and "
                    "reporting relationships with, the ICP and ICB.\nMembership\nWhile it will be "
                    "for local partners to agree.")
    blocks = to_blocks([page], {heading_key("Membership"): 3}, structured=False)
    assert [(b.kind, b.text, b.section) for b in blocks] == [
        ("para", "The NHS, local government and other local partners should agree the planned "
                 "governance model for place including:", ""),
        ("item", "membership", ""),
        ("item", "representation on, and reporting relationships with, the ICP and ICB.", ""),
        ("heading", "Membership", "Membership"),
        ("para", "While it will be for local partners to agree.", "Membership"),
    ]


def test_bullet_glued_in_the_pdf_wraps_onto_its_next_line():
    page = Page(1, "The Health and Wellbeing Board is recommended to note:\n"
                   "• The development of the leadership model for the Place Based Partnership\n"
                   "• The\nneed to identify the individual who the B&D Place Based Partnership best "
                   "fit the role")
    assert [(b.kind, b.text) for b in to_blocks([page], {}, structured=False)] == [
        ("para", "The Health and Wellbeing Board is recommended to note:"),
        ("item", "• The development of the leadership model for the Place Based Partnership"),
        ("item", "• The need to identify the individual who the B&D Place Based Partnership best "
                 "fit the role"),
    ]


def test_no_chunk_mixes_two_documents():
    other = Document(doc_id="other", title="Other")
    first = chunk_document([Page(1, PAGE_12)], DOC, "a" * 16, known_headings=HEADINGS)
    second = chunk_document([Page(1, PAGE_13)], other, "b" * 16)
    assert {c.doc_id for c in first} == {"nhse"} and {c.doc_id for c in second} == {"other"}
    assert [c.ordinal for c in first] == list(range(len(first)))


# BOB ICB board paper, pages 2-3 and 6 as pypdf reads them: its markdown rendering has no '#'
# headings, so the section labels must be read from the layout.
BOB_PAGES = [Page(2, """\
scrutiny committee(s) will lie with the Place Director working with the PBP.
Role of the System
11. The role of the system in each of the individual service areas is highlighted in
the attached annexes for individual service areas.
b. This is in addition to the three provider collaboratives already in place
iii. HOPE Adult Eating disorders services
Governance
15. The NHS statutory body is the Integrated Care Board (ICB) which has flexibility
over its governance arrangements and membership of its Board committees."""), Page(3, """\
ICB, to a locally tailored role and person specification
Jointly employed by councils and ICB
2.3 Clinical and Care Leadership Model (currently being agreed)
Each place already has a structure of clinical and care professional leadership,
provided principally through:
14 JUNE 2022
Annex 1 – Key service areas and proposed ICB operating model to support Placebased
Partnerships
Urgent and Emergency Care
The operational oversight and delivery of urgent and emergency care is driven through
Place partners supporting collaborative working and integration."""), Page(6, """\
the team are part of the Nursing directorate.
Maternity
Maternity services will continue to be overseen by the Local Maternity System.""")]


def test_board_paper_headings_without_markup_are_read_from_the_layout():
    headings = [(b.text, b.level) for b in to_blocks(BOB_PAGES, {}, structured=False)
                if b.kind == "heading"]
    assert headings == [
        ("Role of the System", 2), ("Governance", 2),
        ("2.3 Clinical and Care Leadership Model (currently being agreed)", 3),
        ("Annex 1 – Key service areas and proposed ICB operating model to support Placebased "
         "Partnerships", 2),
        ("Urgent and Emergency Care", 2), ("Maternity", 2),
    ]


def test_layout_headings_are_not_guessed_when_the_markdown_names_the_headings():
    known = {heading_key("Governance"): 2}
    headings = [b.text for b in to_blocks(BOB_PAGES, known, structured=False)
                if b.kind == "heading"]
    assert headings == ["Governance"]


def test_short_sections_share_a_chunk_and_each_sentence_keeps_its_heading():
    bob = Document(doc_id="bob", title="Place-based Partnerships", visibility="public")
    chunks = chunk_document(BOB_PAGES, bob, "0123456789abcdef")
    [shared] = [c for c in chunks if "Maternity services will continue" in c.text]
    assert "Urgent and Emergency Care" in shared.text  # a 20-word section did not stand alone
    for sentence, section in [("The operational oversight", "Urgent and Emergency Care"),
                              ("Maternity services will continue", "Maternity")]:
        at = shared.text.index(sentence)
        assert shared.section_of(at) == section
    assert shared.page_of(shared.text.index("Maternity services")) == 6
    again = Chunk.from_record(shared.id, shared.text, shared.metadata())
    assert again == shared and again.section_map


def test_a_bold_table_cell_too_long_for_a_heading_is_text_without_its_marker():
    pages = [Page(1, "# Service planning The place-based partnership has agreed approaches to "
                     "align the commissioning of NHS and local government services.\n\n"
                     "# Next steps")]
    blocks = to_blocks(pages, {}, structured=True)
    assert [(b.kind, b.text[:16]) for b in blocks] == [("para", "Service planning"),
                                                      ("heading", "Next steps")]


def test_headings_that_end_a_document_are_kept_with_the_chunk_before_them():
    """A board paper may end on headings with nothing under them ("List of Appendices:" then
    "Appendix A- Role Description", the appendix not printed): they are its last words, and
    losing them lost the answer to "what's appended to the report"."""
    body = " ".join(["The partnership agrees the place plan with residents."] * 30)
    pages = [Page(5, f"# Background\n{body}\nList of Appendices:\n## Appendix A- Role Description")]
    chunks = chunk_document(pages, DOC, "0123456789abcdef", min_words=40, max_words=400)
    assert chunks[-1].text.endswith("List of Appendices:\nAppendix A- Role Description")
    assert chunks[-1].page_of(chunks[-1].text.index("Appendix A")) == 5
    only_headings = chunk_document([Page(1, "# Annex 1\n## Annex 2")], DOC, "0123456789abcdef")
    assert [c.text for c in only_headings] == ["Annex 1\nAnnex 2"]
