"""The evaluation metrics score small hand-made cases exactly, including the failing ones."""
from __future__ import annotations

import pytest

from evals.metrics import (CaseScores, Passage, answer_words, by_kind, citation_page_precision,
                           confidential_leaks, contains, doc_coverage, first_relevant_rank,
                           hit_at_k, key_fact_recall, mean, median, normalise, percentile,
                           premise_corrected, reciprocal_rank, retrieval_summary, squash,
                           summarise)

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


def test_answer_words_leave_out_citation_markers():
    assert answer_words("Decisions follow subsidiarity [1]. Budgets are pooled [2][3].") == 6
    assert answer_words("") == 0


def test_median_of_odd_even_and_no_values():
    assert median([40.0, 10.0, 25.0]) == 25.0
    assert median([10.0, 20.0]) == 15.0
    assert median([]) is None


def test_doc_coverage_counts_the_gold_documents_an_answer_cites():
    gold = {"bob": [7], "lbbd": [4]}
    assert doc_coverage([Passage("bob", 7, 7), Passage("bob", 2, 2)], gold) == 0.5
    assert doc_coverage([Passage("bob", 3, 3), Passage("lbbd", 1, 1)], gold) == 1.0
    assert doc_coverage([Passage("other", 1, 1)], gold) == 0.0
    assert doc_coverage([Passage("bob", 7, 7)], {"bob": [7]}) is None  # one document: n/a


def test_premise_corrected_needs_every_correcting_fact_in_an_answer_given():
    facts = ["may choose to have"]
    assert premise_corrected("Partnerships may choose to have an overall lead [1].", False, facts)
    assert not premise_corrected("The lead convenes the partnership [1].", False, facts)
    assert not premise_corrected("Partnerships may choose to have a lead.", True, facts)
    assert premise_corrected("anything", False, []) is None


def test_summarise_counts_a_corrected_false_premise_as_declined_and_reports_length():
    cases = [
        _case(refused=False, words=40, doc_coverage=0.5, cited=3, first_cited_gold=True),
        _case(refused=False, words=10, doc_coverage=1.0, cited=1, first_cited_gold=False),
        _case(refused=True, words=12),
        _case(kind="false_premise", answerable=False, expects_answer=False, refused=False,
              corrected=True, words=20),
        _case(kind="false_premise", answerable=False, expects_answer=False, refused=False,
              corrected=False, words=30),
        _case(kind="unanswerable", answerable=False, expects_answer=False, refused=True, words=9),
    ]
    out = summarise(cases)
    assert out["refusal_rate_unanswerable"] == pytest.approx(2 / 3)
    assert out["false_premise_corrected_rate"] == 0.5
    assert out["doc_coverage"] == 0.75
    assert out["answer_words_median"] == 25.0  # answers given: 40, 10, 20, 30
    assert out["citations_mean"] == 2.0  # of the answers whose citations were counted
    assert out["first_citation_on_gold_page"] == 0.5  # of the answered, answerable questions
    kinds = by_kind(cases)
    assert kinds["false_premise"]["refusal_rate_unanswerable"] == 0.5
    assert kinds["fact"]["answer_words_median"] == 25.0


def test_side_by_side_shows_each_set_and_its_gap_to_the_first():
    from evals.run import side_by_side

    def run(recall: float, list_recall: float | None) -> dict:
        by_kind = {"list": {"key_fact_recall": list_recall}} if list_recall is not None else {}
        return {"runs": {"public": {"overall": {"n": 10, "key_fact_recall": recall},
                                    "by_kind": by_kind}}}

    table = side_by_side({"dev": run(0.75, 0.5), "holdout2": run(0.5, None)})
    assert "| figure | dev | holdout2 | holdout2 - dev |" in table
    assert "| key_fact_recall | 0.750 | 0.500 | -0.250 |" in table
    assert "| list: key_fact_recall | 0.500 | – | – |" in table
    assert "| n | 10 | 10 |  |" in table  # sizes are shown, not subtracted
    assert "answered_rate" not in table  # a figure no set has is left out


def test_sets_command_has_help_and_is_in_the_readme(capsys):
    from pathlib import Path

    from evals.__main__ import main as evals_main

    with pytest.raises(SystemExit) as exit_:
        evals_main(["sets", "--help"])
    assert exit_.value.code == 0
    assert "usage: python -m evals sets" in capsys.readouterr().out
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "python -m evals sets" in readme


# --- Run deltas: pure helpers of evals.compare (the judge: tests/test_judge.py) ---------------

def test_compare_delta_signs_and_missing_values():
    from evals.compare import delta

    assert delta(0.5, 0.75) == "+0.250"
    assert delta(0.9, 0.8) == "-0.100"
    assert delta(0, 2) == "+2"
    assert delta(None, 0.5) == "n/a"
    assert delta(114.0, 114.0) == "+0"  # milliseconds, not a rate
