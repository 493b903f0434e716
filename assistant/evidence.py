"""Question + units -> scored units: what kind of answer is asked for, and how well each unit
gives it. Pure functions of the question and the text the caller may read."""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.retrieve import document_names, keyword_query, query_terms, terms_of
from assistant.units import CAPTION, Sentence, Unit
from core.models import Chunk
from ingest.layout import COVER_LABELS
from ingest.pieces import Piece, heading_of, pieces_of

DATE = re.compile(r"\b(\d{1,2}(st|nd|rd|th)?\s+(of\s+)?(January|February|March|April|May|June|"
                  r"July|August|September|October|November|December)|(January|February|March|"
                  r"April|May|June|July|August|September|October|November|December|Spring|"
                  r"Summer|Autumn|Winter)\s+\d{4}|\d{1,2}/\d{1,2}/\d{2,4}|\b(19|20)\d{2}(/\d{2})?\b)",
                  re.I)
NUMBER = re.compile(r"\d|£|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                    r"twenty|thirty|forty|fifty|hundred|thousand|million|billion|half)\b", re.I)
AUTHOR = re.compile(r"\b(Report Author|Author|prepared by|written by|Report of|Sponsor(ing|ed)?)\b",
                    re.I)
PERSON = re.compile(r"\b(Author|Report of|Sponsor|Chair(man)?|Director|Officer|Executive|Lead|"
                    r"Councillor|Cllr|Consultants?|prepared by|[A-Z][a-z]+ [A-Z][a-z]+,)\b")
# answer types by the question's opening words
WHEN = re.compile(r"^\s*(when\b|(by|until|till) when|(by|on|from)? ?what (date|day|month|year|"
                  r"time)|what (is|was) the (date|deadline|timescale))|"
                  r"\b(deadlines?|dates?|dated|by when|timescales?|timelines?|timetables?|"
                  r"time ?frames?)\b|"
                  r"\bwhen (was|were|is|are|did|does|do|will|would|should|must|can|could)\b", re.I)
ASKS_DEADLINE = re.compile(r"\b(by|until|till) (what|which) (date|day|month|time)|"
                           r"\b(by|until|till) when\b|\bdeadline\b", re.I)
DEADLINE = re.compile(r"\b(by|until|till|before|no later than)\s+(the\s+)?(end of\s+)?"
                      r"(\d{1,2}(st|nd|rd|th)?\s|January|February|March|April|May|June|July|"
                      r"August|September|October|November|December|Spring|Summer|Autumn|Winter|"
                      r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|(19|20)\d{2})", re.I)
# contact details: a postal address, an email, a web address or a telephone number
CONTACT_ASKED = re.compile(r"\b((postal|email|e-mail|web|office|contact|the|its|their|an?|\w+['’]s)\s+"
                           r"address(es)?|addresses|postcode|e-?mail|phone|telephone|contact "
                           r"details|contact for|websites?|web ?page|url|link to|sign(ing)? up|"
                           r"subscribe)\b", re.I)
CONTACT = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b|[\w.+-]+@[\w-]+\.[\w.]+|"
                     r"\bwww\.|https?://|\b0\d{2,4} ?\d{3,4} ?\d{3,4}\b")
# "summarise the sandwell paper", "what is the bob paper about": the paper's own account of
# itself answers (its summary or purpose), not whichever line shares the most words
SUMMARY_ASKED = re.compile(r"\b(summar(y|ise|ize|ising|izing)|overview|gist|tl;?dr|in a nutshell)\b|"
                           r"^\s*what(?:'s|’s| is| was)\s+(the|this)\b.{0,60}\b(paper|report|"
                           r"document|doc|guidance)\s+(all\s+)?about\b", re.I)
# the words a question names a document by ("the bob paper"), and those that ask for a summary
DOCUMENT_NOUNS = query_terms("paper papers report reports document documents doc docs guidance")
# a when-question asking only these of a paper it names asks the date on its cover
DATED_WORDS = query_terms("published publish publication issued issue released release dated date "
                          "written produced version out come came")
# who a paper is by, in the ways staff ask it: "who wrote ...", "report of who", "who is the
# b&d paper from?", "presented by whom"
AUTHOR_ASKED = re.compile(r"\bwho\b.*\b(wrote|written|authored|prepared|sponsor\w*|produced)\b|"
                          r"\b(written|authored|prepared|sponsored|produced)\s+by\b|"
                          r"\b(authors?|sponsor(ing)?)\b|"
                          r"\b(which|what)\s+([\w&'-]+\s+){1,2}(wrote|authored|prepared|sponsored)\b|"
                          r"\b(report|paper)s?\s+(of|by|from)\s+(who|whom)\b|"
                          r"\b(presented|submitted|brought|tabled)\s+by\s+(who|whom)\b|"
                          r"\bwhose\s+(paper|report)\b|"
                          r"^\s*who\b.*\b(paper|report|document)\b.*\bfrom\W*$", re.I)
# a paper's own title: "full title of the thriving places doc", "what is the b&d report called"
# (not a job title, nor what a paper calls something: "what are the local icps called")
TITLE_ASKED = re.compile(r"\b(full|whole|complete|proper|official|exact)\s+(title|name)\b|"
                         r"\btitle of (the|this|that)\b|"
                         r"\b(paper|report|document|doc|guidance|guide)\s+(called|titled|entitled)\b",
                         re.I)
TITLE_WORDS = query_terms("full whole complete proper official exact title name called titled "
                          "entitled")
TITLE_FIELD = re.compile(r"^\s*(Report Title|Title of Paper|Title)\s*:", re.I)
TITLE_SHARE = 0.5  # of a paper's manifest title's words a first-page line prints to be its title
# what a paper has appended: "what's appended to the b&d report", "which appendices come with
# it", "what's attached as annex 1" (not what an annex says: "the bob annex on ... - what does
# it say")
APPENDIX_ASKED = re.compile(r"\b(appended|attached|enclosed)\b|\bappendices\b|"
                            r"\b(what|which|any|list of)\s+(annex(e)?s|attachments|enclosures)\b",
                            re.I)
# where a paper lists them: "List of Appendices:", "Appendix A- NEL Place Partnership Lead Role
# Description", "Annex 1: Thriving Places - NHS / LGA Guidance"
APPENDIX_LINE = re.compile(r"^\s*((list of )?(appendix|appendices|annex|annexe)\b)", re.I)
APPENDIX_WORDS = query_terms("appended attached enclosed appendices appendix annex annexe annexes "
                             "attachment attachments enclosure enclosures come")
# the words that ask who wrote a paper: they name no topic its cover must print
AUTHOR_WORDS = query_terms("wrote written write author authors authored prepared presented from "
                           "submitted brought tabled whose")
SUMMARY_WORDS = query_terms("summary summarise summarize overview gist tldr nutshell about give")
# where a paper gives that account: its summary or purpose section, or a sentence about itself
SUMMARY_HEADING = re.compile(r"^\W*(\d+(\.\d+)*\.?\s*)?(executive summary|summary|purpose|"
                             r"overview|key points)\b", re.I)
SUMMARY_FIELD = re.compile(r"^(Executive Summary|Summary|Purpose( of (the )?(Report|Paper))?)\s*:",
                           re.I)
ABOUT_ITSELF = re.compile(r"^(This|The)\s+(paper|report|document|guidance)\s+(outlines|sets out|"
                          r"describes|summarises|summarizes|provides|presents|seeks|supports|"
                          r"proposes|is|updates|considers|explains)\b", re.I)
HOW_MANY = re.compile(r"^\s*how (many|much)\b|\bwhat (percentage|proportion|share|number)\b", re.I)
WHO = re.compile(r"^\s*(who|whom|whose)\b|\b(which|what) (consultan\w*|organisations?|"
                 r"bod(y|ies)|person|people|officer|author)\b|\b(author|authored|"
                 r"prepared|signed|sponsor)\b", re.I)  # not "written": "a written job spec"
# "who is zena etheridge", "who's marie gabriel in the nel place lead selection": a person
# asked about by name; the answer is the role printed beside the name, in capitals ("Zena
# Etheridge (NEL ICB Chief Executive designate)", not "Zena Etheridge, through the ... Chair")
WHO_IS_NAMED = re.compile(r"^\s*who(?:'s|’s|\s+is|\s+was)\s+(?!(?:the|an?|our|their|its|his|"
                          r"her|this|that|these|those|my|your|responsible|accountable|in|on|at|"
                          r"to|for|now|currently|\w+ing|\w+ed)\b)(?P<name>[a-z][\w'’.-]*"
                          r"(?:\s+[a-z][\w'’-]*){1,2}?)\s*(?:[?,]|$|\s+(?:in|on|at|from|and|"
                          r"mentioned|named)\b)", re.I)
ROLE = (r"(?:the\s+)?(?:(?:[A-Z][\w&'’/-]*|of|and|for)\s+){0,6}?(?:Chair|Director|Officer|"
        r"Executive|Lead|Leader|Councillor|Manager|Head|Secretary|Consultant|Clinician|Chief|"
        r"Designate|Mayor)")
SET_NOUNS = (r"options|roles|areas|principles|members|membership|aims|themes|types|categories|"
             r"steps|risks|functions|priorities|services|ways|things|elements|components|"
             r"responsibilities|duties|benefits|challenges|activities|capabilities|models|"
             r"arrangements|sub-committees|committees|recommendations|requirements|issues|"
             r"barriers|lessons|actions|groups|organisations|partners|documents|features")
# where a message's own question starts after what it says first ("swbh paper says lots of
# partnerships failed elsewhere - what were the usual reasons?"; "Doing a session next month.
# what does the guidance say ...")
CLAUSE_BREAK = re.compile(r"(?<=[.?!])\s+|\s+[-–—]+\s+|:\s+")
ASKING = re.compile(r"\?\s*$|^\W*(what|which|who|whom|whose|how|when|where|why|is|are|was|"
                    r"were|does|do|did|can|could|should|will|would|has|have|any)\b", re.I)


def asking_clauses(question: str) -> str:
    """The clauses of a message that ask (a question word first or a question mark last), not
    what it says around them ("... want to forward the link to a colleague"); the whole message
    when no clause asks."""
    asking = [c for c in CLAUSE_BREAK.split(question) if c.strip() and ASKING.search(c.strip())]
    return " ".join(asking) if asking else question


TABLE_ASKED = re.compile(r"\b(tables?|rows?|columns?)\b", re.I)  # its rows are prose, not a list
# "what are s75 agreements used for?" asks what something is for, not for a set
PURPOSE = re.compile(r"\b(used|meant|supposed|intended)\s+(for|to)\b", re.I)
LIST = re.compile(rf"^\s*(what|which)\s+(are|were)\b|^\s*(what|which)\s+(\w+\s+){{0,2}}"
                  rf"({SET_NOUNS})\b|^\s*(list|name)\b|\bwhat (does|do|will) .{{1,60}} do\b|"
                  r"\bwhat (are|were) (they|these|those)\b|\b(list|name) (them|these|those)\b",
                  re.I)
TERM = r"(?:an?\s+|the\s+)?(?P<subject>[\w&'-]+(?:\s+[\w&'-]+){0,3})"
DEFINE = (  # the ways staff ask what a term means
    re.compile(rf"^\s*(?:what\s+(?:is|are)|what'?s|define)\s+{TERM}\s*\??\s*$", re.I),
    re.compile(rf"^\s*how\s+(?:does|do)\s+.+?\s+define\s+{TERM}\s*\??\s*$", re.I),
    re.compile(rf"^\s*what\s+(?:is|are|'s)\s+meant\s+by\s+(?:an?\s+|the\s+)?['\"]?"
               rf"(?P<subject>[\w&'-]+(?:\s+[\w&'-]+){{0,3}}?)['\"]?"
               rf"(?:\s+(?:in|at|for|under)\s+.+)?\s*\??\s*$", re.I),
    re.compile(rf"^\s*what\s+does\s+{TERM}\s+mean\s*\??\s*$", re.I),
)
# "X are collaborative arrangements", "X are constituted as": not "X are already seizing ..."
DEFINING_VERB = r"\s+(?:(?:is|are)(?!\s+(?:\w+ly\s+|already\s+|also\s+)?\w+ing\b)|means|refers to|will be)\b"
# a term defined in apposition: its acronym in brackets, then a comma and what it is
APPOSITION = r"(?:\s*\([^)]{1,12}\))?,\s+(?:the|a|an)\s+\w+"
HEADING_QUESTION = re.compile(r"\b(sections?|headings?|chapters?|contents|annex\w*|append\w*|attach\w*)\b",
                              re.I)
CONTENTS = re.compile(r"^\s*(table of )?contents\s*$", re.I)  # a contents page's heading
# a question answered by the contents page itself ("whats in the contents", "which chapters")
CONTENTS_ASKED = re.compile(r"\b(contents|chapters)\b", re.I)

# what a question sets aside ("apart from council areas", "besides the core members", "(not the
# governance ones)"): the units that answer it are about something else
EXCLUSION = re.compile(
    r"\b(?:apart from|aside from|besides|other than|except(?: for)?|excluding|not counting|"
    r"leaving aside)\s+[^,;:?()–—]*?(?=\s*(?:[,;:?()–—]|\s-\s|$)|\s+(?:what|which|who|how)\b)"
    r"|\(\s*not\s+[^)]*\)|\bnot the [\w\s'-]{1,40}? ones\b"
    r"|,\s*not\s+(?:the\s+|an?\s+)?[^,;:?()–—]+", re.I)  # "(the icp body, not the contract)"


def without_exclusions(question: str) -> str:
    """The question less what it sets aside: those words name what the answer is not."""
    return EXCLUSION.sub(" ", question)


# a heading that carries a note in brackets ("Place Delivery Role (JD currently being drafted)")
# states a fact: it is quoted like a line
# a firm's page about itself at the end of the report it wrote ("About Mutual Ventures"): who
# prepared a consultancy's report, which prints no "prepared by"
ABOUT_AUTHOR = re.compile(r"^About (?!(this|the|these|our|us)\b)[A-Z][\w&'-]*( [A-Z][\w&'-]*){0,4}$")
STATUS_NOTE = re.compile(r"\(\s*\w+(\s+\w+){2,}\s*\)")

RANK_DECAY = 0.25  # a unit from the k-th passage counts 1 / (1 + 0.25 k)
MAX_LEAD_WORDS = 70  # longer "sentences" are unpunctuated runs of PDF lines
# feature weights, tuned on the dev set only (see README "Answering")
W_TYPE = 0.35
W_LIST = 0.3
W_HEADING = 0.25
W_ITEMS = 0.3
OFF_TYPE = 0.6
# coverage from which the answer's shape counts in full: a date, number, role or list barely on
# topic ("10. The responsibility for ICB relationships ... Place Director" for "who gets to decide
# how big each local area is") no longer outranks the sentence that answers. Dev (0.01 / 0.2 /
# 0.3 / 0.4): first unit holds a key fact 0.553 / 0.572 / 0.580 / 0.584, key facts 0.771 / 0.775
# / 0.772 / 0.773, citation precision 0.738 / 0.747 / 0.744 / 0.746
TYPED_COVERAGE = 0.2
W_SEM = 0.15  # meaning beside words: dev key facts 0.601 -> 0.629 (0.3: 0.621, 0.5: 0.613)


# answer types about a paper the question names by its title's words ("who wrote the place lead
# paper"): those words name the paper, they are not what the answer must print
NAMED_PAPER_TYPES = ("summary", "author", "appendix", "title")


def answer_type(question: str) -> str:
    """"summary", "when", "how many", "appendix", "author", "contact", "who", "define", "list" or
    "fact": what
    shape the answer should have."""
    if SUMMARY_ASKED.search(question):
        return "summary"
    if HOW_MANY.search(question):
        return "how many"
    if WHEN.search(question):
        return "when"
    if TITLE_ASKED.search(question):
        return "title"
    if APPENDIX_ASKED.search(question):
        return "appendix"
    if AUTHOR_ASKED.search(question):
        return "author"
    if CONTACT_ASKED.search(asking_clauses(question)):  # not "... want to forward the link"
        return "contact"
    if WHO.search(question):
        return "who"
    if defined_term(question):
        return "define"
    if (LIST.search(question) or not TABLE_ASKED.search(question)
            and any(LIST.search(clause) for clause in CLAUSE_BREAK.split(question))) \
            and not PURPOSE.search(question):
        return "list"
    return "fact"


PARENTHESIS = re.compile(r"\s*\([^()]*\)")  # a remark in brackets qualifies a term, is not part of it


def defined_term(question: str) -> str | None:
    """What "What is a joint committee?" asks to have defined, if the question is just that
    (a set noun makes it a list question: "What are the options?")."""
    plain = PARENTHESIS.sub("", question)  # "what's an icp (the body, not the contract)?"
    match = next((m for pattern in DEFINE if (m := pattern.match(plain))), None)
    if match is None or re.search(rf"\b({SET_NOUNS})\b", match["subject"], re.I):
        return None
    return match["subject"]


def defines(unit: Unit, term: str) -> bool:
    """Whether a unit defines the term: it says "<term> is/are ...", or it opens the section
    the term heads (a table row "Joint committee" then "A committee established ...")."""
    singular = [w[:-1] if w.endswith("s") and not w.endswith("ss") else w
                for w in re.findall(r"[\w&]+", term)]
    name = r"[\s-]+".join(re.escape(w) + "s?" for w in singular)
    lead = unit.lead
    if re.match(rf"^(?:the\s+|an?\s+)?{name}{DEFINING_VERB}", lead.text, re.I):
        return True
    if re.match(rf"^(?:the\s+|an?\s+)?{name}{APPOSITION}", lead.text, re.I):
        return True  # "an integrated care partnership (ICP), the broad alliance of ..."
    return bool(re.fullmatch(name, heading_of(lead.chunk, lead.offset), re.I)) \
        and opens_section(unit)


COVER_FIELD_LINE = re.compile(r"^(?:" + "|".join(COVER_LABELS) + r")\b")


def on_cover_sheet(piece: Sentence) -> bool:
    """Whether a piece is a line of a paper's cover sheet: a line (not prose: a cover often
    carries the paper's summary too) on its first page, in a section that holds the cover's
    fields ("Title: ...", "Report Author: ..."), like the meeting's date under the letterhead."""
    chunk = piece.chunk
    if piece.kind != "line" or chunk.page_of(piece.offset) > 1:
        return False
    section = chunk.section_of(piece.offset)
    return any(COVER_FIELD_LINE.match(p.text) for p in pieces_of(chunk)
               if chunk.section_of(p.offset) == section)


def opens_section(unit: Unit) -> bool:
    """Whether the unit is the first thing printed under its section's heading, the heading
    in the same chunk (a chunk that goes on with a section opens nothing). A cover sheet's
    letterhead ("HEALTH AND WELLBEING BOARD" above "14 JUNE 2022", "Title: ...") heads no
    section: it names the meeting, and what follows it is the paper's metadata."""
    lead = unit.lead
    chunk = lead.chunk
    if on_cover_sheet(lead):
        return False
    section = chunk.section_of(lead.offset)
    pieces = [p for p in pieces_of(chunk) if chunk.section_of(p.offset) == section]
    headed = False
    for piece in pieces:
        if piece.kind == "heading":
            headed = True
        elif headed:
            return piece.offset == lead.offset
    return False


# a question picking one member of a set ("which of the leadership roles ...", "which one of
# the options"): what is asked of the member matters, the set only says where to look
ONE_OF = re.compile(r"\bwhich (one |ones )?of (the|these|those|its|their|our)\b", re.I)


def named_openings(question: str, units: Sequence[Unit]) -> list[bool]:
    """For each unit, whether it opens a section the question names by its whole heading
    ("What are the financial implications ...?" and "4.4 Financial Implications" then
    "Clarification pending at the time of writing."): what follows a heading answers it, like
    a field's value follows its label. A heading that is the paper's title names the paper."""
    if ONE_OF.search(question):  # "which of the leadership roles carries statutory
        return [False] * len(units)  # functions": one of what the heading names, not its opening
    asked = query_terms(question)
    headings = [heading_of(u.lead.chunk, u.lead.offset) for u in units]
    found = terms_of(headings + [u.lead.chunk.title for u in units])
    return [len(terms) >= 2 and terms <= asked and terms != title and opens_section(unit)
            for unit, terms, title in zip(units, found[:len(units)], found[len(units):])]


INLINE_LIST = re.compile(r"\b(such as|including|includes?|namely|for example)\b[^.;:]*?,[^.;:]*?\b(and|or)\b")
INLINE_LIST_FIT = 0.5  # a list printed as prose half fits a list question


def enumerates(text: str) -> bool:
    """A sentence that names several things in a row ("shared functions or capabilities, such
    as people, digital and technology functions, business intelligence and analytics") is a
    list printed as prose."""
    return bool(INLINE_LIST.search(text))


def type_match(kind: str, unit: Unit, term: str | None = None, deadline: bool = False) -> float:
    """1 when the unit has the shape of the answer asked for, else 0; a date that is not a
    deadline ("by 24 June") half fits a question asking by when."""
    text = unit.text
    if kind == "define":
        return float(term is not None and defines(unit, term))
    if kind == "when":
        if deadline and DATE.search(text):
            return 1.0 if DEADLINE.search(text) else 0.5
        return float(bool(DATE.search(text)))
    if kind == "how many":
        return float(bool(NUMBER.search(text)))
    if kind == "author":
        return float(bool(AUTHOR.search(text) or ABOUT_AUTHOR.match(unit.lead.text)))
    if kind == "appendix":
        return float(bool(APPENDIX_LINE.match(unit.lead.text)))
    if kind == "title":
        return float(states_title(unit.lead))
    if kind == "contact":
        return float(bool(CONTACT.search(text)))
    if kind == "who" and term:  # "who is zena etheridge": her role beside her name
        return float(bool(re.search(re.escape(term) + r"\s*[(,–-]?\s*" + ROLE, text)))
    if kind == "who":  # a person or body, or a list of them ("who should be members")
        return float(bool(PERSON.search(text)) or unit.is_list)
    if kind == "list":
        return 1.0 if unit.is_list else INLINE_LIST_FIT * enumerates(text)
    if kind == "summary":
        return float(summarises(unit.lead))
    return 0.0


def states_title(lead: Sentence) -> bool:
    """Whether a piece is where a paper prints its own title: a "Title:" field, or a
    first-page heading or line that prints most of the title the manifest gives it."""
    if lead.chunk.page_of(lead.offset) != 1:
        return False
    if TITLE_FIELD.match(lead.text):
        return True
    title, printed = query_terms(lead.chunk.title), query_terms(lead.text)
    if lead.kind not in ("heading", "line") or not title or not printed:
        return False
    if FIELD.match(lead.text) or len(printed) > 2 * len(title):
        return False  # another field ("Agenda item: 11"), or a passage that uses its words
    # most of the title, or a heading that is part of it ("Thriving places" above "Guidance on
    # the development of ...": a title printed over two headings)
    return (len(printed & title) >= TITLE_SHARE * len(title)
            or lead.kind == "heading" and len(printed) >= 2 and printed <= title)


def person_asked(question: str, units: Sequence[Unit]) -> str | None:
    """The person a "who is ..." question names, as the passages print the name ("Zena
    Etheridge" for "who is zena etheridge"); None when it names no one they print (a post, "who
    is the place director", is asked for its holder instead)."""
    asked = WHO_IS_NAMED.match(question)
    if not asked:
        return None
    name = " ".join(word.capitalize() for word in asked["name"].split())
    return name if any(name in unit.text for unit in units) else None


def dates_cover(kind: str, wanted: set[str], lead: Sentence) -> bool:
    """Whether a piece is the dated line of a paper's cover ("Version 1, 2 September 2021") and
    the question asks only when that paper came out ("when was thriving places published"):
    it then answers all that is asked, though it never says "published"."""
    return (kind == "when" and lead.kind == "line" and lead.chunk.page_of(lead.offset) == 1
            and bool(DATE.search(lead.text)) and bool(wanted & DATED_WORDS)
            and wanted - query_terms(lead.chunk.title) - DOCUMENT_NOUNS <= DATED_WORDS)


def summarises(lead: Sentence) -> bool:
    """Whether a piece is where a paper gives its own account of itself: a summary, purpose or
    key-points heading or what is printed under one, a "Summary:" field or the sentences under
    its label, or a sentence about the paper ("This paper outlines ...")."""
    heading = lead.chunk.section_of(lead.offset).split(" > ")[-1]
    return bool(ABOUT_ITSELF.match(lead.text) or SUMMARY_FIELD.match(lead.text)
                or SUMMARY_HEADING.match(heading)
                or SUMMARY_FIELD.match(label_above(lead) + ":")
                or lead.kind == "heading" and SUMMARY_HEADING.match(lead.text))


def label_above(piece: Sentence) -> str:
    """The nearest line or heading printed above a piece in its chunk, without its colon
    ("Summary" over a cover sheet's summary sentences); "" if none."""
    above = [p for p in pieces_of(piece.chunk) if p.offset < piece.offset
             and p.kind in ("line", "heading")]
    return above[-1].text.rstrip(": ") if above else ""


def label_over(lead: Sentence, printed: Sequence[Piece]) -> str:
    """The label line printed straight above a piece ("Safeguarding" over its paragraph in
    BOB's Annex 2), which the layout did not mark as a heading: it names what the paragraph is
    about as a heading would; "" if the line above is anything else."""
    above = [p for p in printed if p.offset < lead.offset]
    if above and above[-1].kind == "line" and is_label(above[-1].text):
        return above[-1].text
    return ""


@dataclass(frozen=True)
class Scored:
    """A unit, its score and the features behind it."""

    unit: Unit
    score: float
    coverage: float
    heading: float
    typed: float
    meaning: float = 0.0  # cosine similarity of question and unit (0 without piece vectors)
    opening: bool = False  # it opens a section the question names by its heading


MAX_LABEL_WORDS = 5


def is_label(text: str) -> bool:
    """A short line, or one in capitals, with no number and no colon is a label, not a fact:
    "Medicines Management" is a heading the layout missed, a letterhead is in capitals;
    "Version 1, 2 September 2021" and "Author: ..." are facts."""
    if re.search(r"[\d:]", text):
        return False
    return len(text.split()) <= MAX_LABEL_WORDS or text.upper() == text  # "SANDWELL ... TRUST"


FIELD = re.compile(r"^(?P<label>[A-Z][\w /&'()-]{1,40}):\s+\S")
FIELD_SHARE = 0.5  # of the question's terms a field's label names for it to be the answer


def field_labels(units: Sequence[Unit]) -> list[set[str] | None]:
    """The terms of each unit's field label ("Key Decision" of "Key Decision: No"), None for a
    unit that is not a "Label: value" line."""
    found = [FIELD.match(u.lead.text) if u.lead.kind == "line" and not u.items else None
             for u in units]
    terms = iter(terms_of([m["label"] for m in found if m]))
    return [next(terms) if m else None for m in found]


def idf_weights(terms: set[str], texts: Sequence[set[str]]) -> dict[str, float]:
    """Rarer question terms among the candidates count for more."""
    n = len(texts)
    return {t: math.log(1 + n / (1 + sum(t in st for st in texts))) for t in terms}


TABLE_REFERENCE = re.compile(r"\btables?\s+(\d{1,2})\b", re.I)


def in_table(piece: Sentence, numbers: Sequence[str]) -> bool:
    """Whether a piece is printed under the caption of one of these tables ("Table 1: ...")."""
    section = piece.chunk.section_of(piece.offset)
    return any(re.search(rf"\bTable {n}\b", section, re.I) for n in numbers)


def in_contents(piece: Sentence) -> bool:
    """Whether a piece is printed under a contents page's heading."""
    return bool(CONTENTS.match(piece.chunk.section_of(piece.offset).split(" > ")[-1]))


def score_units(question: str, units: Sequence[Unit],
                similarity: Sequence[float] | None = None) -> list[Scored]:
    """Every unit scored: coverage of the question's terms by the unit (and, for less, by its
    section heading), a bonus when it has the answer's shape, its similarity in meaning to the
    question (`similarity`, one per unit, when piece vectors are stored), discounted by
    passage rank."""
    kind = answer_type(question)
    term = (defined_term(question) if kind == "define"
            else person_asked(question, units) if kind == "who" else None)
    deadline = bool(ASKS_DEADLINE.search(question))
    asks_for_headings = bool(HEADING_QUESTION.search(question))
    asks_for_contents = bool(CONTENTS_ASKED.search(question))
    terms = query_terms(keyword_query(without_exclusions(question)))  # "what", "does", "say" ask; they are not asked about
    if kind == "summary":  # "summarise the b&d report": the report is named, not asked about
        terms -= DOCUMENT_NOUNS | SUMMARY_WORDS
    if kind == "author":  # "who wrote the b&d place lead paper": the paper is named, its author asked
        terms -= DOCUMENT_NOUNS | AUTHOR_WORDS
    if kind == "appendix":  # "what's appended to the b&d report": the paper is named
        terms -= DOCUMENT_NOUNS | APPENDIX_WORDS
    if kind == "title":  # "full title of the thriving places doc": the paper is named
        terms -= DOCUMENT_NOUNS | TITLE_WORDS
    printed: dict[str, list[Piece]] = {}  # each chunk's pieces, split once
    for u in units:
        if u.lead.chunk.id not in printed:
            printed[u.lead.chunk.id] = pieces_of(u.lead.chunk)
    leads = terms_of([u.lead.text for u in units]
                     + [f"{u.lead.chunk.section_of(u.lead.offset)} "
                        f"{label_over(u.lead, printed[u.lead.chunk.id])}" for u in units]
                     + [i.text for u in units for i in u.items])
    lead_terms, heading_terms = leads[:len(units)], leads[len(units):2 * len(units)]
    flat = iter(leads[2 * len(units):])
    item_terms = [[next(flat) for _ in u.items] for u in units]
    idf = idf_weights(terms, lead_terms)
    names: dict[str, set[str]] = {}  # per document: the question's words naming it

    tables = TABLE_REFERENCE.findall(question)
    table_terms = terms & query_terms("table")

    def asked_of(unit: Unit) -> set[str]:
        """The question's terms a unit must cover: distinctive words that name its own document
        ("Sandwell", "Thriving Places", "b&d") are answered by the document being that one, and
        "table 1" by the unit being printed in Table 1; common words of a title ("Place
        Partnership Lead") stay: they may be the topic."""
        chunk = unit.lead.chunk
        if chunk.doc_id not in names:
            names[chunk.doc_id] = terms & query_terms(" ".join(document_names(chunk)))
        wanted = terms - names[chunk.doc_id]
        if kind in NAMED_PAPER_TYPES:  # "summarise thriving places", "who wrote the place
            # lead paper": every word of the title names the paper
            wanted -= query_terms(f"{chunk.title} {chunk.organisation}")
        if tables and in_table(unit.lead, tables):
            wanted -= table_terms
        return wanted or (terms if kind not in NAMED_PAPER_TYPES else set())  # the paper named

    scored: list[Scored] = []
    meaning = similarity if similarity is not None else [0.0] * len(units)
    labels = field_labels(units)
    openings = named_openings(question, units)
    for unit, own, heading_own, items, sim, label, opening in zip(
            units, lead_terms, heading_terms, item_terms, meaning, labels, openings):
        lead = unit.lead
        if (lead.kind == "heading" and not STATUS_NOTE.search(lead.text)
                and not (kind == "author" and ABOUT_AUTHOR.match(lead.text))
                or is_label(lead.text) and lead.kind == "line"
                or CAPTION.match(lead.text)) and not unit.items and not asks_for_headings \
                and not (kind == "title" and states_title(lead)):
            continue  # a heading, a table's caption, or a label the layout did not mark as one
        if len(lead.text.split()) > MAX_LEAD_WORDS or len(unit.text.split()) < 2:
            continue
        if in_contents(lead) and not asks_for_headings:
            continue  # a contents page lists headings and page numbers, not what they say
        wanted = asked_of(unit)
        total = sum(idf[t] for t in wanted) or 1.0

        def cover(found: set[str]) -> float:
            return sum(idf[t] for t in wanted & found) / total

        if unit.is_list:  # a list is about what its heading and intro name, not every item
            coverage = cover(own | heading_own) + W_ITEMS * max(map(cover, items), default=0)
        elif lead.kind == "line" or opening:  # a signature, a label or a section's opening
            coverage = cover(own | heading_own)  # means what its section is about
        else:
            coverage = cover(own)
        heading = cover(heading_own)
        if tables and in_table(lead, tables):
            heading = 1.0  # printed in the table the question points at
        typed = type_match(kind, unit, term, deadline)
        if asks_for_contents and in_contents(lead):
            coverage, typed = 1.0, 1.0  # the contents page is what was asked for
        if label is not None and cover(label) >= FIELD_SHARE or opening:
            typed = 1.0  # "Key Decision: No" answers "is it a key decision", whatever the type
        dated_cover = dates_cover(kind, wanted, lead)
        if dated_cover:  # "when was thriving places published": the date on its cover
            coverage = 1.0
        gate = (1.0 if kind in NAMED_PAPER_TYPES + ("contact",)
                else min(1.0, coverage / TYPED_COVERAGE))  # the shape counts once on topic
        value = coverage + W_HEADING * heading * (coverage > 0) + W_TYPE * typed * gate
        if kind == "list" and unit.is_list:
            value += W_LIST * coverage
        if kind != "fact" and not typed:  # not the shape asked for: a date, a number, a list
            value *= OFF_TYPE
        value += W_SEM * sim
        decay = 1 if dated_cover else 1 + RANK_DECAY * lead.rank  # a cover is fetched, not ranked
        scored.append(Scored(unit, value / decay, coverage, heading, typed,
                             sim, opening))
    return sorted(scored, key=lambda s: -s.score)
