"""Text -> text: drop page footers, HTML remnants and running headers; fix ligatures."""
from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter

from core.models import Page

PAGE_FOOTER = re.compile(r"^\s*Page\s+\d+\s+of\s+\d+\s*$", re.IGNORECASE)
BLOCK_TAGS = re.compile(r"<\s*(br|/p|p|/li|li|/ul|ul|/ol|ol|/tr|tr|/div|div)\b[^>]*>", re.I)
ANY_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
SUPERSCRIPT = re.compile(r"<sup>\s*\d+\s*</sup>", re.I)
AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
MD_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
SPACES = re.compile(r"[ \t\u00a0\u2007\u202f]+")
INLINE_BULLET = re.compile(r"(?<=\S)[ \t]*•[ \t]*")
GLUED_CELL = re.compile(r"\b([a-z]{4,})(?=[A-Z][a-z])")


def normalise(text: str) -> str:
    """NFKC (turns 'ﬁ' into 'fi'), unify spaces; quotes and dashes are kept as written."""
    text = unicodedata.normalize("NFKC", text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def strip_html(text: str) -> str:
    """Turn HTML remnants (<p>, <br/>, <ul>, &amp;) into plain text, keeping line breaks."""
    text = SUPERSCRIPT.sub("", text)
    text = AUTOLINK.sub(r"\1", text)
    text = BLOCK_TAGS.sub("\n", text)
    text = ANY_TAG.sub("", text)
    return html.unescape(text)


def split_inline_bullets(text: str) -> str:
    """A bullet glued to the text before it ('...Partnership• The need') starts a new line."""
    return INLINE_BULLET.sub("\n• ", text)


def split_glued_cells(text: str) -> str:
    """A table's row label run into its cell ('Population health managementThe place-based
    partnership ...') ends its line: a lower-case word never runs into a capitalised one."""
    return GLUED_CELL.sub(r"\1\n", text)


def strip_markdown_emphasis(text: str) -> str:
    return MD_EMPHASIS.sub(r"\2", text)


def tidy_lines(text: str) -> list[str]:
    """Collapse runs of spaces/tabs per line and drop page footers; keep blank lines."""
    lines = []
    for raw in text.split("\n"):
        line = SPACES.sub(" ", raw).strip()
        if PAGE_FOOTER.match(line):
            continue
        lines.append(line)
    return lines


def running_headers(pages: list[list[str]], min_pages: int = 3) -> set[str]:
    """Short lines repeated at the top or bottom of most pages (letterheads, footers)."""
    if len(pages) < min_pages:
        return set()
    edges: Counter[str] = Counter()
    for lines in pages:
        content = [line for line in lines if line]
        edges.update(set(content[:2] + content[-2:]))
    threshold = max(min_pages, int(0.6 * len(pages)))
    return {line for line, n in edges.items() if n >= threshold and len(line.split()) <= 12}


def dehyphenate(lines: list[str]) -> list[str]:
    """Join a word broken across lines ('co-' + 'operate') into one line's word."""
    out: list[str] = []
    for line in lines:
        if out and out[-1].endswith("-") and len(out[-1]) > 1 and out[-1][-2].isalpha() \
                and line[:1].islower():
            head, _, last_word = out[-1].rpartition(" ")
            first_word, _, rest = line.partition(" ")
            out[-1] = f"{head} {last_word}{first_word}".strip()
            if rest:
                out.append(rest)
            continue
        out.append(line)
    return out


def clean_pages(pages: list[Page], is_markdown: bool = False) -> list[Page]:
    """Clean every page; the page numbers are kept exactly as they were."""
    split = []
    for page in pages:
        text = split_glued_cells(split_inline_bullets(strip_html(normalise(page.text))))
        if is_markdown:
            text = strip_markdown_emphasis(text)
        split.append(tidy_lines(text))
    repeated = running_headers(split)
    cleaned = []
    for page, lines in zip(pages, split):
        kept = [line for line in lines if line not in repeated]
        cleaned.append(Page(page.number, "\n".join(dehyphenate(kept)).strip()))
    return cleaned
