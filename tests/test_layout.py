"""Tagged-PDF structure (ingest.layout) and answer units (assistant.units) on the real corpus:
a list item, a cover-sheet line and a signatory each come out whole, on the right page."""
from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader

from assistant.units import units_of
from core.models import Chunk, Document
from ingest.chunk import chunk_document
from ingest.clean import clean_pages
from ingest.layout import structured_pages
from ingest.load import load_file

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
THRIVING = CORPUS / "nhse-lga-2021-09-thriving-places-guidance.pdf"
LBBD = CORPUS / "lbbd-hwb-2022-06-14-place-partnership-lead.pdf"
BOB = CORPUS / "bob-icb-board-2022-09-27-place-based-partnerships.pdf"
SWBH = CORPUS / "swbh-trust-board-2021-10-07-place-based-partnerships.pdf"


@pytest.fixture(scope="module")
def pages() -> dict[str, list[list[str]]]:
    """Each PDF's pages as lists of blocks (one block per line)."""
    out = {}
    for pdf in (THRIVING, LBBD, BOB, SWBH):
        texts = structured_pages(PdfReader(pdf))
        out[pdf.stem] = [[b for b in text.split("\n") if b] for text in texts]
    return out


def blocks_on(pages, pdf: Path, page: int) -> list[str]:
    return pages[pdf.stem][page - 1]


def test_version_and_date_line_is_its_own_block_on_the_cover(pages):
    assert "Version 1, 2 September 2021" in blocks_on(pages, THRIVING, 1)


def test_headings_come_from_the_structure_tree(pages):
    assert "# Foreword" in blocks_on(pages, THRIVING, 3)
    assert "### Consultative forum" in blocks_on(pages, THRIVING, 15)
    assert any(b.endswith("Joint committee") and b.startswith("#")
               for b in blocks_on(pages, THRIVING, 16))


def test_a_wrapped_list_item_stays_whole(pages):
    items = [b for b in blocks_on(pages, BOB, 3) if "Primary Care Networks Clinical Director" in b]
    assert len(items) == 1
    assert "one per sub-place (4 Buckinghamshire" in items[0] and "3 Berkshire West)" in items[0]
    assert items[0].startswith(("- ", "◦ "))


def test_foreword_signatories_are_separate_blocks(pages):
    page = blocks_on(pages, THRIVING, 3) + blocks_on(pages, THRIVING, 4)
    assert any(b.startswith("Cllr David Fothergill") for b in page)
    assert any(b.startswith("Mark Cubbon") for b in page)


def test_cover_sheet_fields_are_split_into_lines(pages):
    assert any(b.startswith("Report Author: Jane Leaman") for b in blocks_on(pages, LBBD, 1))
    assert any(b.startswith("Report Author: Daren Fradgley") for b in blocks_on(pages, SWBH, 1))


def test_a_cover_field_printed_without_its_colon_starts_its_own_line(pages):
    bob = blocks_on(pages, BOB, 1)
    assert "Date of Paper: 04/09/2022" in bob  # not run on into "Conflicts of Interest ..."
    assert any(b.startswith("Conflicts of Interest Board partner members") for b in bob)
    assert any(b.startswith("Action Required The Board is asked to note") for b in bob)


def test_lettered_items_are_list_items(pages):
    page = blocks_on(pages, SWBH, 5) + blocks_on(pages, SWBH, 4)
    assert any(b.startswith("- A. Lack of a common set of vision") for b in page)


def test_untagged_layout_setting_keeps_plain_text():
    plain = load_file(THRIVING, "text").pages[0].text
    tagged = load_file(THRIVING, "tagged").pages[0].text
    assert "# Thriving places" in tagged and "# Thriving places" not in plain


def _chunks(pdf: Path) -> list[Chunk]:
    loaded = load_file(pdf, "tagged")
    doc = Document(doc_id=pdf.stem, title=pdf.stem, visibility="public")
    return chunk_document(clean_pages(loaded.pages), doc, "0" * 16)


def test_a_list_unit_is_its_intro_and_every_item():
    chunks = _chunks(LBBD)
    following = {c.id: chunks[i + 1] for i, c in enumerate(chunks[:-1])}
    units = [u for c in chunks for u in units_of(c, 0, lambda c: following.get(c.id))]
    what = [u for u in units if u.lead.text == "What:" and u.items
            and u.lead.chunk.page_of(u.lead.offset) == 3]
    assert what, "the Place Partnership Lead's 'What:' list"
    assert [i.text for i in what[0].items] == [
        "Building local relationships and developing mutually accountable ways of working",
        "Leading local oversight and collective peer challenge",
        "Arbitrating and resolving local issues and tensions",
        "Facilitating shared decision-making by chairing the place-based partnership and ICB "
        "place committee",
        "Representing place at key ICS forums",
    ]


def test_a_malformed_structure_tree_falls_back_to_plain_text(tmp_path):
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, NumberObject

    writer = PdfWriter(clone_from=THRIVING)
    tree = DictionaryObject({NameObject("/Type"): NameObject("/StructTreeRoot"),
                             NameObject("/K"): NumberObject(7)})  # an MCID with no page
    writer._root_object[NameObject("/StructTreeRoot")] = writer._add_object(tree)
    broken = tmp_path / "broken-tree.pdf"
    writer.write(broken)
    loaded = load_file(broken, "tagged")
    assert "Version 1, 2 September 2021" in loaded.pages[0].text
    assert "# Thriving places" not in loaded.pages[0].text  # plain text: no structure marks
