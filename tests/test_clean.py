"""Cleaning on real corpus text: footers, HTML remnants, glued bullets, ligatures, hyphens."""
from pathlib import Path

from core.models import Page
from ingest.clean import clean_pages, dehyphenate, running_headers
from ingest.load import load_file

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
LBBD = CORPUS / "lbbd-hwb-2022-06-14-place-partnership-lead"


def test_markdown_html_remnants_become_plain_lines():
    excerpt = "\n".join(LBBD.with_suffix(".md").read_text(encoding="utf-8").split("\n")[:16])
    assert "<p>" in excerpt and '<ul style="list-style-type: none">' in excerpt
    assert clean_pages([Page(1, excerpt)], is_markdown=True) == [Page(1, """\
HEALTH AND WELLBEING BOARD

14 JUNE 2022

Title: Place Partnership Lead - ICS Place Based Partnership
Report of the Chair of the Barking and Dagenham Delivery Group
Open Report For Information
Wards Affected: All Key Decision: No
Report Author: Jane Leaman, Consultant in Public Health (Interim) Contact Details: Jane.leaman@lbbd.gov.uk
Sponsor: Matthew Cole, Chair of Barking and Dagenham Delivery Group and Director of Public Health
Summary:
Place Based Partnerships are a crucial building block of NEL's integrated care system (ICS), \
along with provider collaboratives and the new integrated care partnership and integrated care board.

The leadership of partnership working at place will be vital to how successfully it continues \
to support improvement to residents' health and wellbeing. The appointment of a Place Partnership \
lead is proposed, providing leadership at place alongside a Clinical and Care Director, a Primary \
Care Development lead, specific clinical and care leads (as part of a Clinical and Care Leadership \
model) and a Place Delivery Director, working with area focused Integrated Care Board (ICB) teams.

Recommendation(s)
The Health and Wellbeing Board is recommended to note:

• The development of the leadership model for the Place Based Partnership
• The need to identify the individual who the B&D Place Based Partnership best fit the role \
profile. However as there are still some unknowns, B&D Place Based Partnership needs to identify \
somebody who can fulfil the role as currently envisaged and work with the Chief Executive of NEL \
and others across the ICS in order to develop it over the coming months.
Reason(s)
The development of the Place Based Partnership is a crucial component of the health and care \
integration agenda proposed within the Health and Care Act April 2022.

The Place Partnership lead role will be accountable for the delivery of the agreed outcomes to \
improve the health and wellbeing of residents of Barking and Dagenham.""")]


def test_pdf_page_loses_its_footer_and_ligatures_keeps_its_lines():
    raw = load_file(LBBD.with_suffix(".pdf")).pages
    assert raw[0].text.startswith("Page 1 of 5\n") and "Aﬀected" in raw[0].text
    cleaned = clean_pages(raw)
    assert [p.number for p in cleaned] == [1, 2, 3, 4, 5]
    assert cleaned[0].text == """\
HEALTH AND WELLBEING BOARD
14 JUNE 2022
Title: Place Partnership Lead - ICS Place Based Partnership Report of the Chair of the
Barking and Dagenham Delivery Group
Open Report For Information Wards Affected: All Key Decision: No Report Author: Jane
Leaman, Consultant in Public Health (Interim) Contact Details: Jane.leaman@lbbd.gov.uk
Sponsor: Matthew Cole, Chair of Barking and Dagenham Delivery Group and Director of
Public Health
Summary:
Place Based Partnerships are a crucial building block of NEL's integrated care system (ICS),
along with provider collaboratives and the new integrated care partnership and integrated
care board.
The leadership of partnership working at place will be vital to how successfully it continues
to support improvement to residents' health and wellbeing. The appointment of a Place
Partnership lead is proposed, providing leadership at place alongside a Clinical and Care
Director, a Primary Care Development lead, specific clinical and care leads (as part of a
Clinical and Care Leadership model) and a Place Delivery Director, working with area
focused Integrated Care Board (ICB) teams.
Recommendation(s)
The Health and Wellbeing Board is recommended to note:
• The development of the leadership model for the Place Based Partnership
• The
need to identify the individual who the B&D Place Based Partnership best fit the role
profile. However as there are still some unknowns, B&D Place Based Partnership
needs to identify somebody who can fulfil the role as currently envisaged and work
with the Chief Executive of NEL and others across the ICS in order to develop it over
the coming months.
Reason(s)
The development of the Place Based Partnership is a crucial component of the health
and care integration agenda proposed within the Health and Care Act April 2022.
The Place Partnership lead role will be accountable for the delivery of the agreed
outcomes to improve the health and wellbeing of residents of Barking and
Dagenham.
1. Introduction and Background
Two recently published documents describe principles and broad approaches to place
leadership, rather than a prescriptive model.
1.1 Thriving Places: guidance on the development of place-based partnerships as
part of statutory integrated care systems was published by NHS England and the
Local Government Association in July 2021 identifies:
Three potential categories of leadership role – convenor, executive lead and
programme leads"""


def test_no_page_of_any_corpus_pdf_keeps_a_footer():
    for pdf in sorted(CORPUS.glob("*.pdf")):
        for page in clean_pages(load_file(pdf).pages):
            assert f"Page {page.number} of" not in page.text, (pdf.name, page.number)


def test_word_broken_across_lines_is_joined_with_its_hyphen():
    lines = ["In many cases, leaders at place will balance multiple roles in the system. Some place-",
             "based partnerships have introduced independent chairs, to help maintain balance in the"]
    assert dehyphenate(lines) == [
        "In many cases, leaders at place will balance multiple roles in the system. Some place-based",
        "partnerships have introduced independent chairs, to help maintain balance in the"]


def test_letterhead_repeated_on_most_pages_is_dropped_but_page_text_kept():
    pages = [Page(p.number, f"Sandwell and West Birmingham Hospitals\n{p.text}")
             for p in load_file(CORPUS / "swbh-trust-board-2021-10-07-place-based-partnerships.pdf").pages]
    cleaned = clean_pages(pages)
    assert all("Sandwell and West Birmingham Hospitals\n" not in p.text for p in cleaned)
    assert cleaned[0].text.startswith("Report Title: Place Based Partnerships\n")
    assert running_headers([["Only", "two"], ["Only", "pages"]]) == set()


def test_a_table_row_label_run_into_its_cell_ends_its_line():
    from ingest.clean import split_glued_cells

    assert split_glued_cells("Population health managementThe partnership has agreed") == (
        "Population health management\nThe partnership has agreed")
    assert split_glued_cells("LinkedIn, McDonald and iPhone stay whole") == (
        "LinkedIn, McDonald and iPhone stay whole")
