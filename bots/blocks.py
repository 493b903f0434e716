"""Answer -> Slack Block Kit message: the answer, its sources and feedback buttons (pure)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from assistant.citations import neutralise_markers
from core.models import Answer, Citation, DocumentRef

SECTION_LIMIT = 3000  # characters of text in one section block (Slack's limit)
MAX_BLOCKS = 50  # blocks in one message (Slack's limit)
FALLBACK_LIMIT = 3000  # the notification / history text; Slack allows more but nobody reads it
FEEDBACK_BLOCK_ID = "feedback"
HELPFUL = "feedback_helpful"
NOT_HELPFUL = "feedback_not_helpful"
VOTES = {HELPFUL: "helpful", NOT_HELPFUL: "not_helpful"}
REFUSAL_LEAD = "I can't answer that from the documents available in this conversation."
APOLOGY = "Sorry, something went wrong while answering. Please try again in a minute."
TRUNCATED = " … (answer shortened to fit in Slack)"


@dataclass(frozen=True)
class Message:
    """What chat.postMessage needs: the fallback text and the blocks."""

    text: str
    blocks: list[dict]


def escape(text: str) -> str:
    """Slack mrkdwn control characters (&, <, >) as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def pdf_link(base_url: str, doc_id: str, page: int | None = None) -> str:
    """The API's link to a document's PDF, at a page when given."""
    url = f"{base_url.rstrip('/')}/v1/documents/{quote(doc_id, safe='')}/pdf"
    return f"{url}#page={page}" if page else url


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of `text` whose escaped length is at most `limit`, cut at paragraph, line,
    sentence or word boundaries when there is one."""
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        if len(escape(rest)) <= limit:
            pieces.append(rest)
            break
        cut = _cut_point(rest, limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [piece for piece in pieces if piece]


def _cut_point(text: str, limit: int) -> int:
    # The longest prefix that fits once escaped, then back off to the nicest boundary in it.
    fits = 0
    size = 0
    for i, char in enumerate(text):
        size += len(escape(char))
        if size > limit:
            break
        fits = i + 1
    window = text[:fits]
    for pattern in ("\n\n", "\n", ". ", "; ", ", ", " "):
        at = window.rfind(pattern)
        if at > fits // 2:
            return at + len(pattern)
    return max(fits, 1)


def answer_message(answer: Answer, *, feedback_id: str, pdf_base_url: str | None) -> Message:
    """The threaded reply for an answer or a refusal, with feedback buttons for `feedback_id`."""
    if answer.refused:
        tail = _closest_blocks(answer.closest_documents, pdf_base_url)
    else:
        tail = _source_blocks(answer.citations, pdf_base_url)
    if answer.notice:
        tail.insert(0, {"type": "context",
                        "elements": [{"type": "mrkdwn", "text": escape(answer.notice)[:SECTION_LIMIT]}]})
    tail.append(_feedback_block(feedback_id))
    body = _body_text(answer)
    room = MAX_BLOCKS - len(tail)
    pieces = split_text(body)
    if len(pieces) > room:
        pieces = pieces[:room]
        pieces[-1] = split_text(pieces[-1], SECTION_LIMIT - len(TRUNCATED))[0] + TRUNCATED
    head = [_section(escape(piece)) for piece in pieces]
    return Message(text=_fallback(body), blocks=head + tail)


def apology_message() -> Message:
    return Message(text=APOLOGY, blocks=[_section(escape(APOLOGY))])


def notice_message(text: str) -> Message:
    """A short plain reply, e.g. why a question could not be used."""
    return Message(text=_fallback(text), blocks=[_section(escape(piece)) for piece in split_text(text)][:1])


def parts_text(answer: Answer) -> str:
    """The answer as text rebuilt from its structured parts: a marker only for a citation the
    answer carries, and any bracketed number inside the quoted text neutralised, so a
    document's own "[4]" never reads as a citation. Sentences of one passage (marked once, at
    its end) share a line."""
    known = {c.n for c in answer.citations}
    lines: list[str] = []
    goes_on = False  # the last line is a passage's sentence whose marker is still to come
    for part in answer.parts:
        markers = "".join(f"[{n}]" for n in part.citations if n in known)
        text = neutralise_markers(part.text.strip()) + (f" {markers}" if markers else "")
        if part.kind == "sentence" and goes_on:
            lines[-1] += f" {text}"  # one passage, one line, as the answer text has it
        else:
            lines.append(f"• {text}" if part.kind == "item" else text)
        goes_on = part.kind == "sentence" and not markers
    return "\n".join(lines)


def _body_text(answer: Answer) -> str:
    if not answer.refused:
        if answer.parts:
            return parts_text(answer)
        return answer.answer.strip() or "(no answer text)"
    said = answer.answer.strip()
    return REFUSAL_LEAD if not said or said == REFUSAL_LEAD else f"{REFUSAL_LEAD}\n{said}"


def _fallback(body: str) -> str:
    text = escape(body)
    return text if len(text) <= FALLBACK_LIMIT else text[: FALLBACK_LIMIT - 1] + "…"


def _section(mrkdwn: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _link(url: str | None, label: str) -> str:
    label = escape(re.sub(r"\s+", " ", label).strip()).replace("|", "/")
    return f"<{url}|{label}>" if url else f"*{label}*"


def _source_line(citation: Citation, base_url: str | None) -> str:
    url = pdf_link(base_url, citation.doc_id, citation.page) if base_url else None
    line = f"[{citation.n}] {_link(url, citation.title)}, page {citation.page}"
    if citation.section.strip():
        line += f" · {escape(citation.section.strip())}"
    return line


def _source_blocks(citations: list[Citation], base_url: str | None) -> list[dict]:
    if not citations:
        return []
    lines = [_source_line(c, base_url) for c in sorted(citations, key=lambda c: c.n)]
    return [{"type": "divider"}, *_grouped_sections("*Sources*", lines)]


def _closest_blocks(documents: list[DocumentRef], base_url: str | None) -> list[dict]:
    if not documents:
        return []
    lines = [f"• {_link(pdf_link(base_url, d.doc_id) if base_url else None, d.title)}"
             for d in documents]
    return _grouped_sections("*Closest documents you can see here:*", lines)


def _grouped_sections(heading: str, lines: list[str], max_sections: int = 5) -> list[dict]:
    """Lines packed into as few sections as the per-section limit allows."""
    sections: list[str] = [heading]
    for line in lines:
        line = line[: SECTION_LIMIT - 1]
        if len(sections[-1]) + 1 + len(line) <= SECTION_LIMIT:
            sections[-1] += "\n" + line
        elif len(sections) < max_sections:
            sections.append(line)
        else:
            break
    return [_section(text) for text in sections]


def _feedback_block(feedback_id: str) -> dict:
    def button(action_id: str, label: str) -> dict:
        return {"type": "button", "action_id": action_id, "value": feedback_id,
                "text": {"type": "plain_text", "text": label}}

    return {"type": "actions", "block_id": FEEDBACK_BLOCK_ID,
            "elements": [button(HELPFUL, "Helpful"), button(NOT_HELPFUL, "Not helpful")]}


# ---- slash command, App Home and the feedback comment (issue 14) ------------------------------

SHARE = "share_in_channel"
COMMENT_VIEW = "feedback_comment"
COMMENT_BLOCK, COMMENT_INPUT = "comment", "comment_text"
MAX_VALUE = 2000  # characters in a button's value (Slack's limit)
HOME_DOCS_LIMIT = 40  # documents listed on the Home tab; a view holds at most 100 blocks


def with_share_button(message: Message, question: str) -> Message:
    """An ephemeral answer with "Share in channel" beside the feedback buttons; the button
    carries the question, so sharing asks again with the channel's clearance."""
    if not question or len(question) > MAX_VALUE:
        return message
    share = {"type": "button", "action_id": SHARE, "value": question, "style": "primary",
             "text": {"type": "plain_text", "text": "Share in channel"}}
    blocks = [dict(b) for b in message.blocks]
    for block in blocks:
        if block.get("block_id") == FEEDBACK_BLOCK_ID:
            block["elements"] = [share, *block["elements"]]
            return Message(text=message.text, blocks=blocks)
    return Message(text=message.text, blocks=[*blocks, {"type": "actions", "elements": [share]}][:MAX_BLOCKS])


def shared_message(message: Message, user: str, question: str) -> Message:
    """The answer as posted for everyone, led by who asked what."""
    asked = escape(" ".join(question.split()))
    lead = {"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"<@{user}> asked: {asked}"[:SECTION_LIMIT]}]}
    blocks = [lead, *message.blocks] if len(message.blocks) < MAX_BLOCKS else message.blocks
    return Message(text=_fallback(f"{question}\n{unescape(message.text)}"), blocks=blocks)


def comment_modal(private_metadata: str) -> dict:
    """The "Not helpful" modal: an optional comment on what was wrong or missing."""
    return {
        "type": "modal", "callback_id": COMMENT_VIEW, "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": "What was wrong?"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Skip"},
        "blocks": [
            _section("Thanks: your *Not helpful* vote is recorded. A line on what was wrong or "
                     "missing helps us fix it (it goes to the team that maintains the answers)."),
            {"type": "input", "block_id": COMMENT_BLOCK, "optional": True,
             "label": {"type": "plain_text", "text": "Comment"},
             "element": {"type": "plain_text_input", "action_id": COMMENT_INPUT, "multiline": True,
                         "max_length": 2000, "placeholder": {
                             "type": "plain_text", "text": "e.g. it should cite the 2022 board paper"}}},
        ],
    }


def home_view(*, command: str, public_docs: list, dm_docs: list, mention: str) -> dict:
    """The App Home tab: what the bot answers, where, which documents this person may ask
    about, and how to give feedback."""
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Guidance assistant"}},
        _section("Cited answers from NHS and local-government guidance and board papers. Every "
                 "claim carries a numbered source (title, page, section); when the documents do "
                 "not cover a question I say so and name the closest ones."),
        _section(f"*How to ask*\n• Mention {mention} in a channel I am in, or message me here.\n"
                 f"• `{command} your question` anywhere: only you see the answer, with a "
                 "*Share in channel* button.\n• Reply in the thread to follow up."),
        {"type": "divider"},
        _section(f"*Documents every conversation can use ({len(public_docs)})*"),
        *_doc_lines(public_docs),
    ]
    extra = [d for d in dm_docs if d.doc_id not in {p.doc_id for p in public_docs}]
    if extra:
        blocks += [_section(f"*Also in your direct messages with me ({len(extra)})*\n"
                            "You are cleared for these confidential papers; I use them only in "
                            "our DMs and in private channels cleared for them."),
                   *_doc_lines(extra)]
    blocks += [
        {"type": "divider"},
        _section("*Feedback*\nUnder each answer, press *Helpful* or *Not helpful*; *Not helpful* "
                 "asks what was wrong. Votes and comments become test cases for the next "
                 "version."),
    ]
    return {"type": "home", "blocks": blocks[:100]}


def _doc_lines(documents: list) -> list[dict]:
    lines = []
    for d in documents[:HOME_DOCS_LIMIT]:
        meta = ", ".join(part for part in (d.organisation, d.date) if part)
        title = escape(" ".join(d.title.split()))
        lines.append(f"• {title}" + (f" ({escape(meta)})" if meta else ""))
    if not lines:
        return [_section("_none yet: the index is empty_")]
    more = len(documents) - HOME_DOCS_LIMIT
    if more > 0:
        lines.append(f"… and {more} more")
    return _grouped_sections(lines[0], lines[1:])
