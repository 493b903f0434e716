"""Chunks -> answer units: sentences, cover-sheet lines, and lists with their items.

A unit is what an answer can quote: one sentence of prose, one short line that is a fact in
itself ("Version 1, 2 September 2021", "Report Author: Jane Leaman, ..."), or a list: the line
that introduces it and its items (nested items stay under their parent item). Headings are
units too, marked as such, so that they are quoted only when the question asks for them.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from assistant.citations import neutralise_markers
from core.models import Chunk
from ingest.pieces import Piece, pieces_of

LIST_INTRO = re.compile(r"\b(two|three|four|five|six|seven|eight|nine|ten|the following|include|"
                        r"includes|including|are|as follows)\b[^.]*[.:]?$", re.I)
MAX_LABEL_LINE_WORDS = 8  # "Asks of the Board or of members present": a heading the layout missed
BARE_NUMBER = re.compile(r"^\(?(\d{1,2}(\.\d{1,2})*|[a-zA-Z]|[ivx]{1,4})[.)]?$")
NAMES_A_SET = re.compile(r"\b(two|three|four|five|six|seven|eight|nine|ten|the following|types|"
                         r"kinds|categories|options|models|Table \d+)\b", re.I)


@dataclass(frozen=True)
class Sentence:
    """A quotable piece of a chunk (sentence, line or list item) and where it sits."""

    chunk: Chunk
    text: str
    offset: int
    rank: int  # rank of its chunk in the retrieval
    is_item: bool = False
    depth: int = 0  # list nesting of an item
    kind: str = "sentence"  # "sentence" | "line" | "item" | "heading"


@dataclass(frozen=True)
class Unit:
    """What an answer quotes as one piece: a lead sentence and, for a list, its items."""

    lead: Sentence
    items: tuple[Sentence, ...] = ()

    @property
    def text(self) -> str:
        return " ".join([self.lead.text, *(i.text for i in self.items)])

    @property
    def is_list(self) -> bool:
        return len(self.items) >= 2


PIECES_KEPT = 4096  # chunks whose pieces are remembered (a chunk is immutable: its id and text)


@lru_cache(maxsize=PIECES_KEPT)
def _pieces(chunk: Chunk) -> tuple[Piece, ...]:
    """Parsing a chunk into pieces is the answerer's largest fixed cost, and the same chunks
    are retrieved question after question."""
    text = neutralise_markers(chunk.text)  # "[4]" -> "(4)": same length, so offsets hold
    return tuple(pieces_of(chunk, text))


def sentences_of(chunk: Chunk, rank: int) -> list[Sentence]:
    """A chunk's pieces (ingest.pieces) as quotable sentences of the passage at `rank`."""
    return [Sentence(chunk, p.text, p.offset, rank, p.kind == "item", p.depth, p.kind)
            for p in _pieces(chunk)]


TABLE_INTRO = re.compile(r"\b(Table|Box) \d+ (summarises|summarizes|sets out|describes|lists|"
                         r"shows|outlines)\b", re.I)


def introduces_list(sentence: Sentence) -> bool:
    """'...principles:', 'What:', '...associated to one of three themes.' and 'Table 2
    summarises the broad types of ...' announce a list."""
    text = sentence.text
    return text.endswith(":") or sentence.kind == "heading" or bool(TABLE_INTRO.search(text)) \
        or bool(LIST_INTRO.search(text) and text.endswith(".") and len(text.split()) <= 30)


def items_after(index: int, pieces: Sequence[Sentence]) -> list[Sentence]:
    """The items that follow pieces[index]: deeper items after an item, any items after a
    sentence or heading, up to the next piece that is not one of them."""
    lead = pieces[index]
    items: list[Sentence] = []
    numbered = lead.text.endswith(":") and index + 1 < len(pieces) \
        and pieces[index + 1].kind == "numbered"  # "...principles:" then "1. ...", "2. ..."
    for piece in pieces[index + 1:]:
        if numbered:
            if piece.kind != "numbered":
                break
            items.append(piece)
            continue
        if not piece.is_item:
            break
        if lead.is_item and piece.depth <= lead.depth:
            break
        if items and piece.depth > items[0].depth:  # a sub-item stays with its parent item
            continue
        items.append(piece)
    return items


SERIES_GOES_ON = re.compile(r"(;|;\s*(and|or)|,\s*(and|or))$", re.I)


def series_after(index: int, pieces: Sequence[Sentence]) -> list[Sentence]:
    """Lines after an intro ending in ":" that end in ";" or "; and" up to the one that does
    not: a list whose bullets the PDF lost ("...covers support to overall:" "Co-ordination
    of ...;" "Facilitation of ...; and" "Ensuring ...")."""
    items: list[Sentence] = []
    for piece in pieces[index + 1:]:
        if piece.kind in ("heading", "item", "numbered"):
            break
        items.append(piece)
        if not SERIES_GOES_ON.search(piece.text):
            break
    return items if len(items) >= 2 and SERIES_GOES_ON.search(items[0].text) else []


MAX_RUN_ON = 4  # pieces an intro's colon can announce when the PDF kept no bullets at all


def run_on_after(index: int, pieces: Sequence[Sentence]) -> list[Sentence]:
    """The pieces after an intro ending in ":" that has no items: what the colon announces,
    printed as plain sentences ("In considering place-level footprints:" "System partners
    should consider ..." "They should also consider ..."), up to the next intro or heading."""
    lead = pieces[index]
    if lead.kind not in ("sentence", "line") or len(lead.text.split()) < 3:
        return []  # a label ("Summary:", "Appointment Process:") heads a section, not a list
    section = lead.chunk.section_of(lead.offset)
    items: list[Sentence] = []
    for piece in pieces[index + 1:]:
        if piece.kind in ("heading", "numbered") or CAPTION.match(piece.text) \
                or lead.chunk.section_of(piece.offset) != section or len(items) == MAX_RUN_ON:
            break
        if piece.text.endswith(":"):
            break
        items.append(piece)
    return items if len(items) >= 2 else []


COUNT = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
         "nine": 9, "ten": 10}
CAPTION = re.compile(r"^(Table|Figure|Box|Chart|Annex|Appendix)\s+([A-Z]|\d+)\b", re.I)
MAX_HEADING_ITEMS = 8
TABLE_CHUNKS = 3  # chunks read ahead for the rows a table's intro announces


NUMBERED_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\.?\s+[A-Z]")


def _numbered_depth(heading: str) -> int:
    """How deep a numbered heading sits ("2." -> 1, "2.1" -> 2); 0 if it is not numbered."""
    found = NUMBERED_HEADING.match(heading.strip())
    return found.group(1).count(".") + 1 if found else 0


def heading_items(lead: Sentence, following: Sequence[Sentence]) -> list[Sentence]:
    """Sub-headings that follow an intro naming a set ("...three broad categories described
    in Table 3."): a table whose options are each set out under its own heading. As many as
    the intro counts, else up to the first heading shallower than the first one taken."""
    words = re.findall(r"[a-z]+", lead.text.lower())
    wanted = next((COUNT[w] for w in words if w in COUNT), MAX_HEADING_ITEMS)
    items: list[Sentence] = []
    depth = _numbered_depth(lead.chunk.section_of(lead.offset).split(" > ")[-1])
    for piece in following:
        if piece.kind != "heading" or CAPTION.match(piece.text):
            continue
        if depth and 0 < _numbered_depth(piece.text) <= depth:
            break  # "2. Proposal and Issues" after an intro in "1. Introduction": the set ended
        depth = piece.chunk.section_of(piece.offset).count(" > ")
        if items and depth < items[0].chunk.section_of(items[0].offset).count(" > ") \
                and wanted == MAX_HEADING_ITEMS:
            break
        items.append(piece)
        if len(items) == wanted:
            break
    return items if len(items) >= 2 and (wanted == MAX_HEADING_ITEMS or len(items) == wanted) \
        else []


# a heading that names a set ("GOVERNANCE PRINCIPLES", "Risks", "Next steps"): what follows it
# in its section is the set, one point per sentence, when the PDF kept no bullets
SET_HEADING = re.compile(r"\b(principles|risks|priorities|options|recommendations|actions|"
                         r"issues|benefits|challenges|aims|objectives|themes|requirements|"
                         r"responsibilities|functions|considerations|opportunities|lessons|"
                         r"next steps)\b", re.I)
MAX_SECTION_POINTS = 6


def names_a_set_of_points(piece: Sentence) -> bool:
    """A heading that is the name of a set ("Governance principles", "Risks"), not a topic
    that mentions one ("Agreeing the functions of the partnership")."""
    words = piece.text.split()
    return piece.kind == "heading" and len(words) <= 8 and bool(SET_HEADING.search(piece.text)) \
        and not words[0].lower().endswith("ing")


def section_points(index: int, pieces: Sequence[Sentence]) -> list[Sentence]:
    """The sentences and lines under a set-naming heading, up to the next heading or label."""
    heading = pieces[index]
    section = heading.chunk.section_of(heading.offset)
    points: list[Sentence] = []
    for piece in pieces[index + 1:]:
        if piece.kind in ("heading", "item") or len(points) == MAX_SECTION_POINTS \
                or heading.chunk.section_of(piece.offset) != section or CAPTION.match(piece.text):
            break
        if not BARE_NUMBER.match(piece.text):
            points.append(piece)
    return points if len(points) >= 2 else []


def units_of(chunk: Chunk, rank: int,
             next_chunk: Callable[[Chunk], Chunk | None] = lambda c: None) -> list[Unit]:
    """Every unit of a chunk: each piece on its own, and each list with its items (a list
    cut by the chunk's end continues with the items the next chunk opens with)."""
    pieces = sentences_of(chunk, rank)
    units: list[Unit] = []
    for index, piece in enumerate(pieces):
        units.append(Unit(piece))
        dated = _dated(index, pieces)
        if dated is not None:  # a sign-off: the name and role, then the date it was signed
            units.append(Unit(piece, (dated,)))
        if not introduces_list(piece):
            continue
        items = items_after(index, pieces)
        later: list[Sentence] | None = None
        if index + 1 + len(items) >= len(pieces):  # the list may run on into the next chunk
            later = _following(chunk, rank, next_chunk, piece.text)
            leading = _leading_items(later)
            items += [p for p in leading if not items or p.depth <= items[0].depth]
        if not items and piece.text.endswith(":"):
            items = series_after(index, pieces) or run_on_after(index, pieces)
        if not items and names_a_set_of_points(piece):
            items = section_points(index, pieces)
        if not items and piece.kind != "heading" and NAMES_A_SET.search(piece.text):
            if TABLE_INTRO.search(piece.text):  # a table's rows run on over more chunks
                later = _following(chunk, rank, next_chunk, piece.text, TABLE_CHUNKS)
            elif later is None:
                later = _following(chunk, rank, next_chunk, piece.text)
            items = heading_items(piece, pieces[index + 1:] + later)
        if items:
            if piece.text.endswith(":"):
                units.pop()  # "...include the following:" says nothing without its items
            units.append(Unit(piece, tuple(items)))
    return units


DATE_LINE = re.compile(r"^\d{1,2}\s?(st|nd|rd|th)?\s+(January|February|March|April|May|June|July|"
                       r"August|September|October|November|December)\s+\d{4}$", re.I)


def _dated(index: int, pieces: Sequence[Sentence]) -> Sentence | None:
    """The date line printed right under a line of a signature block ("Daren Fradgley Interim
    Director of Integration (designate)" then "1st October 2021"), if there is one."""
    piece = pieces[index]
    if piece.kind != "line" or piece.text.endswith(":") or index + 1 >= len(pieces):
        return None
    following = pieces[index + 1]
    same_section = piece.chunk.section_of(piece.offset) == following.chunk.section_of(following.offset)
    return following if same_section and DATE_LINE.match(following.text) else None


def next_in_section(unit: Unit) -> Sentence | None:
    """The piece printed right after a unit, if its section goes on in the same chunk: the
    sentence that matches a question often only introduces the one that answers it ("Executive
    leads ... Leaders who are appointed ..." then "These roles will be fulfilled by ...")."""
    piece = piece_after(unit)
    if piece is None or piece.kind == "heading":
        return None
    words = piece.text.split()
    short = len(words) <= (MAX_LABEL_LINE_WORDS if piece.kind == "line" else 5)
    if piece.text.endswith(":") or CAPTION.match(piece.text) \
            or short and not re.search(r"[\d.:]", piece.text):
        return None  # a list's intro without its items, a caption, or a missed label
    return piece


def piece_after(unit: Unit) -> Sentence | None:
    """The piece printed right after a unit in its section and chunk, whatever it is; a bare
    paragraph number ("16.") is skipped: it numbers the paragraph that follows."""
    lead = unit.lead
    last = unit.items[-1] if unit.items else lead
    if last.chunk is not lead.chunk:
        return None
    section = lead.chunk.section_of(lead.offset)
    for piece in sentences_of(lead.chunk, lead.rank):
        if piece.offset > last.offset and not BARE_NUMBER.match(piece.text):
            return piece if lead.chunk.section_of(piece.offset) == section else None
    return None


def _following(chunk: Chunk, rank: int, next_chunk: Callable[[Chunk], Chunk | None],
               skip: str, chunks: int = 2) -> list[Sentence]:
    """The pieces of the next chunks (a table or list cut by chunk boundaries). A chunk opens
    with the last lines of the one before it (ingest's overlap): those are read once."""
    pieces: list[Sentence] = []
    before = {p.text for p in sentences_of(chunk, rank)}
    for _ in range(chunks):
        following = next_chunk(chunk)
        if following is None:
            break
        fresh = sentences_of(following, rank)
        repeated = next((i for i, p in enumerate(fresh) if p.text not in before), len(fresh))
        pieces += [p for p in fresh[repeated:] if p.text != skip]
        before = {p.text for p in fresh}
        chunk = following
    return pieces


def _leading_items(pieces: Sequence[Sentence]) -> list[Sentence]:
    """The items a chunk opens with, after any heading or overlap line."""
    items: list[Sentence] = []
    for piece in pieces:
        if piece.is_item:
            items.append(piece)
        elif items or len(piece.text.split()) > 12:
            break
    return items
