"""The eval gate: the dev set, run in-process on a fresh index of the real corpus, meets
evals/thresholds.toml; each threshold is its own test and its message shows the figure."""
from __future__ import annotations

import json

import pytest

from core.models import Answer, Chunk, Citation, DocumentRef, Hit
from core.settings import Settings
from evals.__main__ import main as evals_main
from evals.dataset import DEV_SET, Question, load_questions, read_manifest
from evals.run import (InProcessBackend, gate_checks, leak_markers, load_thresholds,
                       run_suite)


@pytest.fixture(scope="module")
def checks(indexed_settings: Settings, tmp_path_factory: pytest.TempPathFactory):
    from assistant.service import build_assistant
    from evals.report import write_report

    settings = indexed_settings
    questions = load_questions(DEV_SET)
    visibility = read_manifest(settings.corpus_dir, settings.manifest_name)
    results = run_suite(questions, InProcessBackend(build_assistant(settings)),
                        ["public", "confidential"], visibility=visibility,
                        markers=leak_markers(questions, settings.corpus_dir, visibility),
                        progress=False, questions_file=str(DEV_SET))
    gate = gate_checks(results, load_thresholds())
    write_report(results, tmp_path_factory.mktemp("eval-gate"), gate)  # the report must build too
    return gate


def _named(checks, name: str):
    found = [c for c in checks if c.name == name]
    assert found, f"{name}: no figure (missing from evals/thresholds.toml or no run)"
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", ["max_confidential_leaks", "min_hit_at_5_page",
                                  "min_refusal_unanswerable", "min_key_fact_recall",
                                  "min_answered_rate", "min_citation_page_precision"])
def test_dev_set_meets_each_gate_threshold(checks, name):
    """No confidential leak under public clearance; hit@5 (doc, page), refusal of the
    unanswerable, key-fact recall, answered rate and citation page precision at or above
    evals/thresholds.toml, per clearance."""
    for check in _named(checks, name):
        assert check.passed, check.message


# --- The runner and the gate on a small fake assistant (fast, no index needed) ---------------

GUIDE, SECRET = "guide", "secret"
VISIBILITY = {GUIDE: "public", SECRET: "confidential"}
QUESTIONS = [
    Question("g1", "What guides the split between system and place?", True, "fact",
             {GUIDE: (13,)}, ("subsidiarity",), "subsidiarity"),
    Question("s1", "How much is the allocation?", True, "confidential_probe",
             {SECRET: (4,)}, ("£145 million",), "£145 million"),
    Question("n1", "What is the parking policy?", False, "unanswerable", {}, (), None),
]


def _chunk(doc_id: str, page: int, text: str) -> Chunk:
    return Chunk(id=f"{doc_id}-{page}", doc_id=doc_id, title=doc_id, organisation="", date="",
                 doc_type="", visibility=VISIBILITY[doc_id], page_start=page, page_end=page,
                 section="", ordinal=0, text=text, content_hash="")


class FakeRetriever:
    rescore = True


class FakeAssistant:
    """Answers from a fixed table; `leaky` shows the confidential paper to everyone."""

    def __init__(self, leaky: bool = False) -> None:
        self.leaky, self.retriever = leaky, FakeRetriever()
        self.table = {"g1": _chunk(GUIDE, 13, "Decisions follow the principle of subsidiarity."),
                      "s1": _chunk(SECRET, 4, "There is £145 million 'allocation' in 2022/23.")}

    def _chunk_for(self, question: str, clearance: str) -> Chunk | None:
        key = {q.question: q.id for q in QUESTIONS}[question]
        chunk = self.table.get(key)
        if chunk and chunk.visibility == "confidential" and clearance == "public" and not self.leaky:
            return None
        return chunk

    def search(self, query, clearance, top_k=8, mode="hybrid"):
        chunk = self._chunk_for(query, clearance)
        filler = _chunk(GUIDE, 1, "Thriving places")
        if mode == "keyword" or not self.retriever.rescore:  # baselines rank the gold lower
            return [Hit(filler, 1.0)] + ([Hit(chunk, 0.5)] if chunk else [])
        return ([Hit(chunk, 1.0)] if chunk else []) + [Hit(filler, 0.5)]

    def ask(self, question, clearance, history=()):
        chunk = self._chunk_for(question, clearance)
        if chunk is None:
            return Answer(answer="I could not find that.", refused=True,
                          closest_documents=[DocumentRef(doc_id=GUIDE, title=GUIDE)])
        return Answer(answer=chunk.text + " [1]", citations=[Citation(
            n=1, doc_id=chunk.doc_id, title=chunk.title, page=chunk.page_start, section="",
            quote=chunk.text)])


def _run(assistant, baselines=False):
    return run_suite(QUESTIONS, InProcessBackend(assistant), ["public", "confidential"],
                     visibility=VISIBILITY, markers=["£145 million"], baselines=baselines,
                     progress=False)


def test_runner_scores_a_correct_assistant_perfectly_and_passes_the_gate():
    results = _run(FakeAssistant(), baselines=True)
    public, confidential = results["runs"]["public"], results["runs"]["confidential"]
    assert public["overall"]["hit@1_page"] == 1.0
    assert public["overall"]["key_fact_recall"] == 1.0
    assert public["overall"]["refusal_rate_unanswerable"] == 1.0
    assert public["overall"]["refusal_rate_hidden"] == 1.0  # the probe, without clearance
    assert public["overall"]["confidential_leaks"] == 0
    assert confidential["overall"]["confidential_probe_fact_recall"] == 1.0
    assert confidential["by_kind"]["confidential_probe"]["hit@1_doc"] == 1.0
    keyword = public["baselines"]["keyword"]["overall"]
    assert (keyword["hit@1_page"], keyword["hit@3_page"], keyword["mrr_page"]) == (0.0, 1.0, 0.5)
    assert public["baselines"]["hybrid-no-rescore"]["overall"]["hit@1_page"] == 0.0
    assert public["baselines"]["hybrid"]["overall"]["hit@1_page"] == 1.0
    assert all(c.passed for c in gate_checks(results, load_thresholds())), gate_checks(
        results, load_thresholds())


def test_a_leaking_assistant_fails_the_gate_and_names_the_leak():
    results = _run(FakeAssistant(leaky=True))
    probe = next(c for c in results["runs"]["public"]["cases"] if c["id"] == "s1")
    assert probe["leaks"] == ["doc secret", "fact '£145 million'"]
    failed = [c for c in gate_checks(results, load_thresholds()) if not c.passed]
    assert [c.name for c in failed] == ["max_confidential_leaks"]
    assert "max_confidential_leaks [public]: 1 (needs <= 0) FAILED" == failed[0].message


def test_an_assistant_that_errors_is_recorded_per_question_and_fails_the_gate():
    class Broken(FakeAssistant):
        def ask(self, question, clearance, history=()):
            raise RuntimeError("index not ready")

    results = _run(Broken())
    overall = results["runs"]["public"]["overall"]
    assert overall["errors"] == 3
    assert results["runs"]["public"]["cases"][0]["error"] == "RuntimeError: index not ready"
    assert not any(c.passed for c in gate_checks(results, load_thresholds())
                   if c.name != "max_confidential_leaks")


def test_gate_checks_compare_each_figure_with_its_threshold():
    results = {"runs": {"public": {"overall": {"confidential_leaks": 0, "hit@5_page": 0.84,
                                               "refusal_rate_unanswerable": 0.8,
                                               "key_fact_recall": None}}}}
    checks = {c.name: c for c in gate_checks(results, {
        "max_confidential_leaks": 0, "min_hit_at_5_page": 0.85, "min_refusal_unanswerable": 0.8,
        "min_key_fact_recall": 0.6})}
    assert checks["max_confidential_leaks"].passed
    assert not checks["min_hit_at_5_page"].passed
    assert "0.840 (needs >= 0.85) FAILED" in checks["min_hit_at_5_page"].message
    assert checks["min_refusal_unanswerable"].passed
    assert not checks["min_key_fact_recall"].passed  # a missing figure never passes


def test_thresholds_file_holds_the_agreed_gate():
    assert load_thresholds() == {
        "max_confidential_leaks": 0, "min_hit_at_5_page": 0.95, "min_refusal_unanswerable": 0.85,
        "min_key_fact_recall": 0.77, "min_answered_rate": 0.94,
        "min_citation_page_precision": 0.74, "clearances": ["public", "confidential"]}


def test_report_and_compare_are_written_from_a_run(tmp_path, capsys):
    from evals.report import write_report

    results = _run(FakeAssistant(), baselines=True)
    write_report(results, tmp_path / "a", gate_checks(results, load_thresholds()))
    worse = _run(FakeAssistant(leaky=True))
    write_report(worse, tmp_path / "b")
    for name in ("results.json", "summary.md", "report.html", "latency.png",
                 "kinds-public.png", "baselines-public.png"):
        assert (tmp_path / "a" / name).stat().st_size > 0, name
    assert json.loads((tmp_path / "a" / "results.json").read_text())["meta"]["questions"] == 3
    summary = (tmp_path / "b" / "summary.md").read_text()
    assert "LEAK doc secret" in summary and "| s1 | confidential_probe |" in summary
    assert evals_main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    assert "| confidential_leaks | 0 | 1 | +1 |" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["run"], ["compare"], ["validate"], ["feedback-export"]])
def test_every_evals_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        evals_main([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: python -m evals" in capsys.readouterr().out
