"""Citation integrity: source text that can never pose as a marker, and a model's answer read
into claims, each checked against the source it cites (pure functions, no I/O).

A claim keeps a marker only when that source supports it (lexically: most of the claim's
content words occur in the passage); a claim with no valid marker is attributed to the passage
that supports it best; a claim no passage supports is dropped.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field

from core.models import AnswerPart

# Anything a reader (or the widget's regexp) could take for a citation marker: [4], [4, 5], [4-6]
BRACKETED_NUMBER = re.compile(r"\[\s*(\d+(?:\s*[,;\u2013-]\s*\d+)*)\s*\]")
MARKERS = re.compile(r"(?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+")
NUMBER = re.compile(r"\d+")
ITEM = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s+")
MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+)")
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
WORD = re.compile(r"[^\W\d_]")
# Share of a claim's content words that must occur in the passage it cites. At 0.5 a faithful
# paraphrase passes (models keep the nouns and numbers); a sentence about something the
# passage never mentions does not.
SUPPORT = 0.5
MIN_CLAIM_TERMS = 2  # fewer content words ("In summary:") is a connective, not a claim


def neutralise_markers(text: str) -> str:
    """`[4]` in quoted source text becomes `(4)`: it reads the same, and no interface or model
    can mistake it for a citation marker. Apply to every piece of source text shown or sent."""
    return BRACKETED_NUMBER.sub(lambda m: f"({m.group(1)})", text)


@dataclass(frozen=True)
class Unit:
    """One sentence or list item of a model's answer: its text without markers, the marker
    numbers it carried, and the line it was on (units of one line are joined by a space)."""

    text: str
    cited: tuple[int, ...]
    kind: str  # "sentence" or "item"
    line: int


def units_of(text: str) -> list[Unit]:
    """Split a model's answer into sentences and list items (a whole item is one unit) with
    their markers. A marker after the full stop ("... aims. [1]") belongs to the sentence."""
    units: list[Unit] = []
    for number, line in enumerate(text.split("\n")):
        kind = "item" if ITEM.match(line) else "sentence"
        line = MARKERS_AFTER_STOP.sub(r"\2\1", ITEM.sub("", line, count=1)).strip()
        for piece in [line] if kind == "item" else SENTENCE_BREAK.split(line):
            cited = tuple(int(n) for m in MARKERS.finditer(piece) for n in NUMBER.findall(m.group()))
            clean = re.sub(r"\s+([.,;:!?])", r"\1", MARKERS.sub("", piece)).strip()
            clean = neutralise_markers(clean)  # a "[4-6]" range is not a marker either
            if clean:
                units.append(Unit(clean, tuple(dict.fromkeys(cited)), kind, number))
    return units


def settled(text: str) -> list[Unit]:
    """The units of a partial answer that later text cannot change: all but the one being
    written, and also the one before it while what follows has no words yet (it could still
    be that sentence's marker, "... aims. [1")."""
    units = units_of(text)
    if units and WORD.search(units[-1].text):
        return units[:-1]
    return units[:-2]


def query_terms(text: str) -> set[str]:
    """Content words as the keyword index sees them (imported late: renderers such as
    bots/blocks.py need only `neutralise_markers`, not the index's tokenizer)."""
    from assistant.retrieve import query_terms as terms

    return terms(text)


def support(claim_terms: set[str], passage_terms: set[str]) -> float:
    """Share of the claim's content words that the passage contains."""
    return len(claim_terms & passage_terms) / len(claim_terms) if claim_terms else 0.0


@dataclass
class Checker:
    """Checks units against the given passages in order, numbering the quotes actually cited
    1..m by first use, and renders each kept unit as the text a reader sees. Feeding
    the same units gives the same text whether streamed or not."""

    passages: Sequence[str]
    # (passage index, claim) -> which quote of the passage backs the claim: one citation each
    quote_of: Callable[[int, str], Hashable] = lambda index, claim: index
    order: dict[Hashable, int] = field(default_factory=dict)  # quote -> citation number
    quotes: dict[Hashable, tuple[int, str]] = field(default_factory=dict)  # -> (index, claim)
    parts: list[AnswerPart] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    removed_markers: int = 0
    text: str = ""
    _pending: list[Unit] = field(default_factory=list)  # connectives waiting for a claim
    _last_line: int | None = None
    _terms: list[set[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._terms = [query_terms(p) for p in self.passages]

    def sources_for(self, unit: Unit) -> list[int]:
        """0-based indexes of the passages that support the unit: its own valid markers that
        hold up, else the one passage that supports it best, else none."""
        terms = query_terms(unit.text)
        valid = [n - 1 for n in unit.cited if 1 <= n <= len(self.passages)]
        kept = [i for i in valid if support(terms, self._terms[i]) >= SUPPORT]
        self.removed_markers += len(unit.cited) - len(kept)
        if kept:
            return kept
        scores = [support(terms, passage) for passage in self._terms]
        best = max(range(len(scores)), key=lambda i: (scores[i], -i), default=None)
        return [best] if best is not None and scores[best] >= SUPPORT else []

    def add(self, unit: Unit) -> str:
        """The text to show for this unit (with what it releases), or "" if it is held or
        dropped."""
        if len(query_terms(unit.text)) < MIN_CLAIM_TERMS:
            self._pending.append(unit)
            return ""
        sources = self.sources_for(unit)
        if not sources:
            self.dropped.append(unit.text)
            return ""
        shown = "".join(self._render(u, []) for u in self._pending)
        self._pending.clear()
        numbers = []
        for index in sources:
            quote = self.quote_of(index, unit.text)
            self.quotes.setdefault(quote, (index, unit.text))
            numbers.append(self.order.setdefault(quote, len(self.order) + 1))
        return shown + self._render(unit, list(dict.fromkeys(numbers)))

    def _render(self, unit: Unit, numbers: list[int]) -> str:
        separator = "" if not self.text else (" " if unit.line == self._last_line
                                              and unit.kind == "sentence" else "\n")
        bullet = "- " if unit.kind == "item" else ""
        markers = "".join(f"[{n}]" for n in numbers)
        piece = f"{separator}{bullet}{unit.text}" + (f" {markers}" if markers else "")
        self.text += piece
        self._last_line = unit.line
        self.parts.append(AnswerPart(text=unit.text, citations=numbers, kind=unit.kind))
        return piece


def check_all(text: str, checker: Checker) -> Checker:
    """Every unit of a whole answer checked (what the stream does, in one go)."""
    for unit in units_of(text):
        checker.add(unit)
    return checker


def stream_checked(pieces: Iterator[str], checker: Checker) -> Iterator[str]:
    """Text deltas of the checked answer as the model's pieces arrive: a unit is shown once
    it is complete and checked, so nothing shown is ever taken back."""
    written, done = "", 0
    for piece in pieces:
        written += piece
        ready = settled(written)
        for unit in ready[done:]:
            shown = checker.add(unit)
            if shown:
                yield shown
        done = max(done, len(ready))
    for unit in units_of(written)[done:]:
        shown = checker.add(unit)
        if shown:
            yield shown
