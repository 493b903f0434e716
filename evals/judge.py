"""Optional LLM-judged faithfulness and relevance of answers, through llama-index's evaluators.

`FaithfulnessEvaluator` asks whether the answer is supported by its cited quotes, and
`RelevancyEvaluator` whether answer and quotes are in line with the question; each gives a
YES/NO verdict (1.0 / 0.0), averaged over the run as `judged_faithfulness` and
`judged_relevance`. The LLM is passed to them explicitly (never llama-index's global Settings):
by default `ChatEndpointLLM`, the OpenAI-compatible endpoint of LLM_BASE_URL through our own
`openai` client; any llama-index LLM (Azure OpenAI, Bedrock, Ollama...) can be given instead.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from llama_index.core.base.llms.types import (CompletionResponse, CompletionResponseGen,
                                              LLMMetadata)
from llama_index.core.evaluation import (BaseEvaluator, FaithfulnessEvaluator,
                                         RelevancyEvaluator)
from llama_index.core.llms import LLM, CustomLLM
from llama_index.core.llms.callbacks import llm_completion_callback
from pydantic import PrivateAttr

from core.settings import Settings

log = logging.getLogger("evals")


class ChatEndpointLLM(CustomLLM):
    """llama-index's LLM interface over an OpenAI-compatible chat endpoint, through the `openai`
    client the project already uses (llama-index's OpenAILike integration would pin openai < 3)."""

    model: str = ""
    context_window: int = 8192
    num_output: int = 512
    _client: Any = PrivateAttr()

    def __init__(self, client: Any, model: str, **kwargs: Any) -> None:
        super().__init__(model=model, **kwargs)
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> "ChatEndpointLLM":
        from openai import OpenAI

        client = OpenAI(base_url=settings.llm_base_url, api_key=settings.llm_api_key or "none",
                        timeout=settings.llm_timeout_s, max_retries=0)
        return cls(client, settings.llm_model)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=self.context_window, num_output=self.num_output,
                           model_name=self.model, is_chat_model=False)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        reply = self._client.chat.completions.create(
            model=self.model, temperature=0, messages=[{"role": "user", "content": prompt}])
        return CompletionResponse(text=reply.choices[0].message.content or "")

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False,
                        **kwargs: Any) -> CompletionResponseGen:
        yield self.complete(prompt, formatted=formatted, **kwargs)  # judging needs no stream


class Judge:
    """Grades answered questions with llama-index's evaluators; at most `limit` answers a run."""

    def __init__(self, llm: LLM, limit: int = 40, model: str | None = None) -> None:
        self.evaluators: dict[str, BaseEvaluator] = {
            "faithfulness": FaithfulnessEvaluator(llm=llm),
            "relevance": RelevancyEvaluator(llm=llm),
        }
        self.model = model or llm.metadata.model_name
        self.limit, self.calls = limit, 0

    def score(self, question: str, answer: str, quotes: Sequence[str]) -> dict[str, float]:
        """Judged scores (0 or 1) for one answer; {} when over the limit, and a metric is left
        out when its call fails: a judge outage loses judged scores, never the run. The two
        evaluators ask at once, so a judged answer takes about one LLM call's time."""
        if self.calls >= self.limit:
            return {}
        self.calls += 1
        with ThreadPoolExecutor(len(self.evaluators)) as pool:
            asked = {name: pool.submit(evaluator.evaluate, query=question, response=answer,
                                       contexts=list(quotes))
                     for name, evaluator in self.evaluators.items()}
        scores: dict[str, float] = {}
        for name, future in asked.items():
            try:
                result = future.result()
            except Exception as exc:
                log.warning("judge call failed (%s, %s): %s", name, type(exc).__name__, exc)
                continue
            if result.score is not None:
                scores[name] = float(result.score)
        return scores


def build_judge(settings: Settings, limit: int = 40) -> Judge | None:
    """A Judge if an LLM endpoint is configured (LLM_BASE_URL), else None."""
    if not settings.llm_base_url:
        return None
    return Judge(ChatEndpointLLM.from_settings(settings), limit=limit, model=settings.llm_model)
