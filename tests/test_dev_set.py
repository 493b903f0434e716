"""The dev question set fits the schema, covers the corpus, and every quote and page is real."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from evals.dataset import (DEV16_SET, DEV_SET, FRESH14_SET, FRESH15_SET, FRESH16_SET,
                           FRESH17_SET, FRESH18_SET, FRESH19_SET, HOLDOUT2_SET, HOLDOUT3_SET,
                           HOLDOUT4_SET, HOLDOUT_SET,
                           KINDS, DatasetError, Question, load_corpus_pages, load_questions,
                           parse_question, read_manifest, validate_question, validate_questions)

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
SOUTHWARK = "southwark-2022-07-16-ics-strategic-options"
THRIVING = "nhse-lga-2021-09-thriving-places-guidance"
BOB = "bob-icb-board-2022-09-27-place-based-partnerships"
LBBD = "lbbd-hwb-2022-06-14-place-partnership-lead"
# issue 11 asks people to try these by hand: no question set may hold them
HAND_TRIED = (
    "What governance options are there for a place-based partnership?",
    "What does a Place Partnership Lead do?",
    "Who should be members of a place-based partnership?",
    "Which service areas will BOB partnerships be responsible for?",
    "By what date must Barking & Dagenham nominate its Lead?",
    "What risks did the Sandwell paper identify?",
    "When will BOB partnerships be formally established?",
    "What is the parking policy at the ICB headquarters?",
    "Which consultancy prepared the Southwark analysis?",
)


@pytest.fixture(scope="module")
def questions() -> list[Question]:
    return load_questions(DEV_SET)


@pytest.fixture(scope="module")
def corpus() -> tuple[dict[str, str], dict[str, list[str]]]:
    visibility = read_manifest(CORPUS)
    return visibility, load_corpus_pages(CORPUS, visibility)


def test_every_quote_key_fact_and_page_is_found_in_the_corpus_pdfs(questions):
    assert validate_questions(questions, CORPUS) == []


def test_the_holdout_set_is_valid_and_shares_no_question_with_the_dev_set(questions):
    holdout = load_questions(HOLDOUT_SET)
    assert validate_questions(holdout, CORPUS) == []
    assert {q.kind for q in holdout} >= {"fact", "paraphrase", "unanswerable"}
    assert not {q.question for q in holdout} & {q.question for q in questions}
    assert not {q.id for q in holdout} & {q.id for q in questions}


def test_dev_set_is_big_enough_and_covers_every_document_and_kind(questions):
    assert len(questions) >= 150
    docs = {d for q in questions for d in q.docs}
    assert docs == set(read_manifest(CORPUS))
    kinds = Counter(q.kind for q in questions)
    assert set(kinds) == set(KINDS)
    assert kinds["confidential_probe"] >= 6
    assert kinds["unanswerable"] + kinds["false_premise"] >= 20
    assert min(kinds[k] for k in ("list", "table", "front_matter", "who", "comparison")) >= 6


def assert_frozen_and_apart(held: list[Question], others: list[Question], size: int) -> None:
    """A holdout is large enough, valid against the corpus, and shares no question or id with
    the sets written before it."""
    assert len(held) >= size
    assert validate_questions(held, CORPUS) == []
    assert not {q.question.casefold() for q in held} & {q.question.casefold() for q in others}
    assert not {q.id for q in held} & {q.id for q in others}


def test_second_holdout_is_frozen_valid_and_apart_from_the_other_sets(questions):
    holdout2 = load_questions(HOLDOUT2_SET)
    assert_frozen_and_apart(holdout2, questions + load_questions(HOLDOUT_SET), 60)
    # comparisons replace multi_doc; definitions joined the dev set after holdout2 was frozen
    assert {q.kind for q in holdout2} == set(KINDS) - {"multi_doc", "definition"}
    assert {d for q in holdout2 for d in q.docs} == set(read_manifest(CORPUS))


def test_third_holdout_is_frozen_valid_and_apart_from_the_other_sets(questions):
    holdout3 = load_questions(HOLDOUT3_SET)
    others = questions + load_questions(HOLDOUT_SET) + load_questions(HOLDOUT2_SET)
    assert_frozen_and_apart(holdout3, others, 60)
    assert {q.kind for q in holdout3} >= {"list", "table", "front_matter", "who", "comparison",
                                         "paraphrase", "unanswerable", "false_premise",
                                         "confidential_probe"}
    assert {d for q in holdout3 for d in q.docs} == set(read_manifest(CORPUS))


def test_fourth_holdout_is_frozen_valid_and_apart_from_the_other_sets(questions):
    holdout4 = load_questions(HOLDOUT4_SET)
    others = (questions + load_questions(HOLDOUT_SET) + load_questions(HOLDOUT2_SET)
              + load_questions(HOLDOUT3_SET))
    assert_frozen_and_apart(holdout4, others, 50)
    kinds = Counter(q.kind for q in holdout4)
    assert kinds["unanswerable"] + kinds["false_premise"] >= 25
    assert kinds["paraphrase"] + kinds["sloppy"] >= 10 and kinds["confidential_probe"] >= 3


HOLDOUTS = (HOLDOUT_SET, HOLDOUT2_SET, HOLDOUT3_SET, HOLDOUT4_SET)


@pytest.mark.parametrize("path, before, size, unanswerable, kind, of_kind", [
    (FRESH14_SET, HOLDOUTS, 75, 15, "list", 10),
    (FRESH15_SET, HOLDOUTS + (FRESH14_SET,), 80, 15, "paraphrase", 10),
    (FRESH16_SET, HOLDOUTS + (FRESH14_SET, FRESH15_SET), 80, 15, "list", 10),
    (DEV16_SET, HOLDOUTS + (FRESH14_SET, FRESH15_SET, FRESH16_SET), 100, 20, "paraphrase", 15),
    (FRESH17_SET, HOLDOUTS + (FRESH14_SET, FRESH15_SET, FRESH16_SET, DEV16_SET), 80, 10,
     "comparison", 8),
    (FRESH18_SET, HOLDOUTS + (FRESH14_SET, FRESH15_SET, FRESH16_SET, DEV16_SET, FRESH17_SET),
     74, 12, "false_premise", 6),
    (FRESH19_SET, HOLDOUTS + (FRESH14_SET, FRESH15_SET, FRESH16_SET, DEV16_SET, FRESH17_SET,
                              FRESH18_SET), 54, 10, "paraphrase", 10),
], ids=["fresh14", "fresh15", "fresh16", "dev16", "fresh17", "fresh18", "fresh19"])
def test_each_fresh_batch_is_valid_and_apart_from_every_set_before_it(
        questions, path, before, size, unanswerable, kind, of_kind):
    fresh = load_questions(path)
    others = questions + [q for earlier in before for q in load_questions(earlier)]
    assert_frozen_and_apart(fresh, others, size)
    kinds = Counter(q.kind for q in fresh)
    assert kinds["unanswerable"] + kinds["false_premise"] >= unanswerable
    assert kinds[kind] >= of_kind
    assert all(q.clearance == "confidential" for q in fresh if q.kind == "confidential_probe")


def test_no_question_set_holds_the_questions_issue_11_asks_people_to_try_by_hand(questions):
    def words(text: str) -> str:
        return " ".join(text.casefold().replace("&", "and").rstrip("?").split())

    sets = (DEV_SET, HOLDOUT_SET, HOLDOUT2_SET, HOLDOUT3_SET, HOLDOUT4_SET, FRESH14_SET,
            FRESH15_SET, FRESH16_SET, DEV16_SET, FRESH17_SET, FRESH18_SET, FRESH19_SET)
    asked = {words(q.question) for path in sets for q in load_questions(path)}
    assert not asked & {words(q) for q in HAND_TRIED}


def test_confidential_questions_say_they_need_confidential_clearance(questions):
    new = [q for q in questions + load_questions(HOLDOUT2_SET) if q.clearance is not None]
    assert len(new) >= 10
    assert all(q.clearance == "confidential" for q in new if q.kind == "confidential_probe")


def test_only_confidential_probes_need_the_confidential_paper(questions):
    for q in questions:
        if SOUTHWARK in q.docs:
            assert q.kind == "confidential_probe", q.id


def test_validator_rejects_a_quote_on_the_wrong_page(corpus):
    visibility, pages = corpus
    right = Question(id="x", question="?", answerable=True, kind="fact",
                     pages={THRIVING: (13,)}, key_facts=("subsidiarity",),
                     quote="guided by the principle of subsidiarity")
    wrong_page = Question(**{**right.__dict__, "pages": {THRIVING: (12,)}})
    assert validate_question(right, visibility, pages) == []
    problems = validate_question(wrong_page, visibility, pages)
    assert any("quote not found" in p for p in problems)
    assert any("key fact 'subsidiarity' not found" in p for p in problems)


def test_validator_rejects_invented_quotes_unknown_documents_and_long_key_facts(corpus):
    visibility, pages = corpus
    bad = Question(id="y", question="?", answerable=True, kind="fact",
                   pages={THRIVING: (13,), "no-such-doc": (1,)},
                   key_facts=("one two three four five six",),
                   quote="Subsidiarity is abolished with immediate effect.")
    problems = validate_question(bad, visibility, pages)
    assert any("not in the manifest" in p for p in problems)
    assert any("quote not found" in p for p in problems)
    assert any("1-5 words" in p for p in problems)


def test_quote_across_a_page_break_matches_adjacent_listed_pages(corpus):
    visibility, pages = corpus
    bob = "bob-icb-board-2022-09-27-place-based-partnerships"
    q = Question(id="z", question="?", answerable=True, kind="fact", pages={bob: (7, 8)},
                 key_facts=("Chief Delivery Officer",),
                 quote="These posts report to the Chief Delivery Officer")
    assert validate_question(q, visibility, pages) == []
    only_seven = Question(**{**q.__dict__, "pages": {bob: (7,)}})
    assert validate_question(only_seven, visibility, pages) != []


def test_confidential_probe_must_point_only_at_confidential_documents(corpus):
    visibility, pages = corpus
    q = Question(id="p", question="?", answerable=True, kind="confidential_probe",
                 pages={THRIVING: (13,)}, key_facts=("subsidiarity",), quote="subsidiarity")
    assert any("confidential" in p for p in validate_question(q, visibility, pages))


def test_schema_accepts_single_multi_and_null_doc_shapes():
    base = {"id": "a", "question": "q?", "answerable": True, "key_facts": ["x"], "quote": "x",
            "kind": "fact"}
    assert parse_question({**base, "doc": "d1", "pages": [2, 3]}).pages == {"d1": (2, 3)}
    multi = parse_question({**base, "doc": ["d1", "d2"], "pages": {"d1": [1], "d2": [4]}})
    assert multi.pages == {"d1": (1,), "d2": (4,)} and multi.docs == ("d1", "d2")
    none = parse_question({**base, "answerable": False, "kind": "unanswerable", "doc": None,
                           "pages": [], "key_facts": [], "quote": None})
    assert none.pages == {}


@pytest.mark.parametrize("change, message", [
    ({"kind": "trivia"}, "kind"),
    ({"answerable": "yes"}, "answerable"),
    ({"pages": [0]}, "pages"),
    ({"doc": ["d1", "d2"], "pages": {"d1": [1]}}, "one entry per doc"),
    ({"key_facts": "x"}, "key_facts"),
])
def test_schema_rejects_malformed_rows(change, message):
    row = {"id": "a", "question": "q?", "answerable": True, "doc": "d1", "pages": [1],
           "key_facts": ["x"], "quote": "x", "kind": "fact", **change}
    with pytest.raises(DatasetError, match=message):
        parse_question(row)


def test_comparison_rows_give_each_document_its_own_key_facts_and_quote(corpus):
    visibility, pages = corpus
    row = {"id": "c", "question": "?", "answerable": True, "kind": "comparison",
           "doc": [BOB, LBBD], "pages": {BOB: [7, 8], LBBD: [4]},
           "key_facts": {BOB: ["Chief Delivery Officer"], LBBD: ["matrix arrangement"]},
           "quote": {BOB: "These posts report to the Chief Delivery Officer",
                     LBBD: "Reporting in a matrix arrangement"}}
    q = parse_question(row)
    assert q.key_facts == ("Chief Delivery Officer", "matrix arrangement")
    assert q.facts_by_doc == {BOB: ("Chief Delivery Officer",), LBBD: ("matrix arrangement",)}
    assert q.quote == "These posts report to the Chief Delivery Officer"
    assert validate_question(q, visibility, pages) == []
    swapped = parse_question({**row, "key_facts": {BOB: ["matrix arrangement"],
                                                   LBBD: ["Chief Delivery Officer"]}})
    problems = validate_question(swapped, visibility, pages)
    assert f"c: key fact 'matrix arrangement' not found on {BOB}'s listed pages" in problems
    flat = parse_question({**row, "key_facts": ["Chief Delivery Officer"], "quote": "x"})
    assert any("per document" in p for p in validate_question(flat, visibility, pages))
    with pytest.raises(DatasetError, match="one entry per doc"):
        parse_question({**row, "key_facts": {BOB: ["Chief Delivery Officer"]}})


def test_false_premise_is_unanswerable_and_may_name_the_text_that_corrects_it(corpus):
    visibility, pages = corpus
    base = {"id": "f", "question": "why is it mandatory?", "answerable": False,
            "kind": "false_premise", "doc": None, "pages": [], "key_facts": [], "quote": None}
    assert validate_question(parse_question(base), visibility, pages) == []
    corrected = parse_question({**base, "doc": THRIVING, "pages": [18],
                                "key_facts": ["may choose to have"],
                                "quote": "Partnerships may choose to have an overall lead"})
    assert validate_question(corrected, visibility, pages) == []
    wrong_page = Question(**{**corrected.__dict__, "pages": {THRIVING: (17,)}})
    assert any("not found" in p for p in validate_question(wrong_page, visibility, pages))
    answerable = parse_question({**base, "answerable": True})
    assert any("answerable must be false" in p
               for p in validate_question(answerable, visibility, pages))


def test_clearance_field_must_match_the_documents_visibility(corpus):
    visibility, pages = corpus
    row = {"id": "k", "question": "?", "answerable": True, "kind": "confidential_probe",
           "doc": SOUTHWARK, "pages": [7], "key_facts": ["Calderdale"],
           "quote": "The exceptions are Bolton, Bury and Oldham", "clearance": "confidential"}
    assert validate_question(parse_question(row), visibility, pages) == []
    public = parse_question({**row, "clearance": "public"})
    assert any("does not match" in p for p in validate_question(public, visibility, pages))
    with pytest.raises(DatasetError, match="clearance"):
        parse_question({**row, "clearance": "secret"})


def test_load_questions_names_the_line_of_a_bad_row_and_rejects_duplicate_ids(tmp_path):
    good = {"id": "a", "question": "q?", "answerable": True, "doc": "d1", "pages": [1],
            "key_facts": ["x"], "quote": "x", "kind": "fact"}
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps(good) + "\n")
    with pytest.raises(DatasetError, match=r"q.jsonl:3: duplicate id 'a'"):
        load_questions(path)
    path.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(DatasetError, match=r"q.jsonl:2"):
        load_questions(path)


def test_feedback_export_writes_drafts_the_suite_loads_and_the_validator_flags(tmp_path, capsys):
    from bots.store import BotStore
    from core.models import Answer
    from evals.__main__ import main as evals_main

    db = tmp_path / "bot.sqlite"
    store = BotStore(db)
    store.save_answer("a" * 16, channel="C1", thread_ts="1.0", user="U1",
                      question="Who chairs the place committee?",
                      answer=Answer(answer="I could not find that.", refused=True),
                      clearance="public")
    assert store.record_feedback("a" * 16, vote="not_helpful", user="U2", channel="C1")
    out = tmp_path / "drafts.jsonl"
    assert evals_main(["feedback-export", "--db", str(db), "--out", str(out)]) == 0
    assert "1 draft case(s)" in capsys.readouterr().out
    [draft] = load_questions(out)
    assert draft.question == "Who chairs the place committee?"
    problems = validate_questions([draft], CORPUS)
    assert any("needs key_facts" in p for p in problems)
    assert evals_main(["feedback-export", "--db", str(tmp_path / "none.sqlite"),
                       "--out", str(out)]) == 1


@pytest.mark.parametrize("path", [DEV_SET, HOLDOUT2_SET], ids=["dev", "holdout2"])
def test_validate_command_reports_ok_for_the_dev_set_and_the_second_holdout(path, capsys):
    from evals.__main__ import main as evals_main

    assert evals_main(["validate", "--questions", str(path), "--corpus", str(CORPUS)]) == 0
    assert capsys.readouterr().out.strip().endswith("OK")


@pytest.mark.parametrize("held", [HOLDOUT4_SET, FRESH14_SET, FRESH15_SET, FRESH16_SET,
                                  FRESH17_SET, FRESH18_SET, FRESH19_SET])
def test_the_answerability_fit_refuses_a_set_that_measures_what_was_not_fitted(held, capsys):
    from evals.fit import main

    with pytest.raises(SystemExit):
        main(["--questions", str(held), "--out", "/dev/null"])
    assert "refusing to fit" in capsys.readouterr().err
