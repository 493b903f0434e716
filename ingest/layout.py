"""PDF -> structured page text: paragraphs, headings and list items read from the PDF itself.

A tagged PDF (what public bodies publish for accessibility, and what browsers print) carries a
structure tree: headings (H1..H6), paragraphs (P), lists (L / LI) and tables (Table / TR / TD),
each pointing at the marked content that draws it. Reading blocks from that tree instead of from
line positions keeps a wrapped list item whole, never glues two bullets together and never cuts
"(4 Buckinghamshire" off its line. Paragraphs that are wholly bold and short become headings
(board papers set their headings in bold without tagging them). Each block is written as one
line ("# " headings, "- " items, "| " table rows) with a blank line between blocks, so the
chunker sees the structure; an untagged PDF falls back to pypdf's plain text.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from pypdf import PageObject, PdfReader
from pypdf.generic import DictionaryObject, IndirectObject

HEADING_ROLES = {f"/H{n}": n for n in range(1, 7)} | {"/H": 2, "/Title": 1}
ITEM_ROLES = {"/LI"}
ROW_ROLES = {"/TR"}
BLOCK_ROLES = {"/P", "/Caption", "/TOCI", "/BlockQuote", "/Note"} | set(HEADING_ROLES)
SKIP_ROLES = {"/Artifact"}
LABEL = re.compile(r"^\(?(\d{1,2}(\.\d{1,2})*|[a-zA-Z]|[ivx]{1,4})[.)]?$")
COVER_LABELS = ("Title", "Report Title", "Report of", "Report Author", "Author", "Contact Details",
                "Sponsor", "Sponsoring Executive", "Wards Affected", "Key Decision", "Summary",
                "Date of Meeting", "Date of Paper", "Date and Name of Committee", "Meeting",
                "Title of Paper", "Paper is for", "Purpose", "Purpose of Report", "Presenter",
                "Prepared by", "Executive Lead", "Agenda item", "Conflicts of Interest",
                "Previously considered by", "Action Required", "Recommendations?")
FIELD = re.compile(r"(?<!Report)\s(?=(?:Report of\b|(?:" + "|".join(COVER_LABELS[:-1]) +
                   r"|Recommendations?)[^:.]{0,60}:))")
# a cover sheet's table sometimes prints a field's label without its colon ("Action Required The
# Board is asked to ..."): a label of two words or more followed by a capital starts a field too
BARE_FIELD = re.compile(r"\s(?=(?:" + "|".join(l for l in COVER_LABELS if " " in l) +
                        r")\s+[A-Z])")
FRONT_PAGES = 1
MAX_BOLD_HEADING_WORDS = 14


@dataclass
class _Run:
    """Text drawn inside one marked-content sequence, with its font facts."""

    text: str
    y: float
    bold: bool
    size: float


@dataclass
class StructBlock:
    """One block of a page: its kind, text, and heading level."""

    kind: str  # "heading" | "para" | "item" | "row"
    text: str
    page: int
    level: int = 0
    depth: int = 0  # list nesting: 0 for a top-level item

    def render(self) -> str:
        if self.kind == "heading":
            return f"{'#' * self.level} {self.text}"
        if self.kind == "item":
            return f"{'◦' if self.depth > 1 else '-'} {self.text}"
        if self.kind == "row":
            return f"| {self.text} |"
        return self.text


@dataclass
class _Pending:
    kind: str
    level: int
    depth: int
    pieces: list[tuple[int, _Run]] = field(default_factory=list)  # (page, run)
    label: str = ""  # "1." of a numbered list item


def _marked_runs(page: PageObject) -> dict[int, list[_Run]]:
    """The text of each marked-content id (MCID) on a page, in drawing order."""
    runs: dict[int, list[_Run]] = defaultdict(list)
    stack: list[int | None] = []

    def before(op: bytes, args, cm, tm) -> None:
        if op == b"BDC":
            props = args[1] if len(args) > 1 else None
            mcid = props.get("/MCID") if isinstance(props, DictionaryObject) else None
            stack.append(int(mcid) if mcid is not None else None)
        elif op == b"BMC":
            stack.append(None)
        elif op == b"EMC" and stack:
            stack.pop()

    def text(value: str, cm, tm, font, size) -> None:
        current = next((m for m in reversed(stack) if m is not None), None)
        if current is None or not value:
            return
        name = str(font.get("/BaseFont", "")) if font else ""
        runs[current].append(_Run(value, round(tm[5] * cm[3] + cm[5], 1),
                                  "Bold" in name, abs((size or 0) * tm[0])))

    page.extract_text(visitor_operand_before=before, visitor_text=text)
    return runs


def _join(runs: list[_Run]) -> str:
    """Runs of one block -> one line: a new line of the PDF is a space, a line that ends in
    a hyphen joins the next ("co-" + "operation")."""
    text, last_y = "", None
    for run in runs:
        piece = run.text.replace("\n", " ")
        if last_y is not None and abs(run.y - last_y) > 1 and text:
            if text.rstrip().endswith("-") and text.rstrip()[-2:-1].isalpha():
                text, piece = text.rstrip(), piece.lstrip()  # "co-" + "operation"
            elif not text.endswith(" "):
                text += " "
        text += piece
        last_y = run.y
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


class _TreeReader:
    """Walks a structure tree in reading order and emits blocks."""

    def __init__(self, reader: PdfReader) -> None:
        self.page_numbers = {page.indirect_reference.idnum: i + 1
                             for i, page in enumerate(reader.pages) if page.indirect_reference}
        self.runs: dict[int, dict[int, list[_Run]]] = {}
        self.reader = reader
        self.blocks: list[StructBlock] = []

    def _page_runs(self, number: int) -> dict[int, list[_Run]]:
        if number not in self.runs:
            self.runs[number] = _marked_runs(self.reader.pages[number - 1])
        return self.runs[number]

    def walk(self, node, page: int | None = None, pending: _Pending | None = None,
             depth: int = 0) -> None:
        node = node.get_object() if isinstance(node, IndirectObject) else node
        if isinstance(node, int):  # a bare MCID on the inherited page
            if pending is not None and page is not None:
                pending.pieces.extend((page, run) for run in self._page_runs(page).get(node, []))
            return
        if not isinstance(node, DictionaryObject):
            return
        if "/Pg" in node:
            page = self.page_numbers.get(node.raw_get("/Pg").idnum, page)
        if node.get("/Type") == "/MCR":
            self.walk(node.get("/MCID"), page, pending, depth)
            return
        role = str(node.get("/S", ""))
        if role in SKIP_ROLES:
            return
        if role == "/Lbl":  # a bullet is drawn, a number is text: keep numbers
            label = _Pending("label", 0, depth)
            for kid in (node.get("/K") if isinstance(node.get("/K"), list) else [node.get("/K")]):
                if kid is not None:
                    self.walk(kid, page, label, depth)
            text = _join([run for _, run in label.pieces])
            if pending is not None and LABEL.match(text):
                pending.label = text
            return
        kids = node.get("/K")
        kids = list(kids) if isinstance(kids, list) else ([] if kids is None else [kids])
        starts_block = pending is None or role in ITEM_ROLES | ROW_ROLES or (
            role in BLOCK_ROLES and pending.kind != "row")
        if not starts_block:
            for kid in kids:
                self.walk(kid, page, pending, depth)
            return
        if pending is not None:  # a block inside a block (a list inside an item) ends it
            self._emit(pending)
        if role in ITEM_ROLES:
            mine = _Pending("item", 0, depth)
        elif role in ROW_ROLES:
            mine = _Pending("row", 0, depth)
        elif role in HEADING_ROLES:
            mine = _Pending("heading", HEADING_ROLES[role], depth)
        else:
            mine = _Pending("para", 0, depth)
        for kid in kids:
            inner = depth + 1 if role in ITEM_ROLES else depth
            self.walk(kid, page, mine, inner)
        self._emit(mine)
        if pending is not None:  # what follows the nested block continues as a new block
            pending.pieces = []

    def _emit(self, pending: _Pending) -> None:
        pieces, pending.pieces = pending.pieces, []
        by_page: dict[int, list[_Run]] = defaultdict(list)
        for page, run in pieces:
            by_page[page].append(run)
        runs = [run for _, run in pieces]
        text = _join(runs) if runs else ""
        if not text:
            return
        kind, level = pending.kind, pending.level
        words = text.split()
        if kind == "para" and all(r.bold for r in runs if r.text.strip()) \
                and len(words) <= MAX_BOLD_HEADING_WORDS and not text.endswith((".", ",", ";")):
            kind, level = "heading", 2
        if kind == "row":  # cells of one row together
            text = " | ".join(_join([r]) for r in runs if r.text.strip())
        if kind == "item" and pending.label:  # "1. Introduction": a numbered paragraph,
            lettered = not pending.label[:1].isdigit()  # "A. Lack of ...": a list item
            kind, text = ("item" if lettered else "para"), f"{pending.label} {text}"
        if kind == "para" and min(by_page) <= FRONT_PAGES and len(FIELD.findall(text)) >= 2:
            for field in FIELD.split(text):  # a cover sheet's "Title: ... Report Author: ..."
                for line in BARE_FIELD.split(field):
                    self.blocks.append(StructBlock("para", line.strip(), min(by_page)))
            return
        for number in sorted(by_page):
            part = _join(by_page[number])
            if part:
                self.blocks.append(StructBlock(kind if number == min(by_page) else "para",
                                               part if len(by_page) > 1 else text,
                                               number, level, pending.depth))


def structured_pages(reader: PdfReader) -> list[str] | None:
    """Each page's text as one block per line (blank lines between blocks), or None when the
    PDF has no structure tree to read."""
    root = reader.trailer["/Root"]
    tree = root.get("/StructTreeRoot") if isinstance(root, DictionaryObject) else None
    if tree is None:
        return None
    walker = _TreeReader(reader)
    walker.walk(tree.get_object().get("/K"))
    if not walker.blocks:
        return None
    texts: list[list[str]] = [[] for _ in reader.pages]
    for block in walker.blocks:
        texts[block.page - 1].append(block.render())
    return ["\n\n".join(lines) for lines in texts]
