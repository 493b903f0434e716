"""Question-side rules for declining: what a question asks about, and whether the retrieved
passages could possibly answer it. Pure functions of the question and passage text, so they
only ever see what the caller may read."""
from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib.resources import files

from assistant.places import places_named
from assistant.retrieve import keyword_query, query_terms
from ingest.store import spelled_out, tokenize

PROPER_NOUN = re.compile(r"(?<![.?!]\s)(?<!^)\b([A-Z][a-z]{3,})\b")


# a year or a financial year ("2019", "2023/24", "2023-2024"): the question's time constraint
YEAR = re.compile(r"\b((?:19|20)\d\d)(?:\s*[/–-]\s*(?:\d\d)?(\d\d))?\b")


def _year_spellings(match: re.Match[str]) -> list[str]:
    """The ways a document may write the year the question names ("2023/24" is also
    "2023-24" and "2023/2024")."""
    year, end = match.group(1), match.group(2)
    if end is None:
        return [year]
    return [f"{year}{sep}{century}{end}" for sep in "/-–" for century in ("", year[:2])]


def unsupported_names(question: str, passages: Iterable[str]) -> list[str]:
    """Capitalised names and years in the question that no retrieved passage mentions: a
    question about somewhere, someone or a year the documents never name ("the 2023/24
    allocation" over papers that give 2022/23's) is not answered by them. Staff shorthand for
    a place is read as the place ("Bucks", "Oxon")."""
    question = spelled_out(question)
    names = {m.group(1) for m in PROPER_NOUN.finditer(question)}
    places = places_named(question)
    years = {m.group(0): _year_spellings(m) for m in YEAR.finditer(question)}
    if not names and not places and not years:
        return []
    evidence = " ".join(passages).lower()
    spaced = re.sub(r"[\s-]+", " ", evidence.replace("&", " and "))
    missing = [n for n in names if n.lower() not in evidence]
    missing += [p for p in places - {n.lower() for n in names}
                if not re.search(rf"\b{re.escape(p)}\b", spaced)]
    missing += [y for y, spellings in years.items()
                if not any(re.search(rf"\b{re.escape(s)}\b", evidence) for s in spellings)]
    return sorted(missing)


# "whats": staff in Slack often leave the apostrophe out
WH_QUESTION = re.compile(r"^\s*(?:what(?:'s|’s|s)?|which|how many|how much)\s+(.*)$", re.I | re.S)
# words between "what" and the thing asked about ("what is meant by", "what kind of")
SUBJECT_LEAD = frozenset(
    "is are was were the a an did does do has have will would should can could must might "
    "meant by kind kinds type types sort sorts of else then now next "
    # whose it is says nothing of what is asked ("what's their worry")
    "their its our my your his her".split())
# a clause's subject: "what are they meant to be doing" asks about no thing it names
PRONOUNS = frozenset("i you he she it we they".split())
# where the thing asked about ends: a verb or preposition ("what fee [was paid for]")
SUBJECT_END = frozenset(
    "for at of in on to by with from about under across between per each if when after before "
    "does do did is are was were has have will should can could must might would that which "
    "who there say says said goes go happens happen mean means make makes need needs".split())
# words that open an object or clause: a lone word before one is a verb, not a subject
OBJECT_START = frozenset("the a an which whether how who whom this that these those our their its "
                         "his her them it us we they".split())
# answer-type words that name no topic ("what figure", "which date")
GENERIC_NOUNS = frozenset("figure figures number numbers amount amounts total value date dates "
                          "name names quoted given stated "
                          # when something is due: the answer is a date ("the deadline for ...")
                          "deadline deadlines timeline timelines timescale timescales timetable "
                          "timetables timeframe timeframes "
                          # contact details: the answer's shape, not its subject
                          "postal address addresses postcode email e-mail phone telephone "
                          "website url "
                          # what a thing is called: the answer is a name or title ("what is the
                          # b&d report called"), words no paper need print
                          "called titled entitled "
                          # a summary of something: "what's the gist of mutual accountability"
                          "gist outline overview summary upshot rundown lowdown essence".split())
# words that ask for a name or title, not about a topic: no readable text need use them
NAME_ASKED = re.compile(r"\b(called|titled|entitled)\b", re.I)


def question_subject(question: str, limit: int = 5) -> list[str]:
    """The words naming what a what/which/how-many question asks about: "What salary band is
    the lead paid?" -> ["salary", "band"]; [] for other questions."""
    match = WH_QUESTION.match(question)
    if not match:
        return []
    words = re.findall(r"[\w'’-]+", match.group(1))
    owners = [i for i, w in enumerate(words[:limit + 3]) if re.search(r"\w['’]s$", w)]
    if owners:  # "what's barking and dagenham's public health grant": the grant is asked about
        words = words[owners[-1] + 1:]
    start = 0
    while start < len(words) and words[start].lower() in SUBJECT_LEAD:
        start += 1
    if start < len(words) and words[start].lower() in PRONOUNS:
        return []
    subject: list[str] = []
    for word in words[start:]:
        if word.lower() in SUBJECT_END or len(subject) >= limit:
            break
        subject.append(word)
    following = words[start + len(subject)].lower() if start + len(subject) < len(words) else ""
    if len(subject) == 1 and following in OBJECT_START:  # "What decides which roles...": a verb
        return []
    return [w for w in subject if w.lower() not in GENERIC_NOUNS]


# how a question opens when it is a sentence, not a bare noun phrase
SENTENCE_OPENING = re.compile(
    r"^\s*(who|whom|whose|what|whats|which|when|where|why|how|is|are|was|were|do|does|did|can|"
    r"could|should|would|will|shall|may|might|must|has|have|had|tell|list|explain|describe|give|"
    r"show|summari[sz]e|compare|name|any|i|we|our|my|if|in|on|at|for|by|from|to|under|after|"
    r"before|apart|besides|according|please|pls|since|given|as|assuming|now|so|and|but|also|"
    r"because|although|though|while|once|with|without|re|regarding|about|until|till|am)\b", re.I)
# where a bare noun phrase ends: "icb budgets vs ccg budgets", "swbh why pbps fail elsewhere"
PHRASE_END = frozenset("vs versus v compared against why how when who where".split())


# what staff type before the question itself ("tl;dr - what are the key points ...", "quick q:
# who chairs ..."): it asks nothing, so it is not the subject
LEAD_IN = re.compile(r"^\s*(?:(?:tl;?dr|quick (?:one|q(?:uestion)?|check|query|thing)|hi|hey|"
                     r"hello)\b[\s,!:–—-]*|"
                     r"(?:q|question)\s*[:–—-]\s*)", re.I)


# where staff's context ends and their question begins: a sentence end, a dash or a colon
CLAUSE_BREAK = re.compile(r"(?:[.!?;:]|\s[-–—])\s+")
ASKING = re.compile(r"^\s*(?:(?:so|and|but|ok|okay)\s+)?(?:who|whom|whose|what|whats|what's|"
                    r"what’s|which|when|where|why|how|is|are|was|were|do|does|did|can|could|"
                    r"should|would|will|has|have)\b", re.I)
# words: a longer lead-in before a dash is a sentence of context ("Setting up the invite list
# for a BOB place committee - who ..."), a shorter one names the topic ("bob uec - what's left")
TOPIC_WORDS = 6


def asking_clause(question: str) -> str:
    """The part of a message that asks, without the sentence of context staff type first:
    "Doing a development session next month. what does the guidance say ..." -> "what does
    the guidance say ...". A short topic before a dash stays ("sandwell paper - what should
    partners weigh up"): it names what is asked about. The whole message when it opens with
    its question or no later part asks."""
    breaks = list(CLAUSE_BREAK.finditer(question))
    if not breaks or ASKING.match(question):
        return question
    for found in breaks:
        rest = question[found.end():]
        if ASKING.match(rest):
            context = question[:found.end()]
            sentence = re.search(r"[.!?;]\s+$", context) is not None
            long_topic = len(re.findall(r"\w+", context)) > TOPIC_WORDS
            return rest if sentence or long_topic else question
    return question


def asked_subject(question: str, limit: int = 4) -> list[str]:
    """What a question asks about, also when staff type it as a bare noun phrase: "referral
    criteria for the hope eating disorder service?" -> ["referral", "criteria"] (the last
    words before its first preposition or verb: an English noun phrase ends on the thing it
    names, "b&d place partnership lead salary" asks for a salary); `question_subject` for any
    other question."""
    question = asking_clause(LEAD_IN.sub("", question))
    subject = question_subject(question)
    if subject or SENTENCE_OPENING.match(question):
        return subject
    words = re.findall(r"[\w'’-]+|[?:;,–]|\s-\s", re.sub(r"^\s*(the|a|an)\s+", "", question,
                                                         flags=re.I))
    phrase: list[str] = []
    for i, word in enumerate(words):
        if word.lower() in ("what", "which"):  # "roughly what % of contact is at home"
            return question_subject(" ".join(words[i:]))
        if not re.match(r"\w", word) or word.lower() in SUBJECT_END | PHRASE_END:
            break
        phrase.append(word)
    return [w for w in phrase[-limit:] if w.lower() not in GENERIC_NOUNS]


QUANTITY_QUESTION = re.compile(r"^\s*how (many|much)\b", re.I)
NUMBER = re.compile(r"\d|£|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                    r"twenty|thirty|forty|fifty|hundred|thousand|million|billion|half|dozen)\b",
                    re.I)
# what an amount of money is asked for by ("budget", "allocated", "fee"): the answer is a sum
MONEY_ASKED = re.compile(r"\b(budgets?|grants?|allocations?|allocated?|allocating|fees?|"
                         r"salar(y|ies)|costs?|costing|spend(ing)?|spent|price|income|revenue|"
                         r"funding|money|funds)\b", re.I)
MONEY = re.compile(r"£|\$|€|\b\d[\d,.]*\s*(m|bn|k|million|billion|thousand)\b|\bpounds\b", re.I)
# what a question asks a figure for by ("the minimum population", "the waiting time target");
# not "size": "what size should a place be" is answered in words ("a town, city, borough or
# county"), not only by a figure
MEASURES = frozenset("minimum maximum target targets threshold thresholds quorum rate rates "
                     "percentage proportion ratio limit limits cap length duration "
                     "population".split())
# words: how far a number may stand before the thing it counts ("10 key lines of enquiry",
# "three provider collaboratives") or after it ("members: 12"). English puts the count
# first, so "ICS areas contain more than one local authority" counts authorities, not ICSs.
BEFORE, AFTER = 4, 2


def asks_for_money(question: str) -> bool:
    """Whether the question asks for a sum: "how much" about money, a what-question whose
    subject is a budget, allocation, fee or cost ("what's the 2021/22 budget for ..."), or one
    that asks for pounds ("... in £?")."""
    if re.search(r"£|\bin pounds\b", question):
        return True
    if QUANTITY_QUESTION.match(question) and question.lower().split()[1] == "much":
        return bool(MONEY_ASKED.search(question))
    return bool(MONEY_ASKED.search(" ".join(question_subject(question))))


# a number that makes an adjective counts nothing: "two-tier areas", "10-year plan" (but
# "twenty-one members" counts)
UNITS = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|\d+)"
COMPOUND = re.compile(UNITS + r"-(?!" + UNITS + r"\b)[a-z]", re.I)


def _number_beside(text: str, counted: set[str]) -> bool:
    """A number a few words before one of the counted terms ("three provider
    collaboratives", "7 of the 10 chief executives") or just after it ("members: 12"); a year
    counts nothing ("ICSs from April 2022" says nothing of how many ICSs there are)."""
    words = re.findall(r"[\w£'’/+-]+", text)
    numbers = [i for i, w in enumerate(words)
               if NUMBER.search(w) and not YEAR.fullmatch(w) and not COMPOUND.match(w)]
    terms = [i for i, w in enumerate(words) if query_terms(w) & counted]
    return any(0 < t - n <= BEFORE or 0 < n - t <= AFTER for n in numbers for t in terms)


QUANTITY_WORDS = re.compile(r"\bhow\s+(much|many)\b", re.I)


def _sum_for(question: str, text: str) -> bool:
    """Whether the text states a sum for what the question asks it for: the sum and two of the
    question's words for its purpose, or its only one ("£145 million 'allocation' in 2022/23
    from the ICS to Partnership Southwark" is not Sussex's functional review funding for
    sharing "ICS", nor the Better Care Fund minimum for sharing "2022/23"). Years are when,
    not what, and say nothing of the purpose."""
    if not MONEY.search(text):
        return False
    asked_for = QUANTITY_WORDS.sub(" ", MONEY_ASKED.sub(" ", question.replace("£", " ")))
    purpose = {term for term in query_terms(keyword_query(asked_for)) if not term.isdigit()}
    return len(query_terms(text) & purpose) >= min(2, len(purpose))


DURATION_ASKED = re.compile(r"^\s*how long\b|\b(fixed|what) term\b|\bduration\b", re.I)
DURATION = re.compile(r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                      r"eighteen|twenty|thirty|a|an)[\s-]+(years?|months?|weeks?|days?)\b", re.I)


# a question that asks how often, or for a date by name ("closing date", "what date", "by
# when"): its answer is a frequency or a date, and passages that give none cannot hold it
FREQUENCY_ASKED = re.compile(r"^\s*how (often|frequently)\b|\bfrequency\b", re.I)
FREQUENCY = re.compile(r"\b(daily|weekly|fortnightly|monthly|bi-?monthly|quarterly|annually|yearly|"
                       r"every|(once|twice|\w+ times) (a|an|per|each)\b|per (week|month|quarter|"
                       r"year|annum))\b", re.I)
DATE_ASKED = re.compile(r"\b(closing|start|end|go-live|launch|deadline)\s+dates?\b|\bdeadline\b|"
                        r"\b(what|which) (date|day|month|year)\b|\bby when\b|"
                        r"^\s*when (does|do|did|will|is|are|was|were)\b", re.I)
DATE_WORDS = re.compile(r"\b(closing|start|end|go-live|launch|deadline|dates?|day|month|year|"
                        r"when|first|next|last)\b", re.I)
# looser than evidence.DATE (the shape of a dated answer): any mention of a time at all, a
# bare month or season included, so that only passages silent on time count as lacking one
TIME_MENTION = re.compile(r"\b(19|20)\d\d\b|\b\d{1,2}(st|nd|rd|th)?\s+(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|"
                  r"Sep|Oct|Nov|Dec)|\b(January|February|March|April|May|June|July|August|"
                  r"September|October|November|December|spring|summer|autumn|winter)\b|"
                  r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\bQ[1-4]\b", re.I)


# a question about what happened after a paper was written: its meeting's minutes, what was
# finally decided, whether something was ever done. No paper reports what came after it.
OUTCOME_ASKED = re.compile(
    r"\b(?:did|has|have|had)\b[^?]*?\b(?:actually|ever|end(?:ed)?\s+up|finally|"
    r"eventually|in\s+the\s+end|so\s+far)\b|\bminute[sd]?\b|"
    # "who was eventually appointed", "what was finally agreed": how it turned out
    r"\b(?:was|were)\s+(?:\w+\s+){0,3}?(?:eventually|finally|ultimately|in\s+the\s+end)\b|"
    r"\bwhat\s+did\s+(?:the\s+)?(?:\w+\s+)?members\s+say\b", re.I)


# who holds a post: "who is the bob icb chief exec", "who's the place lead for tower hamlets",
# "who got the oxfordshire place director job". The answer is a person's name.
POST = (r"(?:chief\s+exec\w*|exec(?:utive)?|ceo|chair(?:man|woman|person)?|director|lead|leader|"
        r"officer|sro|manager|head|secretary|mayor|president)")
POST_HOLDER_ASKED = re.compile(
    r"\bwho(?:'s|’s|\s+is|\s+was|\s+will\s+be|\s+has\s+been)\s+(?:the\s+|our\s+|their\s+)?"
    r"(?:new\s+|current\s+|interim\s+|acting\s+)?(?P<post>(?:[\w&-]+\s+){0,5}?" + POST + r")"
    r"(?:\s+designate)?(?=\s*(?:$|[?,;:./–-]|\b(?:in|for|at|of|on|now|currently|today)\b))|"
    r"\bwho(?:\s+|'s\s+|’s\s+)(?:got|ended\s+up|(?:(?:was|has|had|is)\s+)?(?:been\s+)?"
    r"(?:(?:eventually|finally|ultimately|formally|actually|now|then|since|subsequently)\s+)?"
    r"(?:been\s+)?(?:appointed|"
    r"named|confirmed|chosen|picked|selected|recruited|hired)|took\s+over|replaced|succeeded|"
    r"won)\b(?P<outcome>.*)|"
    # "who did b&d appoint as lead", "who b&d ended up nominating", "who has the icb appointed"
    r"\bwho\s+(?:did|has|have|had)?\s*(?:(?!(?:is|are|was|were|should|could|would|must|can|may|"
    r"responsible|involved)\b)[\w&'’-]+\s+){1,5}?(?:appoint(?:ed)?|nominat(?:e|ed)|pick(?:ed)?|"
    r"cho(?:se|sen|ose)|select(?:ed)?|hire(?:d)?|recruit(?:ed)?|ended\s+up\s+\w+ing)\b"
    r"(?P<outcome2>.*)|"
    # a noun phrase asking for the holder: "bob oxfordshire place director name", "the name of
    # the place lead", "nel clinical and care director appointee"
    r"(?P<post2>(?:[\w&-]+\s+){0,5}?" + POST + r")s?\s+(?:name|appointee|nominee|post-?holder|"
    r"incumbent)s?\b|"
    r"\bnames?\s+of\s+(?:the\s+|our\s+|their\s+)?(?P<post3>(?:[\w&-]+\s+){0,5}?" + POST + r")s?\b",
    re.I)
POST_WORD = re.compile(r"\b" + POST + r"\b", re.I)
PERSON = re.compile(r"\b(?:(?:Mr|Mrs|Ms|Miss|Dr|Cllr|Councillor|Professor|Prof|Sir|Dame|Lord|Baroness)"
                    r"\.?\s+[A-Z][a-z]+|(?P<given>[A-Z][a-z]+)\s+(?:[A-Z]\.?\s+)?[A-Z][a-z'’-]+)")
BESIDE = 80  # characters either side of a name where the post it holds is printed


@lru_cache(maxsize=1)
def given_names() -> frozenset[str]:
    """First names (the US census lists the `names` package ships), title-cased: "Zena",
    "Matthew". A capitalised pair that opens with one is read as a person's name."""
    return frozenset(line.split()[0].title() for table in ("dist.male.first", "dist.female.first")
                     for line in (files("names") / table).read_text().splitlines() if line.strip())


def people_named(text: str) -> list[re.Match[str]]:
    """Where the text names a person: "Zena Etheridge", "Cllr Maureen Worby", "Dr Smith"
    (not "Place Director" or "Chief Executive": their first word is no first name)."""
    return [m for m in PERSON.finditer(text)
            if m.group("given") is None or m.group("given") in given_names()]


# words before a post that say nothing about which post it is ("as the new chair")
NOT_MODIFIERS = frozenset("the a an our their its new interim acting as of for to in at on by with "
                          "be being been appointed".split())
OUTCOME_MODIFIERS = 2  # words before an outcome's post that name which one ("and care director")


def post_phrases(asked: re.Match[str]) -> list[list[str]]:
    """The words of each post a post-holder question names: the post as asked ("chief exec"),
    or in "who got the nel clinical and care director job" the post with the words printed
    just before it ("and care director"), which tell one director from another."""
    if asked.group("post"):
        return [m.group(0).split() for m in POST_WORD.finditer(asked.group("post"))]
    outcome = (asked.group("outcome") or asked.group("outcome2") or asked.group("post2")
               or asked.group("post3") or "")
    if not POST_WORD.search(outcome):  # "Did the X Director get appointed? who got the job?"
        outcome = asked.string
    phrases = []
    for m in POST_WORD.finditer(outcome):
        before = [w for w in re.findall(r"[\w&'-]+", outcome[:m.start()])
                  if w.lower() not in NOT_MODIFIERS][-OUTCOME_MODIFIERS:]
        phrases.append(before + m.group(0).split())
    return phrases


def holder_unstated(question: str, sentences: Iterable[str]) -> bool | None:
    """For a question asking who holds a post ("who is the bob icb chief exec", "who got the
    director job"): True when no passage names a person beside that post, so the papers
    could not say who it is; None for any other question. A post's holder is a name: a
    passage on what the post does, or who appoints it, does not answer."""
    asked = POST_HOLDER_ASKED.search(question)
    if not asked:
        return None
    # the post as printed, each word by its first letters: "chief exec" finds "Chief
    # Executive" (not "Chief Delivery Officer" beside "Executive Lead"), "dire" "Directors"
    posts = [re.compile(r"\b" + r"\w*\W+".join(re.escape(w[:4]) for w in words) + r"\w*", re.I)
             for words in post_phrases(asked)]
    for text in sentences:
        for person in people_named(text):
            beside = text[max(0, person.start() - BESIDE):person.end() + BESIDE]
            if not posts or any(post.search(beside) for post in posts):
                return False
    return True


# "who chairs the uec board", "who will chair them": a body's chair, which the papers state
# only where they say "chair" of it (a person or a post: "chaired by the Place Director")
CHAIR_ASKED = re.compile(r"\bwho\s+(?:(?:will|would|should|shall|is\s+going\s+to|is\s+to|is|does|"
                         r"did|do)\s+)?(?:be\s+)?(?:chairs?|chairing|chaired)\b(?:\s+of)?"
                         r"(?P<body>[^?.;]*)", re.I)
CHAIR_WORD = re.compile(r"\bchair(?:s|ed|ing|man|person|woman)?\b", re.I)
# words of a body's name that any board or committee shares; the rest say which body it is
BODY_WORDS = query_terms("board boards committee committees group groups forum meeting meetings "
                         "partnership partnerships the them it its their each every")


def chair_unstated(question: str, sentences: Iterable[str]) -> bool | None:
    """For a question asking who chairs a body: True when no passage says "chair" with a
    word naming that body (its words less the document names and what every body is called),
    so the papers could not say who chairs it; None for any other question."""
    asked = CHAIR_ASKED.search(question)
    if not asked:
        return None
    body = query_terms(asked.group("body")) - BODY_WORDS
    return not any(CHAIR_WORD.search(text) and (not body or query_terms(text) & body)
                   for text in sentences)


# a question asking what a publication says ("what does the king's fund 'developing place-based
# partnerships' report recommend", "what are the segments in the nhs system oversight
# framework"): the publication is named by its kind of document
PUBLICATION = (r"(?P<pub>[\w'’&/ -]{3,80}?\b(?:framework|guide|guidance|report|review|white paper|"
               r"constitution|strategy|resource|toolkit|publication))\b")
PUBLICATION_ASKED = re.compile(
    r"\b(?:what|which)\b.*?\b(?:does|did|do)\s+(?:the\s+)?" + PUBLICATION + r".*?\b(?:say|says|"
    r"recommend\w*|require\w*|set out|sets out|list|propose\w*|conclud\w*|find|found|suggest\w*)\b"
    r"|\b(?:what|which) (?:are|were|is) the\b.*?\b(?:in|of|from) (?:the\s+)?"
    + PUBLICATION.replace("pub>", "pub2>"), re.I)
KIND_WORDS = frozenset("framework guide guidance report review white paper constitution strategy "
                       "resource toolkit publication".split())
# a sentence that only points at a publication: who published it, where it is, to read it too
CITES_ONLY = re.compile(r"\b(?:ha(?:s|ve)|had)\s+(?:also\s+|recently\s+)?(?:published|provided|produced|"
                        r"issued)\b|\b(?:recently )?published\s+(?:by|in|the)\b|\bcan be found\b|"
                        r"\bread alongside\b|\bis available\b|\bprepared by\b|\bwill look to\b|\bdue to be published\b|"
                        r"^[^.]{0,80}\((?:\w+ )?\d{4}\)", re.I)
NAMES_SHARE = 0.5  # of the weight of a publication's own words a sentence prints to be about it
NAME_RUN = 3  # words of a publication's name printed in a row, at least, to name it


def _prints_phrase(text: str, phrases: set[tuple[str, ...]], run: int) -> bool:
    """Whether the text prints one of the phrases (runs of stemmed words) word after word."""
    words = tokenize([text])[0]
    return not phrases or any(tuple(words[i:i + run]) in phrases
                              for i in range(len(words) - run + 1))


def publication_unstated(question: str, sentences: Iterable[str],
                         names: frozenset[str] = frozenset()) -> bool | None:
    """For a question asking what a publication outside the papers says: True when every
    passage that prints its name only points at it (who published it, "can be found at", a
    reading list's "The King's Fund (April 2021) Developing place-based partnerships"), so
    what it says is not in the papers; None for any other question, or a publication the
    papers are (its words name a retrieved paper: "what does thriving places say")."""
    asked = PUBLICATION_ASKED.search(question)
    if not asked:
        return None
    publication = asked.group("pub") or asked.group("pub2")
    kinds = query_terms(" ".join(KIND_WORDS))
    own = query_terms(publication) - names - kinds
    if not own:
        return None
    sentences = list(sentences)
    terms = [query_terms(text) for text in sentences]
    # a name's rare words name it ("King's Fund"), its common ones ("place-based") do not
    weight = {t: math.log(1 + len(terms) / (1 + sum(t in found for found in terms))) for t in own}
    total = sum(weight.values()) or 1.0
    # and its rarest word the papers print ("solace" of "solace learning from place-based
    # partnerships"): a sentence on learning from place-based partnerships is not about it
    printed = own & set().union(*terms) if terms else set()
    rarest = max(printed, key=lambda t: (weight[t], t)) if printed else None
    # and some of its name as a phrase: "The Health and Social Care Leadership Review will ...",
    # not "Directors of Public Health, Directors of Adult Social Care" (the same common words)
    name = [t for t in tokenize([publication])[0] if t not in kinds]
    run = min(NAME_RUN, len(name))
    phrases = {tuple(name[i:i + run]) for i in range(len(name) - run + 1)}
    about = [text for text, found in zip(sentences, terms)
             if (rarest is None or rarest in found)
             and sum(weight[t] for t in own & found) / total >= NAMES_SHARE
             and _prints_phrase(text, phrases, run)]
    return bool(about) and all(CITES_ONLY.search(text) for text in about) or None


def value_unstated(question: str, sentences: Iterable[str],
                   names: frozenset[str] = frozenset()) -> str | None:
    """What a question asks for that its passages could not hold: "sum", "duration",
    "frequency", "date", "name" or "number"; None when they could, or when it asks for none of
    these. A how-many question no sentence of which puts a number near a word of what it
    counts ("How many hospital beds" over passages with neither hospitals nor beds near a
    number), a sum of money ("budget", "how much ... allocate") over passages that state none,
    or the holder of a post over passages that name nobody beside it."""
    sentences = list(sentences)
    if asks_for_money(question):  # a sum beside what it is for (not any £ in the passages)
        return None if any(_sum_for(question, text) for text in sentences) else "sum"
    if DURATION_ASKED.search(question):  # "how long is the lead appointed for": a duration
        return None if any(DURATION.search(text) for text in sentences) else "duration"
    if FREQUENCY_ASKED.search(question):  # "how often does the board meet": a frequency
        return None if any(FREQUENCY.search(text) for text in sentences) else "frequency"
    if DATE_ASKED.search(question):  # "closing date for applications": a date beside the event
        event = query_terms(keyword_query(DATE_WORDS.sub(" ", question)))
        stated = any(TIME_MENTION.search(text) and query_terms(text) & event
                     for text in sentences)
        return None if stated else "date"
    if holder_unstated(question, sentences):  # "who is the chief exec": a person's name
        return "name"
    if chair_unstated(question, sentences):  # "who chairs the uec board": who chairs it
        return "chair"
    if publication_unstated(question, sentences, names):  # what a publication says, not
        return "content"  # that it was published
    subject = question_subject(question)
    measures = [w for w in subject if w.lower() in MEASURES]
    # what the number counts, or the measure it is printed beside ("a population of 580,000")
    counted = query_terms(" ".join(subject))
    if not (QUANTITY_QUESTION.match(question) or measures) or not counted:
        return None
    return None if any(_number_beside(text, counted) for text in sentences) else "number"


UNSTATED_NOTICES = {  # kind: (with the caller's words for the thing, without them)
    "number": ('No passage found gives a number for "{words}".',
               "No passage found gives the number asked for."),
    "sum": ('No passage found gives a sum of money for "{words}".',
            "No passage found gives the sum asked for."),
    "duration": ('No passage found says how long "{words}" lasts.',
                 "No passage found says for how long."),
    "frequency": ('No passage found says how often "{words}" happens.',
                  "No passage found says how often."),
    "date": ('No passage found gives a date for "{words}".',
             "No passage found gives the date asked for."),
    "name": ('No passage found names the person who is "{words}".',
             "No passage found names who holds the post."),
    "chair": ('No passage found says who chairs "{words}".',
              "No passage found says who chairs it."),
    "content": ('The papers only refer to "{words}"; none of them says what it sets out.',
                "The papers only refer to that publication; none of them says what it sets out."),
}


def unstated_notice(kind: str, question: str) -> str:
    """The caller's own words for what they asked and no passage states, so they can
    rephrase: 'No passage found gives a number for "hospital beds".'"""
    words = " ".join(question_subject(question))
    if kind == "sum":  # "how much money": the money is the kind, not the thing it is for
        words = " ".join(MONEY_ASKED.sub(" ", words).split())
    if kind == "name":
        asked = POST_HOLDER_ASKED.search(question)
        words = (asked.group("post") or asked.group("post2") or asked.group("post3") or ""
                 if asked else "")
    if kind == "chair":
        asked = CHAIR_ASKED.search(question)
        words = " ".join(asked.group("body").split()) if asked else ""
    if kind == "content":
        asked = PUBLICATION_ASKED.search(question)
        words = " ".join((asked.group("pub") or asked.group("pub2") or "").split()) if asked else ""
    with_words, without = UNSTATED_NOTICES[kind]
    return with_words.format(words=words) if words else without
