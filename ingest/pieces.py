"""Chunk -> pieces: what an answer can quote, each embedded once at ingest.

A piece is one sentence of prose, one short line that is a fact in itself ("Version 1,
2 September 2021"), one list item (nested items keep their depth), one numbered item or one
heading. Answering scores pieces by meaning as well as by words; embedding them here, once per
document version, keeps that out of the question's latency (MiniLM costs ~3 ms a sentence on
this machine, ~250 ms for the pieces of six passages).
"""
from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from core.models import Chunk
from ingest.chunk import SENTENCE_END

NUMBERED_LEAD = re.compile(r"^\d{1,2}(\.\d{1,2})*\.?\s+")
DATE_LEAD = re.compile(r"^\d{1,2}\s?(st|nd|rd|th)?\s+(January|February|March|April|May|June|July|"
                       r"August|September|October|November|December)\b", re.I)  # not an item number
MAX_NUMBERED_ITEM_WORDS = 40  # a longer numbered line is a board paper's numbered paragraph
OFFSETS_KEY, VECTORS_KEY = "piece_offsets", "piece_vectors"  # chunk metadata fields


@dataclass(frozen=True)
class Piece:
    """A quotable piece of a chunk's text and where it starts."""

    text: str
    offset: int
    kind: str = "sentence"  # "sentence" | "line" | "item" | "numbered" | "heading"
    depth: int = 0  # list nesting of an item


def heading_of(chunk: Chunk, offset: int) -> str:
    """The innermost heading over a character of the chunk."""
    return chunk.section_of(offset).rpartition(" > ")[2].strip()


def logical_lines(chunk: Chunk, text: str) -> list[tuple[int, str, bool]]:
    """The text's lines with where each starts, and whether each is a list item whose bullet
    the PDF lost. A line the PDF broke off mid-sentence ("The appointment of these leads is")
    is joined to the lowercase line that goes on with it ("deferred until Dec 2022."), so the
    sentence is one piece; the join is one space for one newline, so offsets into the text
    still hold. Lowercase lines straight after a line ending in ":" are items, never joined
    ("...leaders should aspire towards ... include:" "openness and honesty with colleagues"
    "a commitment to listening to others"): glued together they read as one endless item."""
    lines: list[tuple[int, str, bool]] = []
    cursor = 0
    for raw in text.split("\n"):
        at = text.find(raw, cursor)
        cursor = at + len(raw)
        if lines and _lost_bullet(*lines[-1], at, raw):
            lines.append((at, raw, True))
        elif lines and _continues(chunk, *lines[-1][:2], at, raw):
            start, previous, _ = lines[-1]
            lines[-1] = (start, f"{previous} {raw}", False)
        else:
            lines.append((at, raw, False))
    return lines


def _lost_bullet(start: int, previous: str, bullet: bool, at: int, raw: str) -> bool:
    """Whether `raw` is an item of a list printed without bullets: a lowercase line straight
    after an intro ending in ":" or after another such item."""
    return (at == start + len(previous) + 1 and raw.strip()[:1].islower()
            and (bullet or previous.rstrip().endswith(":")))


def _continues(chunk: Chunk, start: int, previous: str, at: int, raw: str) -> bool:
    """Whether `raw` (at `at`) carries on the sentence `previous` broke off."""
    before, line = previous.strip(), raw.strip()
    return (at == start + len(previous) + 1 and bool(before) and line[:1].islower()
            and before[-1] not in ".?!:;" and before != heading_of(chunk, start)
            and line != heading_of(chunk, at))


def pieces_of(chunk: Chunk, text: str | None = None) -> list[Piece]:
    """Split a chunk (or a same-length rewrite of its text) into pieces, keeping list items
    whole and marking headings."""
    text = chunk.text if text is None else text
    out: list[Piece] = []
    for line_at, raw, bullet in logical_lines(chunk, text):
        stripped = raw.lstrip()
        indent = len(raw) - len(stripped)
        if bullet:
            out.append(Piece(stripped.strip(), line_at + indent, "item"))
            continue
        if stripped.startswith("- "):
            out.append(Piece(stripped[2:].strip(), line_at + indent + 2, "item", indent // 2))
            continue
        line = stripped.strip()
        if not line:
            continue
        if line == heading_of(chunk, line_at):
            out.append(Piece(line, line_at, "heading"))
            continue
        parts = [p.strip() for p in SENTENCE_END.split(line) if p.strip()]
        body = NUMBERED_LEAD.sub("", line)
        if NUMBERED_LEAD.match(line) and not DATE_LEAD.match(line) \
                and len(SENTENCE_END.split(body)) == 1 \
                and len(line.split()) <= MAX_NUMBERED_ITEM_WORDS:
            out.append(Piece(line, line_at, "numbered"))
            continue
        if len(parts) == 1 and not line.endswith((".", "?", "!")):
            out.append(Piece(line, line_at, "line"))
            continue
        pos = 0
        for part in parts:
            at = line.find(part, pos)
            pos = at + len(part)
            out.append(Piece(part, line_at + max(at, 0)))
    return nest_by_label(out)


ITEM_LABEL = re.compile(r"^\(?([ivx]{1,4}|[a-z]|[A-Z]|\d{1,2})[.)]\s")


def label_scheme(text: str, previous: str = "") -> str:
    """How a list item is numbered: "roman", "lower", "upper", "digit", or "" for a bullet.
    `previous` is the label of the item before ("i." after "h." is a letter)."""
    match = ITEM_LABEL.match(text)
    if match is None:
        return ""
    label = match.group(1)
    follows_letter = len(label) == 1 and len(previous) == 1 and ord(label) == ord(previous) + 1
    if re.fullmatch(r"[ivx]{1,4}", label) and not follows_letter:
        return "roman"
    if label.isdigit():
        return "digit"
    return "lower" if label.islower() else "upper"


def nest_by_label(pieces: list[Piece]) -> list[Piece]:
    """Items numbered in a new scheme inside a list ("b. ... The three collaboratives are:"
    then "i.", "ii.", "iii.") are sub-items of the item before them, even where the PDF
    printed them at one indent."""
    out: list[Piece] = []
    outer, previous = "", ""  # the scheme the run of items began with; the last item's label
    for piece in pieces:
        if piece.kind != "item":
            out.append(piece)
            previous = ""
            continue
        scheme = label_scheme(piece.text, previous)
        if not out or out[-1].kind != "item":
            outer = scheme
        nested = bool(outer and scheme and scheme != outer)
        out.append(replace(piece, depth=piece.depth + 1) if nested else piece)
        match = ITEM_LABEL.match(piece.text)
        previous = match.group(1) if match else ""
    return out


def encode_vectors(offsets: Sequence[int], vectors: np.ndarray) -> dict[str, str]:
    """Chunk metadata holding each piece's unit vector as int8 (384 bytes a piece for MiniLM:
    cosine similarity changes by under 0.01), so the vectors live and die with their chunk."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    quantized = np.clip(np.rint(vectors / np.maximum(norms, 1e-9) * 127), -127, 127)
    return {OFFSETS_KEY: ",".join(map(str, offsets)),
            VECTORS_KEY: base64.b64encode(quantized.astype(np.int8).tobytes()).decode("ascii")}


def decode_vectors(meta: dict) -> dict[int, np.ndarray]:
    """offset -> unit vector of each piece, from a chunk's metadata ({} if it has none)."""
    offsets = [int(o) for o in str(meta.get(OFFSETS_KEY) or "").split(",") if o]
    if not offsets:
        return {}
    raw = np.frombuffer(base64.b64decode(str(meta[VECTORS_KEY])), dtype=np.int8)
    matrix = raw.reshape(len(offsets), -1).astype(np.float32)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)
    return dict(zip(offsets, matrix))


def piece_metadata(chunks: Sequence[Chunk], embed) -> list[dict[str, str]]:
    """Each chunk's pieces embedded (one call for the whole document: the embedder batches
    texts of similar length) and encoded for the chunk's metadata."""
    pieces = [pieces_of(chunk) for chunk in chunks]
    texts = [p.text for found in pieces for p in found]
    vectors = embed(texts) if texts else np.zeros((0, 0), dtype=np.float32)
    out: list[dict[str, str]] = []
    start = 0
    for found in pieces:
        rows = vectors[start:start + len(found)]
        start += len(found)
        out.append(encode_vectors([p.offset for p in found], rows) if found else {})
    return out
