"""The eval report reads at a glance: labelled bars with n/a apart from zero, one latency panel
per series, a failures table with titles, pages and ellipses, the run's settings named; and
`compare --html` side by side. Both pages are screenshotted in headless Chromium
(build/screenshots/eval-*.png)."""
from __future__ import annotations

import pytest

from evals.__main__ import main as evals_main
from evals.report import bar_colours, bar_label, report_html, shorten, write_report
from evals.run import gate_checks, load_thresholds
from test_eval_gate import FakeAssistant, _run
from test_widget_browser import SCREENSHOTS, browser

__all__ = ["browser"]  # the headless Chromium fixture
TITLES = {"guide": "Thriving places: guidance on the development of place-based partnerships",
          "secret": "Strategic options analysis"}
SETTINGS = {"answerer": "extractive", "embedder": "hash", "top_k": 8, "refusal_threshold": 0.365}


def results(leaky: bool = False) -> dict:
    run = _run(FakeAssistant(leaky=leaky), baselines=True)
    run["meta"].update(questions_file="evals/data/dev.jsonl", titles=TITLES, settings=SETTINGS)
    probe = next(c for c in run["runs"]["public"]["cases"] if c["id"] == "s1")
    probe["id"] = "slack-3f2a9c1d7e5b-confidential-probe-with-a-very-long-identifier"
    probe["answer"] = "The allocation is described at length. " * 20
    return run


def test_bar_labels_tell_not_applicable_from_zero():
    assert [bar_label(v) for v in (None, 0.0, 0.5, 1.0)] == ["n/a", "0.00", "0.50", "1.00"]


def test_every_question_kind_gets_its_own_bar_colour():
    from evals.dataset import KINDS

    assert len(set(bar_colours(len(KINDS)))) == len(KINDS)
    assert len(set(bar_colours(3))) == 3


def test_shorten_cuts_at_a_word_with_an_ellipsis():
    assert shorten("one two three four", 12) == "one two…"
    assert shorten("short", 12) == "short"


def test_report_names_the_question_file_and_the_settings():
    run = results(leaky=True)
    page = report_html(run, {}, gate_checks(run, load_thresholds()))
    for text in ("question file", "evals/data/dev.jsonl", "refusal threshold", "0.365",
                 "answerer", "extractive", "baselines"):
        assert text in page, text


def test_a_set_the_gate_is_not_run_on_shows_its_thresholds_for_reference():
    run = results(leaky=True)
    gate = gate_checks(run, load_thresholds())
    assert not all(check.passed for check in gate)
    gated = report_html(run, {}, gate)
    assert "<h2>Gate</h2>" in gated and "class=bad" in gated
    run["meta"]["gated"] = False  # a holdout or a fresh batch: CI gates the dev set only
    page = report_html(run, {}, gate)
    assert "<h2>Gate thresholds, for reference (CI gates the dev set only)</h2>" in page
    assert "class=bad" not in page and "class=ref" in page


def test_failures_are_readable_titles_pages_and_ellipses():
    page = report_html(results(leaky=True), {})
    failures = page.split("<h2>Failures (public)", 1)[1]
    assert "Strategic options analysis p. 4" in failures  # title p. N, not an id or a list
    assert "Strategic options analysis: [1] p. 4" in failures
    assert "['secret', 4]" not in failures
    assert "…" in failures and "The allocation is described at length. " * 10 not in failures
    assert "class=id" in failures


def test_not_applicable_figures_read_n_a(tmp_path):
    run = results()
    assert run["runs"]["confidential"]["overall"]["refusal_rate_hidden"] is None
    page = write_report(run, tmp_path).read_text()
    assert "<td class='num na'>n/a</td>" in page
    assert (tmp_path / "latency.png").stat().st_size > 10_000


@pytest.mark.browser
def test_report_and_comparison_in_chromium(browser, tmp_path):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    a, b = tmp_path / "a", tmp_path / "b"
    write_report(results(), a, gate_checks(results(), load_thresholds()))
    write_report(results(leaky=True), b)
    assert evals_main(["compare", str(a), str(b), "--html"]) == 0
    for name, page in (("eval-report", b / "report.html"), ("eval-compare", b / "compare.html")):
        browser.set_window_size(1280, 900)
        browser.get(page.as_uri())
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1280, min(height + 40, 8000))
        browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 20_000
        # Nothing sticks out sideways: long ids wrap instead of widening the table.
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth"), name
        images = browser.execute_script(
            "return [...document.images].map(i => i.complete && i.naturalWidth > 0)")
        assert images and all(images), name
    compare = (b / "compare.html").read_text()
    assert "class='num worse'>+1</td>" in compare  # a leak appeared: B is worse
    assert compare.count("<h4>A</h4>") == compare.count("<h4>B</h4>") >= 3


@pytest.mark.parametrize("flag", [[], ["--html"]])
def test_compare_prints_deltas_and_writes_html_only_when_asked(tmp_path, capsys, flag):
    write_report(results(), tmp_path / "a")
    write_report(results(leaky=True), tmp_path / "b")
    assert evals_main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), *flag]) == 0
    assert "| confidential_leaks | 0 | 1 | +1 |" in capsys.readouterr().out
    assert (tmp_path / "b" / "compare.html").exists() is bool(flag)
