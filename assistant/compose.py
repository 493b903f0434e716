"""Hits -> Answer from structural units (ANSWER_ENGINE=units, the default): the unit that
best answers first, cited, then support.

The steps, each a small function: units (assistant.units) -> scores (assistant.evidence) ->
answerability (assistant.answerability, a fitted model) -> selection -> composition.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from assistant.answer import citation_for, refusal, streamed
from assistant.citations import neutralise_markers
from assistant.answerability import (PRECEDENTS, Features, Model, like_unanswerable,
                                     load_model)
from assistant.evidence import (AUTHOR, CONTACT, CONTENTS_ASKED, DATE, DOCUMENT_NOUNS, FIELD_SHARE,
                                Scored, answer_type, in_contents, on_cover_sheet, opens_section,
                                person_asked, states_title,
                                score_units, summarises)
from assistant.places import places_named
from assistant.refusal import (NAME_ASKED, OUTCOME_ASKED, asked_subject, question_subject, unstated_notice, unsupported_names,
                               value_unstated)
from assistant.retrieve import named_documents as documents_named
from assistant.retrieve import (document_names, keyword_query, query_terms, retrieval_query,
                                terms_of)
from ingest.layout import COVER_LABELS
from assistant.units import (Sentence, Unit, next_in_section, piece_after, sentences_of,
                             units_of)
from core.models import Answer, AnswerPart, Chunk, Citation, Hit, StreamEvent, Turn
from core.settings import Settings, visible_to

log = logging.getLogger(__name__)
CHUNKS_CONSIDERED = 6  # passages whose units compete: 4 -> 6 raised dev key facts 0.526 -> 0.574 (8: 0.570)
# a supporting unit on the first's page scores at least this share of the first: 0.6 -> 0.5
# raised key facts dev 0.779 -> 0.783, dev16 0.587 -> 0.607 (0.55: 0.783 / 0.607, 0.45: 0.783
# / 0.614) with citation precision the same or higher; answers ~10 words longer
SUPPORT_SHARE = 0.5
# ... and this share when it is on another page than the first: dev and dev16 citation
# precision 0.752 -> 0.759 and 0.754 -> 0.761, dev key facts 0.786 -> 0.777 (0.70: dev key
# facts 0.766, dev16 unchanged)
OFF_PAGE_SHARE = 0.65
TIED = 0.95  # a second list scoring this close to the first is shown too: neither wins
SECTION_FOLLOWS = 2  # pieces after the opening of a section the question names (a table row)
NAMED_SECTIONS = 2  # chunks where a section the question names in full begins
MAX_SUPPORT = 2  # units after the first; a list answer takes one
CONTENTS_LINES = 12  # pieces of a contents page quoted after the first
MIN_REPEAT = 24  # letters: a shorter piece inside a longer one is not a repeat ("Who:")
NEAR_COPY_WORDS = 8  # words: shorter pieces share words without saying the same thing
NEAR_COPY_SHARE = 0.9  # of the shorter piece's distinct words, found in the other
COMPARE = re.compile(r"\b(compare|comparison|differ|difference|different|both|versus|vs\.?|"
                     r"contrast|whereas|each of)\b", re.I)



FRONT_MATTER_TYPES = ("author", "when", "contact", "summary", "appendix", "title")
# a question that points at a part of the document by where it is printed
FIRST_PAGES = re.compile(r"\b(cover(ing)? (sheet|page|note|report)|front (page|cover|sheet)|"
                         r"title page|first page)\b", re.I)
LAST_PAGES = re.compile(r"\b(back (page|cover)|on the back|last page|(at|on) the (very )?end|"
                        r"end of the (document|guidance|paper|report|publication))\b", re.I)


def candidate_units(hits: Sequence[Hit], next_chunk: Callable[[Chunk], Chunk | None],
                    covers: Sequence[Chunk] = ()) -> list[Unit]:
    """Units of the top passages, in retrieval order, then of the cover sheets given (who
    wrote a paper and when are on its first page, which a search for the topic misses)."""
    units: list[Unit] = []
    seen: set[str] = set()
    for rank, hit in enumerate(hits[:CHUNKS_CONSIDERED]):
        units.extend(units_of(hit.chunk, rank, next_chunk))
        seen.add(hit.chunk.id)
    for cover in covers:
        if cover.id not in seen:
            seen.add(cover.id)
            units.extend(units_of(cover, 1, next_chunk))
    return units


def covers_for(question: str, hits: Sequence[Hit],
               first_chunk: Callable[[Chunk], Chunk | None],
               last_chunk: Callable[[Chunk], Chunk | None] = lambda chunk: None,
               next_chunk: Callable[[Chunk], Chunk | None] = lambda chunk: None) -> list[Chunk]:
    """The first chunks of the top passages' documents, for who-wrote-it and when questions
    and questions about a cover sheet (and the chunks after, where a summary or key
    points follow the title page, for a summary); their last chunks for questions about the
    back page."""
    ends: list[Callable[[Chunk], Chunk | None]] = []
    if answer_type(question) in FRONT_MATTER_TYPES or FIRST_PAGES.search(question):
        ends.append(first_chunk)
    if answer_type(question) == "summary" or CONTENTS_ASKED.search(question):
        for step in range(1, SUMMARY_CHUNKS):  # a summary, key points or contents follow the title
            ends.append(lambda chunk, step=step: _nth_after(first_chunk(chunk), next_chunk, step))
    if LAST_PAGES.search(question) or answer_type(question) in ("contact", "author", "appendix"):
        ends.append(last_chunk)
    covers: list[Chunk] = []
    for end in ends:
        for hit in hits[:CHUNKS_CONSIDERED]:
            cover = end(hit.chunk)
            if cover is not None and all(c.id != cover.id for c in covers):
                covers.append(cover)
    return covers


MIN_FOLLOWING_WORDS = 3
SUMMARY_CHUNKS = 5  # a document's opening chunks searched for its own summary (title, contents, ...)


def _nth_after(chunk: Chunk | None, next_chunk: Callable[[Chunk], Chunk | None],
               steps: int) -> Chunk | None:
    for _ in range(steps):
        chunk = next_chunk(chunk) if chunk is not None else None
    return chunk


def _texts(unit: Unit) -> set[str]:
    """A unit's pieces as lower-case words: compared without spacing or punctuation, the same
    words printed twice (a table cell and the paragraph that repeats it, "managementPlace-based")
    are one."""
    return {" ".join(re.findall(r"[a-z0-9]+", t.lower()))
            for t in (unit.lead.text, *(i.text for i in unit.items))}


def _restates(mine: str, old: str) -> bool:
    """The same piece, one inside a longer one, or a near-copy: nearly all of the shorter one's
    words in the other (a guidance's summary and body often print one sentence twice, a few
    words apart: "...until the legislation [passes through Parliament and] receives Royal
    Assent")."""
    mine_letters, old_letters = mine.replace(" ", ""), old.replace(" ", "")
    if mine_letters == old_letters or (min(len(mine_letters), len(old_letters)) >= MIN_REPEAT
                                       and (mine_letters in old_letters
                                            or old_letters in mine_letters)):
        return True
    mine_words, old_words = set(mine.split()), set(old.split())
    shorter = min(len(mine_words), len(old_words))
    return (shorter >= NEAR_COPY_WORDS
            and len(mine_words & old_words) >= NEAR_COPY_SHARE * shorter)


def _repeats(unit: Unit, seen: set[str]) -> bool:
    """Whether a unit says again what the answer already quotes."""
    return any(_restates(mine, old) for mine in _texts(unit) for old in seen)


def passage_names(passages: Sequence[Hit]) -> frozenset[str]:
    """The terms of the words that name the passages' papers ("swbh", "thriving", "b&d")."""
    return frozenset(query_terms(" ".join({n for h in passages for n in document_names(h.chunk)})))


def pieces_of(passages: Sequence[Hit]) -> list[str]:
    """The text of every sentence, line and list item of the passages, in rank order."""
    return [s.text for rank, h in enumerate(passages) for s in sentences_of(h.chunk, rank)]


def about_places_asked(question: str, passages: Sequence[Hit]) -> list[Hit]:
    """The passages from papers about a place the question names, if it names one: Southwark's
    "Public Health Grant of £29m" is no answer to Barking and Dagenham's public health grant.
    A passage is about a place its title, organisation or text names. A comparison's places
    are each answered from their own papers."""
    asked = places_named(question)
    if not asked or COMPARE.search(question):  # "bob vs the black country": each its own
        return list(passages)
    return [h for h in passages
            if asked & places_named(f"{h.chunk.title} {h.chunk.organisation} {h.chunk.text}")]


def where_stated(question: str, passages: Sequence[Hit]) -> list[Hit]:
    """The passages that could state a value the question asks for: from the papers it names
    ("who is the bob icb chief exec": BOB's, not B&D's line on the NEL ICB's chief executive)
    and about the places it names (`about_places_asked`)."""
    about = about_places_asked(question, passages)
    named = named_documents(question, passages)
    return [h for h in about if h.chunk.doc_id in named] or about if named else about


def passage_coverage(question: str, passages: Sequence[Hit],
                     names: frozenset[str] = frozenset()) -> float:
    """Share of the question's terms that occur anywhere in the passages (with their titles,
    and the words naming their documents): a question whose main words no passage uses is
    asking about something else."""
    terms = query_terms(question)
    if not terms:
        return 0.0
    found: set[str] = set(names).union(*terms_of([
        f"{h.chunk.title} {h.chunk.organisation} {h.chunk.section} {h.chunk.text}"
        for h in passages]))
    return len(terms & found) / len(terms)


def named_documents(question: str, hits: Sequence[Hit]) -> list[str]:
    """Documents among the hits that the question names ("the Sandwell paper", "b&d"), in
    retrieval order (assistant.retrieve reads the names)."""
    named = documents_named(question, [hit.chunk for hit in hits])
    return list(dict.fromkeys(h.chunk.doc_id for h in hits if h.chunk.doc_id in named))


COVER_FIELD = re.compile(r"^(?P<label>" + "|".join(COVER_LABELS) + r")\b:?")


def cover_field(unit: Unit) -> str | None:
    """The label of the cover-sheet field a unit is ("Author", "Action Required"), if it is
    one: a paper's metadata, printed on its first page. An unlabelled line among the fields
    (the meeting's date under the letterhead) is the "Date" or "Cover" field."""
    lead = unit.lead
    if lead.chunk.page_of(lead.offset) > 1:
        return None
    match = COVER_FIELD.match(lead.text)
    if match:
        return match["label"]
    if unit.items or not on_cover_sheet(lead):
        return None
    return "Date" if DATE.search(lead.text) else "Cover"


# the cover-sheet fields that name people: they may answer a who-question
PEOPLE_FIELDS = ("Report of", "Report Author", "Author", "Sponsor", "Sponsoring Executive",
                 "Presenter", "Prepared by", "Executive Lead", "Contact Details", "Cover")


# what a question asks of the papers themselves, which their cover sheets answer: what each
# board is asked to do, when and where each was presented, who wrote it
PAPER_ASKED = re.compile(r"\b(asked|asks?|asking|recommend\w*|approv\w*|sign\w*\s+(\w+\s+)?off|"
                         r"decisions?|decide|noting|agenda|meetings?|dates?|authors?|wrote|written|"
                         r"presented|sponsor\w*)\b", re.I)


def about_the_paper(question: str, unit: Unit) -> bool:
    """A cover-sheet field the question does not name, or the paper's account of itself
    ("This paper outlines ..."): what a paper is, not what it says of the thing two papers
    are compared on ("Conflicts of Interest" answers a comparison of conflicts of interest)."""
    label = cover_field(unit)
    if label is not None and query_terms(label) & (query_terms(question) - DOCUMENT_NOUNS):
        return False
    return label is not None or summarises(unit.lead)


def off_cover(question: str, first: Unit, candidate: Unit) -> bool:
    """A cover-sheet field that supports an answer it is not part of: a paper's author,
    purpose or conflicts of interest say nothing about what its body says, unless the question
    is about the paper (its author, date, contact), names the field, or is answered from the
    cover sheet itself."""
    label = cover_field(candidate)
    if label is None or cover_field(first) is not None:
        return False
    kind = answer_type(question)
    if kind in FRONT_MATTER_TYPES or kind == "who" and label in PEOPLE_FIELDS:
        return False  # "who should be members": an author line may say who, "Paper is for" not
    return not query_terms(label) & (query_terms(question) - DOCUMENT_NOUNS)  # not "Date of Paper"


COMPARED = [re.compile(p, re.I) for p in (
    r"\b(?:differen\w*|distinction|compar\w*|contrast)\b.*?\bbetween\s+(?P<a>.+?)\s+and\s+"
    r"(?P<b>.+?)\s*[?.!]*$",
    r"^\s*(?:compare|contrast)\s+(?P<a>.+?)\s+(?:and|with|to|against)\s+(?P<b>.+?)\s*[?.!]*$",
    r"^\s*(?:what(?:'s| is)\s+)?(?P<a>[^-?]+?)\s+(?:vs\.?|versus)\s+(?P<b>[^-?]+?)\s*[?.!]*$")]


MAX_SIDE_WORDS = 6
SIDE_BREAK = re.compile(r",\s*(?:and\s+|or\s+)?", re.I)  # three or more things compared


def compared_sides(question: str) -> list[set[str]]:
    """What a question compares when it names two things or more ("difference between a joint
    committee and a committee of a statutory body", "lead provider vs joint committee", "a
    convenor, an executive lead and a programme lead"): each side's own words, those it shares
    with another ("committee", "lead") left out; [] otherwise."""
    match = next((m for pattern in COMPARED if (m := pattern.search(question))), None)
    if match is None:
        return []
    named = [*SIDE_BREAK.split(match["a"]), match["b"]]  # "a convenor, an exec lead and ..."
    if any(len(side.split()) > MAX_SIDE_WORDS for side in named):
        return []  # "by when will bob have worked out which bits sit with place vs system"
    words = [query_terms(keyword_query(side)) for side in named]
    sides = [own - set().union(*(w for j, w in enumerate(words) if j != i))
             for i, own in enumerate(words)]
    return sides if all(sides) else []


def _about_side(unit: Unit, side: set[str], other: set[str]) -> bool:
    """Whether a unit speaks of one side of a comparison: its heading names that side and not
    the other (Table 2's "Committee of a statutory body" row), or its text says more of that
    side's own words than of the other's."""
    lead = unit.lead
    heading = query_terms(lead.chunk.section_of(lead.offset).split(" > ")[-1])
    names_side, names_other = (len(heading & s) * 2 >= len(s) for s in (side, other))
    if names_side != names_other:  # a row or section headed by one side is about that side
        return names_side
    text = query_terms(unit.text)
    said, other_said = len(text & side) / len(side), len(text & other) / len(other)
    return said >= 0.5 and said > other_said


def stray_cover_field(question: str, unit: Unit) -> bool:
    """A cover-sheet field asked nothing it is for: "Date and Name of Committee at which Paper
    Reviewed" does not answer whether the model constitution requires a named place committee
    for sharing "name" and "committee". A field answers a question about the paper (its author,
    date, contact, summary, who; "which agenda item was the bob paper"), or one whose words its
    label mostly names ("is it a key decision": "Key Decision")."""
    label = cover_field(unit)
    kind = answer_type(question)
    if (label is None or kind in FRONT_MATTER_TYPES or kind == "who" and label in PEOPLE_FIELDS
            or query_terms(question) & DOCUMENT_NOUNS  # "what is the board asked ... the paper"
            or FIRST_PAGES.search(question)):  # "on the bob cover sheet, which ... is ticked"
        return False  # a who-question is answered by the fields naming people, not the title
    asked = (query_terms(keyword_query(question))
             - query_terms(" ".join(document_names(unit.lead.chunk))))
    return bool(asked) and len(asked & query_terms(label)) / len(asked) < FIELD_SHARE


def _page(piece: Sentence) -> tuple[str, int]:
    return piece.chunk.doc_id, piece.chunk.page_of(piece.offset)


# a list whose opening points back at what was just said ("They should set out:", "These
# include:", "The following are expected:"): the list is what the sentence before it is about
REFERS_BACK = re.compile(r"^(?:they|these|this|those|it|such|the following|which)\b", re.I)


def _list_opening(piece: Sentence | None, scored: Sequence[Scored]) -> Unit | None:
    """The list a piece introduces, among the candidate units."""
    if piece is None:
        return None
    return next((s.unit for s in scored if s.unit.is_list and s.unit.lead.offset == piece.offset
                 and s.unit.lead.chunk.id == piece.chunk.id), None)


TABLE_SECTION = re.compile(r"\b(Table|Box) \d+\b", re.I)
MAX_ROW_PIECES = 3  # a row's sentences after the first: dev table key facts 0.778 -> 0.819 (5: same)


def rest_of_row(unit: Unit) -> int:
    """How many pieces after a unit are printed in the same table row: a row of a table is
    one paragraph whose sentences answer together ("Promote health and wellbeing The place-
    based partnership ... This could include improving the quality of housing ...")."""
    lead = unit.lead
    chunk = lead.chunk
    if unit.items or not TABLE_SECTION.search(chunk.section_of(lead.offset)):
        return 0
    end = chunk.text.find("\n", lead.offset)
    end = len(chunk.text) if end < 0 else end
    return min(MAX_ROW_PIECES, sum(1 for p in sentences_of(chunk, lead.rank)
                                   if lead.offset < p.offset < end))


NAMED_HEADING = 0.5  # share of the question's topic words a heading prints for it to name it


def heading_named(question: str, unit: Unit) -> float:
    """Share of the question's topic words (less those naming the unit's paper: its
    organisation and short names; a title may name a section too, "Place Partnership Lead")
    that the unit's own section heading prints."""
    chunk = unit.lead.chunk
    topic = (query_terms(keyword_query(question))
             - query_terms(f"{chunk.organisation} {' '.join(document_names(chunk))}"))
    heading = chunk.section_of(unit.lead.offset).rpartition(" > ")[2]
    return len(topic & query_terms(heading)) / len(topic) if topic else 0.0


def rival_section(question: str, first: Unit, candidate: Unit) -> bool:
    """A support from a rival of the section the question names: "what does the Place
    Partnership Lead do" is answered under "2.1 Place Partnership Lead", and the bullets of
    "2.2 Place Delivery Role" beside it describe another role. A rival's heading names part
    of what the question asks, less of it than the first unit's heading; a heading naming
    none of it is no rival (a table row the layout filed under the wrong heading)."""
    named = heading_named(question, first)
    if named < NAMED_HEADING:
        return False
    return 0 < heading_named(question, candidate) < named


def _section(piece: Sentence) -> tuple[str, int, str]:
    return *_page(piece), piece.chunk.section_of(piece.offset)


def sibling_lists(first: Unit, other: Unit) -> bool:
    """Two lists under one heading on one page: parts of one description ("The Role:" then
    "What:" under "2.1 Place Partnership Lead"), so a list answer shows both."""
    return first.is_list and other.is_list and _section(first.lead) == _section(other.lead)


# the word a question asks with, where it opens a clause ("b&d lead - what will they do")
WH_WORD = re.compile(r"['‘\"“](what|who|how|when|where|why)['’\"”]|"  # "just the 'what' part"
                     r"(?:^|[.!?;:]\s+|\s[-–—]\s+|\b(?:me|know|idea|wondering|explain|confirm)\s+)"
                     r"\W*(what|who|how|when|where|why)\b", re.I)


def asked_by_label(question: str, first: Unit, scored: Sequence[Scored]) -> Unit | None:
    """Of the lists beside the first under its heading, the one labelled with the question's
    own asking word: a role set out as "What:", "Who:" and "How:" answers "what will the
    lead be doing" with its "What:" list, "who appoints them" with its "Who:" list."""
    asked = WH_WORD.search(question)
    if asked is None or not first.is_list:
        return None
    label = f"{(asked.group(1) or asked.group(2)).lower()}:"
    return next((s.unit for s in scored if s.unit is not first and sibling_lists(first, s.unit)
                 and s.unit.lead.text.strip().lower() == label), None)


# where one question asks several things: "agenda item no, board date, which exec cttee saw
# it first", "what version is it n when published", "open or exempt, and which wards"
# ("and" joins parts only before a question word: "Sandwell and West Birmingham" is one name)
PART_BREAK = re.compile(r"\s*(?:[,;?/]|\s-\s|\b(?:and|n|plus|also)\s+(?=(?:what|which|when|who|"
                        r"whose|where|how|is|are|was|were|does|do|did|has|have)\b))\s*", re.I)
MAX_PARTS = 4  # cover lines an answer to a question of several parts quotes


def asked_parts(question: str) -> list[set[str]]:
    """The words of each thing a question asks, less the words every part shares ("the bob
    paper"): a part is told apart by what only it asks for."""
    asking = query_terms("what which who whom when where whose how does do did is are was were has have")
    parts = [query_terms(p) - asking for p in PART_BREAK.split(question)]
    parts = [p for p in parts if p]
    shared = set.intersection(*parts) if len(parts) > 1 else set()
    return [p - shared for p in parts if p - shared]


def common_terms(passages: Sequence[Hit]) -> set[str]:
    """Words at least half the passages (and two) print ("BOB", "paper", "place"): they tell
    no part of a question from another."""
    texts = [query_terms(h.chunk.text) for h in passages]
    counts: dict[str, int] = {}
    for terms in texts:
        for term in terms:
            counts[term] = counts.get(term, 0) + 1
    return {t for t, n in counts.items() if n >= max(2, len(texts) / 2)}


def cover_parts(question: str, chosen: Sequence[Unit], scored: Sequence[Scored],
                passages: Sequence[Hit]) -> list[Unit]:
    """For a question asking several things of a paper's front page (one of the chosen units
    is a line of it), the line that answers each part the chosen units do not: "Agenda item: 11" for "agenda item no" beside "Date of
    Meeting: ..." for "board date". Lines of that page only; empty for any other question."""
    lead = next((u.lead for u in chosen if u.lead.kind == "line"
                 and u.lead.chunk.page_of(u.lead.offset) == 1), None)
    if lead is None:
        return []
    common = common_terms(passages) | passage_names(passages)
    parts = [p - common for p in asked_parts(question)]
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return []
    found: list[Unit] = []
    said = query_terms(" ".join(u.text for u in chosen))
    front = [s.unit for s in scored if s.unit.lead.chunk.doc_id == lead.chunk.doc_id
             and s.unit.lead.chunk.page_of(s.unit.lead.offset) == 1]
    for part in parts:
        if 2 * len(part & said) >= len(part):
            continue  # half its words are printed already
        best = max(front, key=lambda u: len(part & query_terms(u.text)), default=None)
        if best is not None and part & query_terms(best.text) and best not in found:
            found.append(best)
            said |= query_terms(best.text)
    return found[:MAX_PARTS - 1]


def select_units(question: str, scored: Sequence[Scored], hits: Sequence[Hit]) -> list[Unit]:
    """The units an answer quotes (`chosen_units`), then, for a question asking several things
    of one paper's front page, a line for each thing no chosen unit states yet."""
    chosen = chosen_units(question, scored, hits)
    if len(named_documents(question, hits)) < 2:
        seen = {text for unit in chosen for text in _texts(unit)}
        chosen += [unit for unit in cover_parts(question, chosen, scored, hits[:CHUNKS_CONSIDERED])
                   if not _repeats(unit, seen)]
    return chosen


def chosen_units(question: str, scored: Sequence[Scored], hits: Sequence[Hit]) -> list[Unit]:
    """The best unit first, then the piece that follows it in its section (the rest of its row
    in a table), then up to two supporting units that add something new; a comparison gets the
    best unit of each document it names."""
    first = scored[0]
    chosen: list[Unit] = []
    seen: set[str] = set()
    kind = answer_type(question)

    def take(unit: Unit, follows: int = 1) -> None:
        """A unit, then the piece that follows it in its section: the answer often follows
        the sentence that matched."""
        chosen.append(unit)
        seen.update(_texts(unit))
        last = unit
        for _ in range(follows):
            following = None if last.is_list else next_in_section(last)
            if following is None and not last.is_list:
                announced = _list_opening(piece_after(last), scored)
                if announced is not None and not _repeats(announced, seen):
                    chosen.append(announced)  # "...catchment area." then "In considering:"
                    seen.update(_texts(announced))
                break
            if (following is None or _repeats(Unit(following), seen)
                    or len(following.text.split()) < MIN_FOLLOWING_WORDS
                    and not re.search(r"\d", following.text)):
                break  # nothing new, or a fragment split off a line ("the ICB.", not "July 2022")
            if unit is not first.unit and _page(following) != _page(last.lead):
                break  # a supporting unit's next piece over the page is a citation elsewhere
            if unit is not first.unit and off_cover(question, first.unit, Unit(following)):
                break  # the next field after a supporting one, which it could not support
            if kind == "author" and not (AUTHOR.search(following.text)
                                         or CONTACT.search(following.text)):
                break  # "Report Author: ..." then their contact details, not the meeting's date
            if kind == "title" and not states_title(following):
                break  # a title over two headings, not the sentence under it
            last = Unit(following)
            chosen.append(last)
            seen.update(_texts(last))
        if unit is first.unit and not last.is_list:
            announced = _list_opening(piece_after(last), scored)
            if (announced is not None and REFERS_BACK.match(announced.lead.text)
                    and not _repeats(announced, seen)):
                chosen.append(announced)  # "... asked ICSs to confirm ..." then "They should set out:"
                seen.update(_texts(announced))

    person = person_asked(question, [s.unit for s in scored])
    if person is not None:  # "who is zena etheridge": where she is named with her role, only
        take(first.unit, 0)
        for candidate in scored[1:1 + MAX_SUPPORT * 2]:
            if (len(chosen) <= MAX_SUPPORT and candidate.typed and person in candidate.unit.text
                    and not _repeats(candidate.unit, seen)):
                take(candidate.unit, 0)
        return chosen
    documents = named_documents(question, hits)
    if (answer_type(question) == "when" and cover_field(first.unit) is not None
            and len(documents) < 2):
        take(first.unit, 0)  # "when was the bob paper written": its dates, not the fields after
        for candidate in scored[1:]:
            if len(chosen) > MAX_SUPPORT or candidate.score < SUPPORT_SHARE * first.score:
                break
            if candidate.typed and not _repeats(candidate.unit, seen):
                take(candidate.unit, 0)
        return chosen
    if CONTENTS_ASKED.search(question) and in_contents(first.unit.lead):
        page = first.unit.lead.chunk.id  # the contents page from its first line, in its order
        take(min((s.unit for s in scored if s.unit.lead.chunk.id == page
                  and in_contents(s.unit.lead)), key=lambda u: u.lead.offset), CONTENTS_LINES)
        return chosen
    comparing = len(documents) >= 2 and bool(COMPARE.search(question) or " and " in question)
    of_the_papers = kind in FRONT_MATTER_TYPES or bool(PAPER_ASKED.search(question))
    if comparing and not of_the_papers and about_the_paper(question, first.unit):
        own = first.unit.lead.chunk.doc_id  # its document's body speaks first
        first = next((s for s in scored if s.unit.lead.chunk.doc_id == own and s.coverage > 0
                      and not about_the_paper(question, s.unit)), first)
    take(first.unit, max(SECTION_FOLLOWS if first.opening else 1, rest_of_row(first.unit)))
    if comparing:
        for doc_id in documents[:3]:
            if any(u.lead.chunk.doc_id == doc_id for u in chosen):
                continue
            parts = [s.unit for s in scored if s.unit.lead.chunk.doc_id == doc_id
                     and not _repeats(s.unit, seen)
                     and (s.coverage > 0 or kind == "author" and s.typed)]
            best = next((u for u in parts if of_the_papers or not about_the_paper(question, u)),
                        parts[0] if parts else None)
            if best is not None:
                take(best)
        return chosen
    sides = compared_sides(question)
    if sides:  # "difference between a joint committee and a committee of a statutory body"
        for i, side in enumerate(sides):
            other = set().union(*(s for j, s in enumerate(sides) if j != i))
            if any(_about_side(u, side, other) for u in chosen):
                continue
            best = next((s.unit for s in scored[1:] if _about_side(s.unit, side, other)
                         and not _repeats(s.unit, seen)), None)
            if best is not None:
                take(best, 0)
        return chosen
    support = 1 if first.unit.is_list else MAX_SUPPORT
    labelled = asked_by_label(question, first.unit, scored)
    if labelled is not None and not _repeats(labelled, seen):
        take(labelled)  # "what will they be doing": the "What:" list beside "The Role:"
        support -= 1
    for candidate in scored[1:]:
        if support == 0 or candidate.score < SUPPORT_SHARE * first.score:
            break
        if off_cover(question, first.unit, candidate.unit):
            continue
        if (_page(candidate.unit.lead) != _page(first.unit.lead)
                and candidate.score < OFF_PAGE_SHARE * first.score):
            continue  # a citation on another page must earn its place more
        if kind in ("author", "appendix", "title") and not candidate.typed:
            continue  # what the question asks of a paper it names: the answer's shape, only
        if rival_section(question, first.unit, candidate.unit):
            continue  # "the role of the Place Partnership Lead": not the Place Delivery Role's
        if _repeats(candidate.unit, seen) or (first.unit.is_list and candidate.unit.is_list
                                               and candidate.score < TIED * first.score
                                               and not sibling_lists(first.unit, candidate.unit)):
            continue  # a list answer is that list (or two lists scored alike); support is prose
        take(candidate.unit)
        support -= 1
    return chosen


def unit_similarity(question: np.ndarray, unit: Unit,
                    stored: dict[str, dict[int, np.ndarray]]) -> float:
    """Cosine of the question and the mean of a unit's piece vectors (0 if none stored)."""
    vectors = [v for p in (unit.lead, *unit.items)
               if (v := stored.get(p.chunk.id, {}).get(p.offset)) is not None]
    if not vectors or question.shape[0] != vectors[0].shape[0]:
        return 0.0
    mean = np.mean(vectors, axis=0)
    return float(mean @ question / max(float(np.linalg.norm(mean)), 1e-9))


def page_groups(unit: Unit) -> list[list[Sentence]]:
    """A unit's lead and items in runs printed on one page: each run is cited once."""
    groups: list[list[Sentence]] = []
    for piece in (unit.lead, *unit.items):
        page = (piece.chunk.doc_id, piece.chunk.page_of(piece.offset))
        if groups and (groups[-1][0].chunk.doc_id,
                       groups[-1][0].chunk.page_of(groups[-1][0].offset)) == page:
            groups[-1].append(piece)
        else:
            groups.append([piece])
    return groups


ROW_LABEL_WORDS = 5  # a row's label or a short heading ("Executive leads", "Lead provider")
BARE_LABEL = re.compile(r"^\w+(\s+\w+)?:$")  # "What:", "Who:", "Appointment Process:"


def with_its_heading(lead: Sentence, text: str) -> str:
    """A bare label ("What:") says what its list is about only through its section heading,
    and the cell of a table row what it describes only through the row's label: the heading
    goes before it ("2.2 Place Delivery Role — What:", "Executive leads — Take formal
    responsibility for statutory functions ..."), so a reader sees whose it is. Only a short
    heading printed straight above the piece is put there (a label, not a quote)."""
    heading = lead.chunk.section_of(lead.offset).split(" > ")[-1].strip()
    if not heading or heading.lower() in text.lower():
        return text
    if BARE_LABEL.match(text) or (len(heading.split()) <= ROW_LABEL_WORDS
                                  and opens_section(Unit(lead))):
        return f"{heading} — {text}"
    return text


def continues(previous: Sentence, unit: Unit) -> bool:
    """Whether a sentence of prose is printed straight after the one quoted before it, on its
    page: the two are one passage, quoted and cited once ("... sustainability. This may
    include ..." is one citation, not two)."""
    lead = unit.lead
    if unit.items or lead.chunk.id != previous.chunk.id \
            or not lead.kind == previous.kind == "sentence":
        return False  # a heading, a label line or a list item reads as its own line
    end = previous.offset + len(previous.text)
    if lead.offset <= end or lead.chunk.text[end:lead.offset].strip():
        return False  # not next to it, or something (a paragraph number) stands between
    return (_page(lead) == _page(previous)
            and lead.chunk.section_of(lead.offset) == previous.chunk.section_of(previous.offset))


def compose(units: Sequence[Unit]) -> Answer:
    """Each unit's lead, then a list's items under it. One citation per quote: a list printed
    on one page is one quote (its intro and items), marked once where it starts; sentences
    printed one after the other are one quote, marked where it ends. A lone list item is a
    bullet only when it answers first."""
    lines: list[str] = []
    parts: list[AnswerPart] = []
    citations: list[Citation] = []
    numbers: dict[tuple[str, int, str], int] = {}

    def cite(group: list[Sentence]) -> int:
        first = group[0]
        quote = "\n".join(neutralise_markers(piece.text) for piece in group)
        key = (first.chunk.doc_id, first.chunk.page_of(first.offset), quote)
        if key not in numbers:
            citation = citation_for(first, len(citations) + 1)
            citations.append(citation.model_copy(update={"quote": quote}))
            numbers[key] = citations[-1].n
        return numbers[key]

    run: tuple[Sentence, int] | None = None  # the last lone sentence quoted, and its number
    for unit in units:
        if run is not None and continues(run[0], unit):
            piece, n = unit.lead, run[1]
            text = neutralise_markers(piece.text)
            gap = piece.chunk.text[run[0].offset + len(run[0].text):piece.offset]  # as printed
            lines[-1] = f"{lines[-1].removesuffix(f' [{n}]')} {text} [{n}]"
            parts[-1] = parts[-1].model_copy(update={"citations": []})
            parts.append(AnswerPart(text=text, citations=[n]))
            citations[n - 1] = citations[n - 1].model_copy(
                update={"quote": f"{citations[n - 1].quote}{gap}{text}"})
            run = (piece, n)
            continue
        run = None
        base = min((i.depth for i in unit.items), default=0)
        for group in page_groups(unit):
            n = cite(group)
            for index, piece in enumerate(group):
                marker = [n] if index == 0 else []
                suffix = f" [{n}]" if index == 0 else ""
                text = neutralise_markers(piece.text)  # a planted "[4]" is never a marker
                # a lone list item is a bullet when it answers first; after other units it is
                # prose, or under a list it would read as one of that list's items
                bullet = piece.is_item and not unit.items and unit is units[0]
                if piece is unit.lead and not bullet:
                    labelled = with_its_heading(piece, text)
                    lines.append(f"{labelled}{suffix}")
                    parts.append(AnswerPart(text=labelled, citations=marker))
                    if not unit.items and not BARE_LABEL.match(text):
                        run = (piece, n)  # the next sentence printed after it runs on
                    continue
                indent = "  " * max(piece.depth - base, 0) if piece is not unit.lead else ""
                lines.append(f"{indent}- {text}{suffix}")
                parts.append(AnswerPart(text=text, citations=marker, kind="item"))
    return Answer(answer="\n".join(lines), citations=citations, parts=parts, refused=False,
                  mode="extractive")


class UnitAnswerer:
    """The embedded default: quotes the units of the retrieved passages that answer best."""

    def __init__(self, settings: Settings,
                 next_chunk: Callable[[Chunk], Chunk | None] | None = None,
                 known_terms: Callable[[set[str], Sequence[str]], set[str]] | None = None,
                 model: Model | None = None,
                 first_chunk: Callable[[Chunk], Chunk | None] | None = None,
                 last_chunk: Callable[[Chunk], Chunk | None] | None = None,
                 sections_named: Callable[[set[str], Sequence[str]], list[Chunk]] | None = None,
                 piece_vectors: Callable[[Sequence[Chunk]], dict[str, dict[int, np.ndarray]]]
                 | None = None,
                 embed_query: Callable[[str], np.ndarray] | None = None,
                 embed_texts: Callable[[list[str]], np.ndarray] | None = None) -> None:
        self.settings = settings
        self.embed_texts = embed_texts
        self._precedents: tuple[np.ndarray, np.ndarray] | None = None
        self.piece_vectors = piece_vectors
        self.embed_query = embed_query
        self.next_chunk = next_chunk or (lambda chunk: None)
        self.first_chunk = first_chunk or (lambda chunk: None)
        self.last_chunk = last_chunk or (lambda chunk: None)
        self.sections_named = sections_named
        self.known_terms = known_terms
        self.model = model or load_model()

    def asks_about_the_unmentioned(self, question: str, clearance: str) -> bool:
        """True when what the question asks for ("salary band", "fee") is named only in words
        that no document the caller may read ever uses."""
        return self.unmentioned_subject(question, clearance) == 1.0

    def unmentioned_subject(self, question: str, clearance: str,
                            names: frozenset[str] = frozenset()) -> float:
        """Share of the words naming what a what/which question asks for that no document
        the caller may read uses: "indemnity or insurance cover" is mostly unmentioned even
        though "cover" is printed somewhere."""
        return self.unknown_share(" ".join(asked_subject(question)), clearance, names)

    def unknown_share(self, text: str, clearance: str,
                      names: frozenset[str] = frozenset()) -> float:
        """Share of the text's terms that no document the caller may read ever uses
        ("parking", "by-election"): checked against the caller's own vocabulary only. Words
        that name a retrieved document ("swbh" of swbh-trust-board-...) are known: they name
        the paper, which never calls itself by its id."""
        terms = query_terms(text)
        if self.known_terms is None or not terms:
            return 0.0
        unnamed = terms - names
        known = self.known_terms(unnamed, visible_to(clearance)) if unnamed else set()
        return 1 - (len(known) + len(terms & names)) / len(terms)

    def features(self, question: str, hits: Sequence[Hit], best: Scored | None,
                 clearance: str) -> Features:
        """The answerability model's inputs, from the question and what the caller may read."""
        passages = hits[:CHUNKS_CONSIDERED]
        texts = [f"{h.chunk.title} {h.chunk.organisation} {h.chunk.text}" for h in passages]
        pieces = pieces_of(where_stated(question, passages))  # where a value may be stated
        names = passage_names(passages)
        return Features(
            similarity=max((h.similarity for h in passages if h.similarity is not None),
                           default=0.0),
            coverage=best.coverage if best else 0.0,
            typed=best.typed if best else 0.0,
            meaning=best.meaning if best else 0.0,
            passage_coverage=passage_coverage(question, passages, names),
            unknown_terms=self.unknown_share(NAME_ASKED.sub(" ", question), clearance, names),
            unknown_subject=self.unmentioned_subject(question, clearance, names),
            unknown_name=float(bool(unsupported_names(question, texts))),
            no_value=float(value_unstated(question, pieces, names) is not None),
            like_unanswerable=self.like_unanswerable(question, clearance),
            like_nearest=self.like_unanswerable(question, clearance, 1),
            outcome=float(bool(OUTCOME_ASKED.search(question))),
        )

    def precedents(self) -> tuple[np.ndarray, np.ndarray]:
        """The model's precedent questions embedded by this process's embedder (once), and
        whether each is answerable."""
        if self._precedents is None:
            texts = [text for text, _, _ in self.model.precedents]
            vectors = (np.asarray(self.embed_texts(texts)) if texts and self.embed_texts
                       else np.zeros((0, 0)))
            self._precedents = (vectors,
                                np.array([a for _, a, _ in self.model.precedents], bool))
        return self._precedents

    def like_unanswerable(self, question: str, clearance: str = "public",
                          k: int = PRECEDENTS) -> float:
        """The answerability feature of that name (assistant.answerability), over the
        precedents the caller's clearance may be compared with. A precedent worded as the
        question is left out: a question is never its own precedent, so the dev set is
        measured as any new question is (and as the fit saw it)."""
        vectors, answerable = self.precedents()
        if self.embed_query is None or not len(vectors):
            return 0.0
        asked = " ".join(question.split()).casefold()
        allowed = visible_to(clearance)
        usable = np.array([" ".join(text.split()).casefold() != asked and needs in allowed
                           for text, _, needs in self.model.precedents])
        return like_unanswerable(self.embed_query(question), vectors[usable], answerable[usable],
                                 k)

    def scored_units(self, question: str, hits: Sequence[Hit],
                     history: Sequence[Turn] = (), clearance: str = "public") -> list[Scored]:
        """The candidate units of the passages, best first; a question that names documents
        ("the Sandwell paper") is answered from those."""
        covers = covers_for(question, hits, self.first_chunk, self.last_chunk, self.next_chunk)
        if self.sections_named is not None:  # where a section the question names begins
            covers += self.sections_named(query_terms(keyword_query(question)),
                                          visible_to(clearance))[:NAMED_SECTIONS]
        units = candidate_units(hits, self.next_chunk, covers)
        scored = score_units(question, units,
                             self.similarities(retrieval_query(question, history), units))
        scored = [s for s in scored if not stray_cover_field(question, s.unit)] or scored
        named = named_documents(question, hits)
        if named:
            scored = [s for s in scored if s.unit.lead.chunk.doc_id in named] or scored
        return scored

    def similarities(self, query: str, units: Sequence[Unit]) -> list[float] | None:
        """Cosine similarity of the question and each unit (the mean of its pieces' vectors,
        stored at ingest); None when the store holds no piece vectors."""
        if self.piece_vectors is None or self.embed_query is None or not units:
            return None
        chunks = {p.chunk.id: p.chunk for u in units for p in (u.lead, *u.items)}
        stored = self.piece_vectors(list(chunks.values()))
        if not any(stored.values()):
            return None
        question = self.embed_query(query)
        return [unit_similarity(question, unit, stored) for unit in units]

    def notice(self, question: str, features: Features, hits: Sequence[Hit]) -> str | None:
        """Where it helps the caller rephrase, the words of theirs that matched nothing, or
        the kind of value no passage states (names in the question are never echoed)."""
        words = " ".join(asked_subject(question))
        if features.unknown_subject == 1.0:
            return (f'None of the documents you can search use the words "{words}"; '
                    "try the words the guidance would use.")
        if features.no_value:
            passages = hits[:CHUNKS_CONSIDERED]
            kind = value_unstated(question, pieces_of(where_stated(question, passages)),
                                  passage_names(passages))
            return unstated_notice(kind, question) if kind else None
        return None

    def answer(self, question: str, hits: Sequence[Hit], *, clearance: str = "public",
               history: Sequence[Turn] = ()) -> Answer:
        if not hits:
            return refusal(hits)
        scored = self.scored_units(question, hits, history, clearance)
        best = scored[0] if scored else None
        features = self.features(question, hits, best, clearance)
        probability = self.model.probability(features)
        if best is None or probability < self.model.threshold:
            log.info("refused (answerability %.2f, %s): %s", probability,
                     answer_type(question), question[:200])
            return refusal(hits, notice=self.notice(question, features, hits))
        return compose(select_units(question, scored, hits))

    def stream(self, question: str, hits: Sequence[Hit], *, clearance: str = "public",
               history: Sequence[Turn] = ()) -> Iterator[StreamEvent]:
        yield from streamed(self.answer(question, hits, clearance=clearance, history=history))
