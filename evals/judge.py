"""Optional LLM-judged faithfulness and relevance of answers (only when LLM_BASE_URL is set)."""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any

from core.settings import Settings

log = logging.getLogger("evals")

PROMPT = """You grade an assistant's answer. Reply with JSON only:
{{"faithfulness": 1-5, "relevance": 1-5}}
faithfulness: 5 = every claim in the answer is supported by the sources; 1 = mostly unsupported.
relevance: 5 = the answer directly addresses the question; 1 = it does not.

Question: {question}

Sources:
{sources}

Answer:
{answer}"""


def parse_judgement(text: str) -> dict[str, float]:
    """Scores 1-5 from the judge's reply, mapped onto 0-1; keys missing or out of range are dropped."""
    match = re.search(r"\{.*\}", text or "", re.DOTALL)
    if not match:
        return {}
    try:
        raw = json.loads(match.group(0))
    except json.JSONDecodeError:
        return {}
    out = {}
    for key in ("faithfulness", "relevance"):
        value = raw.get(key) if isinstance(raw, dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value <= 5:
            out[key] = (float(value) - 1) / 4
    return out


class Judge:
    """Asks an OpenAI-compatible model to grade answers; at most `limit` calls per run."""

    def __init__(self, settings: Settings, client: Any = None, limit: int = 40) -> None:
        if client is None:
            from openai import OpenAI

            client = OpenAI(base_url=settings.llm_base_url, api_key=settings.llm_api_key,
                            timeout=settings.llm_timeout_s)
        self.client, self.model, self.limit, self.calls = client, settings.llm_model, limit, 0

    def score(self, question: str, answer: str, quotes: Sequence[str]) -> dict[str, float]:
        """Judged scores for one answer; {} when over the limit or when the call fails."""
        if self.calls >= self.limit:
            return {}
        self.calls += 1
        sources = "\n".join(f"[{i}] {quote}" for i, quote in enumerate(quotes, 1)) or "(none)"
        try:
            reply = self.client.chat.completions.create(
                model=self.model, temperature=0, messages=[{"role": "user", "content": PROMPT.format(
                    question=question, sources=sources, answer=answer)}])
            return parse_judgement(reply.choices[0].message.content or "")
        except Exception as exc:  # a judge outage loses judged scores, never the run
            log.warning("judge call failed (%s): %s", type(exc).__name__, exc)
            return {}


def build_judge(settings: Settings, limit: int = 40) -> Judge | None:
    """A Judge if an LLM endpoint is configured (LLM_BASE_URL), else None."""
    return Judge(settings, limit=limit) if settings.llm_base_url else None
