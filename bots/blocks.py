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
    document's own "[4]" never reads as a citation."""
    known = {c.n for c in answer.citations}
    lines = []
    for part in answer.parts:
        markers = "".join(f"[{n}]" for n in part.citations if n in known)
        text = neutralise_markers(part.text.strip()) + (f" {markers}" if markers else "")
        lines.append(f"• {text}" if part.kind == "item" else text)
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
