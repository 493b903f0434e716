"""LLM-judged eval metrics through llama-index's Faithfulness / Relevancy evaluators, over a real
local OpenAI-compatible endpoint (tests/llm_stub.py) or llama-index's MockLLM."""
from __future__ import annotations

import logging
import socket

import pytest
from llama_index.core.llms import MockLLM

from core.settings import Settings
from evals.judge import ChatEndpointLLM, Judge, build_judge
from llm_stub import ChatStub

QUESTION = "Who appoints the place partnership lead?"
ANSWER = "The ICB and the local authority appoint the lead jointly [1]."
QUOTES = ["The lead is appointed jointly by the ICB and the local authority.",
          "The lead reports to the place committee."]


def judge_over(url: str, limit: int = 40) -> Judge:
    judge = build_judge(Settings(_env_file=None, llm_base_url=url, llm_model="judge-model"),
                        limit=limit)
    assert judge is not None
    return judge


def test_no_endpoint_means_no_judge():
    assert build_judge(Settings(_env_file=None, llm_base_url=None)) is None


@pytest.mark.parametrize("verdict,score", [("YES", 1.0), ("NO", 0.0)])
def test_verdicts_become_scores(verdict, score):
    with ChatStub(verdict) as stub:
        judge = judge_over(stub.url)
        assert judge.score(QUESTION, ANSWER, QUOTES) == {"faithfulness": score, "relevance": score}
    assert judge.model == "judge-model"
    assert {r["model"] for r in stub.requests} == {"judge-model"}


def test_the_judge_sees_the_answer_its_quotes_and_the_question():
    with ChatStub("YES") as stub:
        judge_over(stub.url).score(QUESTION, ANSWER, QUOTES)
    prompts = [r["messages"][0]["content"] for r in stub.requests]
    assert len(prompts) == 2 and all(r["temperature"] == 0 for r in stub.requests)
    faithfulness = next(p for p in prompts if "supported by the context" in p)
    relevance = next(p for p in prompts if "in line with the context" in p)
    assert f"Information: {ANSWER}" in faithfulness
    assert all(quote in faithfulness and quote in relevance for quote in QUOTES)
    assert f"Question: {QUESTION}" in relevance and f"Response: {ANSWER}" in relevance


def test_judge_stops_at_its_limit():
    with ChatStub("YES") as stub:
        judge = judge_over(stub.url, limit=2)
        scores = [judge.score(QUESTION, ANSWER, QUOTES) for _ in range(3)]
    assert scores[2] == {} and scores[0] == scores[1] != {}
    assert len(stub.requests) == 4  # two evaluators x two answers


def test_an_unreachable_judge_loses_its_scores_not_the_run(caplog):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    with caplog.at_level(logging.WARNING, logger="evals"):
        assert judge_over(url).score(QUESTION, ANSWER, QUOTES) == {}
    assert "judge call failed (faithfulness, APIConnectionError)" in caplog.text


def test_any_llama_index_llm_can_judge():
    # MockLLM(max_tokens=3) replies "text text text": no YES, so neither check passes.
    judge = Judge(MockLLM(max_tokens=3), model="mock")
    assert judge.score(QUESTION, ANSWER, QUOTES) == {"faithfulness": 0.0, "relevance": 0.0}


def test_chat_endpoint_llm_completes_through_the_openai_client():
    with ChatStub("Plain reply.") as stub:
        llm = ChatEndpointLLM.from_settings(Settings(_env_file=None, llm_base_url=stub.url,
                                                     llm_model="m"))
        assert llm.complete("Say something").text == "Plain reply."
        assert "".join(r.text for r in llm.stream_complete("again")) == "Plain reply."
    assert stub.requests[0]["messages"] == [{"role": "user", "content": "Say something"}]
