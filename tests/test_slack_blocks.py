"""Answer -> Block Kit: the answer, sources with PDF links, feedback buttons, Slack's limits."""
from bots.blocks import (
    APOLOGY, MAX_BLOCKS, REFUSAL_LEAD, SECTION_LIMIT, answer_message, apology_message, escape,
    pdf_link, split_text,
)
from core.models import Answer, Citation, DocumentRef

CITED = Answer(
    answer="Partnerships agree shared priorities [1] & report to the board <quarterly> [2].",
    citations=[
        Citation(n=2, doc_id="bob-icb", title="Place-based Partnerships (Agenda item 11)", page=3,
                 section="Governance", quote="q2"),
        Citation(n=1, doc_id="nhse guide", title="Thriving places", page=5,
                 section="2. What places do", quote="q1"),
    ],
)
BUTTONS = {"type": "actions", "block_id": "feedback", "elements": [
    {"type": "button", "action_id": "feedback_helpful", "value": "abc",
     "text": {"type": "plain_text", "text": "Helpful"}},
    {"type": "button", "action_id": "feedback_not_helpful", "value": "abc",
     "text": {"type": "plain_text", "text": "Not helpful"}},
]}


def test_answer_then_sources_with_pdf_page_links_then_buttons():
    message = answer_message(CITED, feedback_id="abc", pdf_base_url="https://api.example.org/")
    assert message.blocks == [
        {"type": "section", "text": {"type": "mrkdwn", "text":
            "Partnerships agree shared priorities [1] &amp; report to the board &lt;quarterly&gt; [2]."}},
        {"type": "divider"},
        {"type": "section", "text": {"type": "mrkdwn", "text":
            "*Sources*\n"
            "[1] <https://api.example.org/v1/documents/nhse%20guide/pdf#page=5|Thriving places>,"
            " page 5 · 2. What places do\n"
            "[2] <https://api.example.org/v1/documents/bob-icb/pdf#page=3|Place-based Partnerships"
            " (Agenda item 11)>, page 3 · Governance"}},
        BUTTONS,
    ]
    assert message.text == escape(CITED.answer)


def test_sources_without_links_when_no_api_address_is_configured():
    message = answer_message(CITED, feedback_id="abc", pdf_base_url=None)
    sources = message.blocks[2]["text"]["text"]
    assert "[1] *Thriving places*, page 5 · 2. What places do" in sources
    assert "http" not in sources


def test_refusal_says_so_and_lists_the_closest_documents():
    refusal = Answer(answer="Not covered by the documents you can see.", refused=True,
                     closest_documents=[DocumentRef(doc_id="d1", title="Thriving places")])
    message = answer_message(refusal, feedback_id="abc", pdf_base_url="http://api")
    assert message.blocks == [
        {"type": "section", "text": {"type": "mrkdwn", "text":
            f"{REFUSAL_LEAD}\nNot covered by the documents you can see."}},
        {"type": "section", "text": {"type": "mrkdwn", "text":
            "*Closest documents you can see here:*\n• <http://api/v1/documents/d1/pdf|Thriving places>"}},
        BUTTONS,
    ]


def test_notice_is_shown_as_context():
    answer = CITED.model_copy(update={"notice": "LLM unavailable; extractive answer"})
    blocks = answer_message(answer, feedback_id="abc", pdf_base_url=None).blocks
    assert blocks[1] == {"type": "context", "elements": [
        {"type": "mrkdwn", "text": "LLM unavailable; extractive answer"}]}


def test_long_answers_are_split_into_sections_within_the_limit():
    long = " ".join(f"Sentence {i} says something about place & partnership [1]." for i in range(400))
    message = answer_message(Answer(answer=long, citations=CITED.citations), feedback_id="abc",
                             pdf_base_url=None)
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert all(len(text) <= SECTION_LIMIT for text in sections)
    answer_sections = sections[:-1]
    assert len(answer_sections) > 5
    assert " ".join(answer_sections) == escape(long)  # nothing lost, cut between sentences
    assert len(message.text) <= 3000


def test_huge_answers_and_many_citations_stay_within_fifty_blocks():
    huge = "word " * 60_000
    citations = [Citation(n=i, doc_id=f"d{i}", title="T" * 200, page=i, section="S" * 100,
                          quote="q") for i in range(1, 80)]
    message = answer_message(Answer(answer=huge, citations=citations), feedback_id="abc",
                             pdf_base_url="http://api")
    assert len(message.blocks) <= MAX_BLOCKS
    assert message.blocks[-1] == BUTTONS
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in message.blocks if b["type"] == "section")
    assert "answer shortened" in message.blocks[-4]["text"]["text"] or any(
        "answer shortened" in b.get("text", {}).get("text", "") for b in message.blocks)


def test_split_text_never_cuts_an_escaped_entity():
    text = "&" * 2500
    pieces = split_text(text)
    assert "".join(pieces) == text
    assert all(len(escape(p)) <= SECTION_LIMIT for p in pieces)


def test_pdf_link_quotes_the_document_id():
    assert pdf_link("http://x/", "a b/c", 7) == "http://x/v1/documents/a%20b%2Fc/pdf#page=7"


def test_apology_is_short_and_plain():
    assert apology_message().text == APOLOGY


def test_answer_is_rendered_from_its_parts_and_planted_numbers_are_not_markers():
    from core.models import AnswerPart

    answer = CITED.model_copy(update={
        "answer": "Budgets are set by the board [2] [4]. [1]\n- minutes [1]",  # not re-read
        "parts": [AnswerPart(text="Budgets are set by the board [2] [4].", citations=[1]),
                  AnswerPart(text="minutes within <ten> days", citations=[2, 7], kind="item")]})
    message = answer_message(answer, feedback_id="abc", pdf_base_url=None)
    assert message.blocks[0] == {"type": "section", "text": {"type": "mrkdwn", "text":
        "Budgets are set by the board (2) (4). [1]\n• minutes within &lt;ten&gt; days [2]"}}
    assert message.text == escape("Budgets are set by the board (2) (4). [1]\n"
                                  "• minutes within <ten> days [2]")


def test_the_sentences_of_one_passage_share_a_line_marked_at_its_end():
    from core.models import AnswerPart

    answer = CITED.model_copy(update={
        "answer": "Directors report to the CDO. They may escalate. [1]\n- minutes [2]",
        "parts": [AnswerPart(text="Directors report to the CDO.", citations=[]),
                  AnswerPart(text="They may escalate.", citations=[1]),
                  AnswerPart(text="minutes", citations=[2], kind="item"),
                  AnswerPart(text="Boards meet monthly.", citations=[2])]})
    message = answer_message(answer, feedback_id="abc", pdf_base_url=None)
    assert message.blocks[0]["text"]["text"] == (
        "Directors report to the CDO. They may escalate. [1]\n• minutes [2]\n"
        "Boards meet monthly. [2]")
