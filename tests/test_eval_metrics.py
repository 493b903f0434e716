"""The evaluation metrics score small hand-made cases exactly, including the failing ones."""
from __future__ import annotations

import pytest

from evals.metrics import (CaseScores, Passage, by_kind, citation_page_precision,
                           confidential_leaks, contains, first_relevant_rank, hit_at_k,
                           key_fact_recall, mean, normalise, percentile, reciprocal_rank,
                           retrieval_summary, squash, summarise)

GOLD = {"guide": [13, 14]}


def test_normalise_undoes_ligatures_curly_quotes_and_spacing():
    assert normalise("de\ufb01ned  \u2018place\u2019\n  o\ufb03cer") == "defined 'place' officer"


def test_squash_tolerates_pdf_hyphenation_but_not_different_words():
    assert squash("place-based") == squash("placebased") == squash("Place based")
    assert contains("the principle of subsidiarity.", "Principle of Subsidiarity")
    assert contains("£145 million 'allocation'", "£145 million")
    assert not contains("£145 million", "£154 million")
    assert not contains("anything", "")


def test_first_relevant_rank_by_document_and_by_page():
    retrieved = [Passage("other", 13, 13), Passage("guide", 2, 3), Passage("guide", 12, 13)]
    assert first_relevant_rank(retrieved, GOLD, by_page=False) == 2
    assert first_relevant_rank(retrieved, GOLD, by_page=True) == 3
    assert first_relevant_rank(retrieved[:2], GOLD, by_page=True) is None
    assert first_relevant_rank([], GOLD, by_page=False) is None


def test_hit_at_k_and_reciprocal_rank():
    assert hit_at_k(3, 3) == 1.0
    assert hit_at_k(4, 3) == 0.0
    assert hit_at_k(None, 5) == 0.0
    assert reciprocal_rank(4) == 0.25
    assert reciprocal_rank(None) == 0.0


def test_citation_page_precision_counts_only_gold_pages():
    cited = [Passage("guide", 13, 13), Passage("guide", 5, 5), Passage("other", 14, 14),
             Passage("guide", 14, 14)]
    assert citation_page_precision(cited, GOLD) == 0.5
    assert citation_page_precision([Passage("guide", 1, 1)], GOLD) == 0.0
    assert citation_page_precision([], GOLD) is None


def test_key_fact_recall_is_partial_and_can_be_zero():
    answer = "Partners agree the footprint; it is for system partners to decide."
    assert key_fact_recall(answer, ["system partners", "footprint"]) == 1.0
    assert key_fact_recall(answer, ["system partners", "leadership arrangements"]) == 0.5
    assert key_fact_recall("I could not find that.", ["subsidiarity"]) == 0.0
    assert key_fact_recall(answer, []) is None


def test_confidential_leaks_name_each_leaked_document_and_fact():
    secret = ["southwark"]
    assert confidential_leaks(["guide", "bob"], "All public.", secret, ["£781,000"]) == []
    assert confidential_leaks(["guide", "southwark", "southwark"], "It was £781,000.", secret,
                              ["£781,000", "Mutual Ventures"]) == ["doc southwark",
                                                                   "fact '£781,000'"]


def test_percentile_interpolates_and_handles_no_values():
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert percentile([], 50) is None


def test_mean_skips_missing_values():
    assert mean([1.0, None, 0.0]) == 0.5
    assert mean([None]) is None


def _case(**kw) -> CaseScores:
    base = dict(id="q", kind="fact", clearance="public", expects_answer=True, answerable=True)
    return CaseScores(**{**base, **kw})


def test_retrieval_summary_counts_only_questions_expecting_an_answer():
    cases = [_case(doc_rank=1, page_rank=1), _case(doc_rank=2, page_rank=4),
             _case(doc_rank=None, page_rank=None),
             _case(expects_answer=False, answerable=False, doc_rank=None)]
    out = retrieval_summary(cases)
    assert out["hit@1_doc"] == pytest.approx(1 / 3)
    assert out["hit@3_doc"] == pytest.approx(2 / 3)
    assert out["hit@3_page"] == pytest.approx(1 / 3)
    assert out["hit@5_page"] == pytest.approx(2 / 3)
    assert out["mrr_doc"] == pytest.approx((1 + 0.5) / 3)
    assert out["mrr_page"] == pytest.approx((1 + 0.25) / 3)


def test_summarise_separates_answered_refused_hidden_and_errors():
    cases = [
        _case(refused=False, fact_recall=1.0, citation_precision=1.0, ask_ms=10.0),
        _case(refused=True, fact_recall=0.0, citation_precision=None, ask_ms=30.0),
        _case(kind="unanswerable", answerable=False, expects_answer=False, refused=True),
        _case(kind="unanswerable", answerable=False, expects_answer=False, refused=False,
              leaks=["doc southwark"]),
        _case(kind="confidential_probe", expects_answer=False, refused=True),
        _case(error="timeout", refused=None),
    ]
    out = summarise(cases)
    assert out["n"] == 6 and out["errors"] == 1
    assert out["answered_rate"] == 0.5
    assert out["key_fact_recall"] == 0.5
    assert out["citation_page_precision"] == 1.0
    assert out["refusal_rate_unanswerable"] == 0.5
    assert out["refusal_rate_hidden"] == 1.0
    assert out["confidential_leaks"] == 1
    assert out["ask_ms_p50"] == 20.0


def test_summarise_of_nothing_reports_missing_not_perfect():
    out = summarise([])
    assert out["n"] == 0
    assert out["hit@5_page"] is None and out["refusal_rate_unanswerable"] is None


def test_judged_scores_are_reported_under_a_judged_prefix():
    out = summarise([_case(judged={"faithfulness": 1.0}), _case(judged={"faithfulness": 0.5})])
    assert out["judged_faithfulness"] == 0.75


def test_by_kind_groups_cases():
    groups = by_kind([_case(kind="list", fact_recall=1.0), _case(kind="fact", fact_recall=0.0)])
    assert list(groups) == ["fact", "list"]
    assert groups["list"]["key_fact_recall"] == 1.0
    assert groups["fact"]["key_fact_recall"] == 0.0


# --- Judged scores and run deltas: pure helpers of evals.judge and evals.compare -------------

def test_parse_judgement_maps_1_to_5_onto_0_to_1_and_drops_junk():
    from evals.judge import parse_judgement

    assert parse_judgement('Sure: {"faithfulness": 5, "relevance": 3}') == {
        "faithfulness": 1.0, "relevance": 0.5}
    assert parse_judgement('{"faithfulness": 9, "relevance": true}') == {}
    assert parse_judgement("no json here") == {}


def test_judge_stops_at_its_limit_and_survives_a_failing_endpoint():
    from types import SimpleNamespace

    from core.settings import Settings
    from evals.judge import Judge

    class Client:
        calls = 0

        def create(self, **kw):
            Client.calls += 1
            if Client.calls == 2:
                raise TimeoutError("slow")
            return SimpleNamespace(choices=[SimpleNamespace(
                message=SimpleNamespace(content='{"faithfulness": 1, "relevance": 5}'))])

    client = SimpleNamespace(chat=SimpleNamespace(completions=Client()))
    judge = Judge(Settings(_env_file=None, llm_base_url="http://judge"), client=client, limit=2)
    assert judge.score("q", "a", ["quote"]) == {"faithfulness": 0.0, "relevance": 1.0}
    assert judge.score("q", "a", []) == {}  # the endpoint failed
    assert judge.score("q", "a", []) == {}  # over the limit: not called
    assert Client.calls == 2


def test_compare_delta_signs_and_missing_values():
    from evals.compare import delta

    assert delta(0.5, 0.75) == "+0.250"
    assert delta(0.9, 0.8) == "-0.100"
    assert delta(0, 2) == "+2"
    assert delta(None, 0.5) == "n/a"
    assert delta(114.0, 114.0) == "+0"  # milliseconds, not a rate
