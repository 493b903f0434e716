"""Our retrieval and cited answers as LlamaIndex parts, on the real corpus index: a retriever
inside llama-index's own RetrieverQueryEngine (MockLLM), a query engine, and an agent tool."""
from __future__ import annotations

import asyncio

import pytest
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.tools import QueryEngineTool

from assistant.llamaindex import GuidanceQueryEngine, GuidanceRetriever, answer_of
from core.errors import BadQuestion

pytestmark = pytest.mark.slow

CONFIDENTIAL_DOC = "southwark-2022-07-16-ics-strategic-options"
CONFIDENTIAL_TITLE = "Strategic Options Analysis"
SECRET_FIGURE = "£145 million"  # only in the confidential paper
PROBES = ["Southwark strategic options integrated care partnership",
          "How much is the allocation from the ICS to Partnership Southwark in 2022/23?"]
QUESTION = "What is a place-based partnership?"
CITED = {"doc_id", "title", "page", "page_end", "section", "visibility"}


def test_retriever_nodes_carry_what_a_citation_needs(assistant):
    nodes = GuidanceRetriever(assistant, "public", top_k=5).retrieve(QUESTION)
    hits = assistant.search(QUESTION, "public", top_k=5)
    assert [n.node.node_id for n in nodes] == [h.chunk.id for h in hits]
    assert [n.score for n in nodes] == [h.score for h in hits]
    for node, hit in zip(nodes, hits, strict=True):
        meta = node.node.metadata
        assert CITED <= set(meta)
        assert (meta["doc_id"], meta["page"], meta["page_end"], meta["section"]) == (
            hit.chunk.doc_id, hit.chunk.page_start, hit.chunk.page_end, hit.chunk.section)
        assert node.node.get_content() == hit.chunk.text
        assert node.node.ref_doc_id == hit.chunk.doc_id


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
@pytest.mark.parametrize("probe", PROBES)
def test_public_retriever_never_returns_a_confidential_node(assistant, mode, probe):
    public = GuidanceRetriever(assistant, "public", top_k=50, mode=mode).retrieve(probe)
    cleared = GuidanceRetriever(assistant, "confidential", top_k=50, mode=mode).retrieve(probe)
    assert public and all(n.node.metadata["visibility"] == "public" for n in public)
    assert CONFIDENTIAL_DOC not in {n.node.metadata["doc_id"] for n in public}
    assert not any(SECRET_FIGURE in n.node.get_content() for n in public)
    assert CONFIDENTIAL_DOC in {n.node.metadata["doc_id"] for n in cleared}  # the filter matters


def test_an_unknown_clearance_or_an_empty_question_is_refused(assistant):
    with pytest.raises(ValueError, match="clearance"):
        GuidanceRetriever(assistant, "secret")
    with pytest.raises(ValueError, match="clearance"):
        GuidanceQueryEngine(assistant, "Public")
    with pytest.raises(BadQuestion):
        GuidanceRetriever(assistant, "public").retrieve("   ")
    with pytest.raises(BadQuestion):
        GuidanceQueryEngine(assistant, "public").query("")


def test_from_settings_opens_the_index_the_settings_name(indexed_settings, assistant):
    retriever = GuidanceRetriever.from_settings(indexed_settings, clearance="confidential")
    assert [n.node.node_id for n in retriever.retrieve(PROBES[1])] == [
        h.chunk.id for h in assistant.search(PROBES[1], "confidential",
                                             top_k=indexed_settings.top_k)]


def test_llama_index_retriever_query_engine_answers_from_our_passages(assistant):
    engine = RetrieverQueryEngine.from_args(GuidanceRetriever(assistant, "public", top_k=3),
                                            llm=MockLLM())  # MockLLM echoes its prompt
    response = engine.query(PROBES[1])
    prompt = str(response)
    assert len(response.source_nodes) == 3
    for node in response.source_nodes:
        assert node.node.metadata["visibility"] == "public"
        assert node.node.get_content() in prompt
        assert f"title: {node.node.metadata['title']}" in prompt
        assert f"page: {node.node.metadata['page']}" in prompt
    assert "visibility" not in prompt and "doc_id" not in prompt  # bookkeeping stays out
    assert SECRET_FIGURE not in prompt and CONFIDENTIAL_TITLE not in prompt


@pytest.mark.parametrize("clearance", ["public", "confidential"])
def test_query_engine_gives_the_apis_answer_with_its_cited_passages(assistant, clearance):
    response = GuidanceQueryEngine(assistant, clearance).query(QUESTION)
    expected = assistant.ask(QUESTION, clearance)
    assert str(response) == expected.answer and not expected.refused
    assert answer_of(response) == expected
    assert len(response.source_nodes) == len(expected.citations)
    for node, citation in zip(response.source_nodes, expected.citations, strict=True):
        meta = node.node.metadata
        assert meta["citation"] == citation.n and f"[{citation.n}]" in str(response)
        assert (meta["doc_id"], meta["page"], meta["section"]) == (
            citation.doc_id, citation.page, citation.section)
        assert citation.quote in node.node.get_content()
        assert meta["page"] <= meta["page_end"]


def test_streaming_query_engine_streams_the_same_answer(assistant):
    whole = GuidanceQueryEngine(assistant, "public").query(QUESTION)
    streamed = GuidanceQueryEngine(assistant, "public", streaming=True).query(QUESTION)
    assert streamed.source_nodes == []  # filled when the stream ends
    pieces = list(streamed.response_gen)
    assert len(pieces) > 1 and "".join(pieces) == str(whole)
    assert answer_of(streamed) == answer_of(whole)
    assert [n.node.metadata for n in streamed.source_nodes] == [
        n.node.metadata for n in whole.source_nodes]


def test_query_engine_retrieve_gives_the_passages_it_answers_from(assistant):
    engine = GuidanceQueryEngine(assistant, "public")
    cited = {n.node.node_id for n in engine.query(QUESTION).source_nodes}
    passages = engine.retrieve(QUESTION)
    assert [n.node.node_id for n in passages] == [h.chunk.id for h in
                                                  assistant.retriever.retrieve(QUESTION, "public")]
    assert cited <= {n.node.node_id for n in passages}


def test_public_query_engine_never_cites_or_names_the_confidential_paper(assistant):
    for probe in PROBES:
        response = GuidanceQueryEngine(assistant, "public").query(probe)
        answer = answer_of(response)
        assert SECRET_FIGURE not in str(response) and CONFIDENTIAL_TITLE not in str(response)
        assert CONFIDENTIAL_DOC not in {n.node.metadata["doc_id"] for n in response.source_nodes}
        assert CONFIDENTIAL_DOC not in {d.doc_id for d in answer.closest_documents}
    cleared = GuidanceQueryEngine(assistant, "confidential").query(PROBES[1])
    assert SECRET_FIGURE in str(cleared)
    assert CONFIDENTIAL_DOC in {n.node.metadata["doc_id"] for n in cleared.source_nodes}


def test_an_uncovered_question_is_a_refusal_with_no_sources(assistant):
    response = GuidanceQueryEngine(assistant, "public").query(
        "What will the weather be in Paris tomorrow?")
    assert answer_of(response).refused and response.source_nodes == []
    assert str(response) == assistant.ask("What will the weather be in Paris tomorrow?",
                                          "public").answer


def test_query_engine_tool_serves_an_agent_cited_answers(assistant):
    tool = QueryEngineTool.from_defaults(
        query_engine=GuidanceQueryEngine(assistant, "public"), name="nhs_guidance",
        description="Cited answers from NHS and local-government guidance.")
    output = tool.call(QUESTION)
    assert tool.metadata.name == "nhs_guidance"
    assert output.content == assistant.ask(QUESTION, "public").answer
    assert [n.node.metadata["citation"] for n in output.raw_output.source_nodes] == list(
        range(1, len(output.raw_output.source_nodes) + 1))
    secret = tool.call(PROBES[1])
    assert SECRET_FIGURE not in secret.content and CONFIDENTIAL_TITLE not in secret.content


def test_async_query_gives_the_same_response(assistant):
    engine = GuidanceQueryEngine(assistant, "public")
    assert answer_of(asyncio.run(engine.aquery(QUESTION))) == answer_of(engine.query(QUESTION))
    nodes = asyncio.run(GuidanceRetriever(assistant, "public").aretrieve(QUESTION))
    assert [n.node.node_id for n in nodes] == [n.node.node_id for n in
                                               GuidanceRetriever(assistant, "public").retrieve(QUESTION)]


def test_the_example_in_docs_runs(indexed_settings):
    import re
    import subprocess
    import sys

    from api_server import REPO, settings_env

    doc = (REPO / "docs" / "llamaindex.md").read_text()
    example = re.search(r"```python\n(.*?)```", doc, re.DOTALL).group(1)
    result = subprocess.run([sys.executable, "-c", example], cwd=REPO, capture_output=True,
                            text=True, timeout=300, env={**settings_env(indexed_settings),
                                                         "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert "[1]" in lines[0]
    assert any(line.startswith("[1] ") and ", page " in line for line in lines)
    assert "refused: False" in lines and "3 passages" in lines


def test_llm_answers_stream_as_written_and_end_with_checked_citations(indexed_settings):
    from assistant.service import build_assistant
    from llm_stub import ChatStub

    reply = "Place-based partnerships bring local organisations together [1]. They fly [9]."
    with ChatStub(reply) as stub:
        llm_assistant = build_assistant(indexed_settings.model_copy(
            update={"llm_base_url": stub.url, "llm_model": "stub-model"}))
        whole = GuidanceQueryEngine(llm_assistant, "public").query(QUESTION)
        streamed = GuidanceQueryEngine(llm_assistant, "public", streaming=True).query(QUESTION)
        text = "".join(streamed.response_gen)
    assert "[9]" not in text and "[1]" in text  # only checked sentences are ever streamed
    final = answer_of(streamed)
    assert final == answer_of(whole) and final.mode == "llm"
    assert "[9]" not in final.answer and "[1]" in final.answer
    assert [n.node.metadata["citation"] for n in streamed.source_nodes] == [1]
    assert streamed.source_nodes[0].node.metadata["visibility"] == "public"
