"""The demo page's widget in real headless Chromium (Debian chromium + chromium-driver, selenium),
checked with axe-core (npm, installed by `make axe`); screenshots land in build/screenshots/."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from api_server import REPO, ApiServer, api_server, api_settings
from core.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["api_server"]  # the fixture, imported so pytest finds it

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
AXE = REPO / "build" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / "build" / "screenshots"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1400", "--hide-scrollbars"]
WAIT_S = 60
LIST_QUESTION = "What is the role of the Place Partnership Lead?"
NOTICE_QUESTION = "What is the salary band of the Place Partnership Lead?"
OFF_TOPIC = "What will the weather be in Paris tomorrow?"


@pytest.fixture
def browser(tmp_path):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail("chromium and chromedriver are needed: apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for flag in FLAGS + [f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER,
                                              log_output=str(tmp_path / "chromedriver.log")),
                              options=options)
    driver.set_page_load_timeout(WAIT_S)
    yield driver
    driver.quit()


def by_css(driver, selector: str) -> list:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def open_demo(driver, base_url: str) -> None:
    """Load the page and record what the widget sends and receives."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(base_url + "/")
    WebDriverWait(driver, WAIT_S).until(lambda d: by_css(d, "#assistant .ga-input"))
    driver.execute_script("""
        window.gaDeltas = 0; window.gaFinals = []; window.gaBodies = [];
        var root = document.querySelector('#assistant');
        root.addEventListener('guidance:delta', function () { window.gaDeltas += 1; });
        root.addEventListener('guidance:final', function (e) { window.gaFinals.push(e.detail); });
        var realFetch = window.fetch;
        window.fetch = function (url, init) {
            if (init && init.body) window.gaBodies.push(JSON.parse(init.body));
            return realFetch.apply(this, arguments);
        };
    """)


def ask(driver, question: str, submit_with_enter: bool = False) -> dict:
    """Type a question, send it, wait for the final answer; returns the Answer the API gave."""
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    before = driver.execute_script("return window.gaFinals.length")
    box = by_css(driver, "#assistant .ga-input")[0]
    box.send_keys(question)
    if submit_with_enter:
        box.send_keys(Keys.ENTER)
    else:
        by_css(driver, "#assistant .ga-button")[0].click()
    WebDriverWait(driver, WAIT_S).until(lambda d: d.execute_script(
        "return window.gaFinals.length > arguments[0] || "
        "!!document.querySelector('#assistant .ga-error')", before))
    assert not by_css(driver, "#assistant .ga-error"), by_css(driver, "#assistant .ga-error")[0].text
    return driver.execute_script("return window.gaFinals[window.gaFinals.length - 1]")


def last_turn(driver):
    return by_css(driver, "#assistant .ga-turn")[-1]


def run_axe(driver) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make axe` (npm install axe-core)")
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script("""
        var done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ['violations']})
            .then(function (r) { done(r.violations); })
            .catch(function (e) { done(String(e)); });
    """)
    assert isinstance(result, list), result
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["html"][:160] for n in v["nodes"][:3]]}
            for v in result if v["impact"] in ("serious", "critical")]


def screenshot(driver, name: str, width: int) -> Path:
    """A full-height PNG of the page at this viewport width, kept as a test artefact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(width, 900)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height + 40, 600), 6000))
    driver.execute_script("window.scrollTo(0, 0)")
    path = SCREENSHOTS / f"{name}-{width}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    for number, turn in enumerate(by_css(driver, "#assistant .ga-turn"), 1):  # easier to look at
        turn.screenshot(str(SCREENSHOTS / f"{name}-{width}-turn{number}.png"))
    return path


# ---- a conversation --------------------------------------------------------------------------

def test_turns_stay_and_new_conversation_clears_them_and_the_history(api_server, browser):
    open_demo(browser, api_server.base_url)
    reset = by_css(browser, "#assistant .ga-reset")[0]
    assert not reset.is_displayed()  # nothing to clear yet
    first = ask(browser, "What is a place-based partnership?")
    second = ask(browser, "Who leads it?")
    turns = by_css(browser, "#assistant .ga-turn")
    assert [t.find_elements("css selector", ".ga-question")[0].text for t in turns] == [
        "What is a place-based partnership?", "Who leads it?"]
    assert browser.execute_script("return window.gaDeltas") >= 2  # both arrived streamed
    bodies = browser.execute_script("return window.gaBodies")
    assert bodies[0]["history"] == []
    assert bodies[1]["history"] == [
        {"role": "user", "content": "What is a place-based partnership?"},
        {"role": "assistant", "content": first["answer"]}]
    assert second["answer"]
    assert by_css(browser, "#assistant .ga-answer[aria-busy]") == []  # announced when final

    assert reset.is_displayed()
    reset.click()
    assert by_css(browser, "#assistant .ga-turn") == []
    assert by_css(browser, "#assistant .ga-examples")[0].is_displayed()  # the intro is back
    assert browser.switch_to.active_element == by_css(browser, "#assistant .ga-input")[0]
    ask(browser, "What is a place-based partnership?")
    assert browser.execute_script("return window.gaBodies")[-1]["history"] == []
    assert len(by_css(browser, "#assistant .ga-turn")) == 1


# ---- answers, markers and sources --------------------------------------------------------------

def test_answer_is_rendered_from_parts_with_a_real_list(api_server, browser):
    open_demo(browser, api_server.base_url)
    answer = ask(browser, LIST_QUESTION)
    assert not answer["refused"] and answer["parts"]
    turn = last_turn(browser)
    items = [p for p in answer["parts"] if p["kind"] == "item"]
    sentences = [p for p in answer["parts"] if p["kind"] == "sentence"]
    rendered_items = turn.find_elements("css selector", ".ga-answer ul > li.ga-item")
    assert len(rendered_items) == len(items) and items, "this question's answer has list items"
    for part, item in zip(items, rendered_items):
        assert item.text.startswith(part["text"])
        assert not item.text.startswith("- ")
    assert len(turn.find_elements("css selector", ".ga-answer .ga-part")) == len(sentences)
    markers = turn.find_elements("css selector", ".ga-answer a.ga-cite")
    assert [m.text for m in markers] == [f"[{n}]" for p in answer["parts"] for n in p["citations"]]
    # No marker is left as literal text: every "[n]" on screen is a link.
    plain = browser.execute_script("""
        var answer = arguments[0].querySelector('.ga-answer'), text = '';
        var walker = document.createTreeWalker(answer, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) if (!walker.currentNode.parentElement.closest('a')) text += walker.currentNode.data;
        return text;""", turn)
    assert "[" not in plain


def test_each_line_of_the_answer_is_its_own_paragraph(api_server, browser):
    """A cover sheet's fields are quoted one per line: on screen too, not run together."""
    open_demo(browser, api_server.base_url)
    answer = ask(browser, "bob pbp paper - agenda item no, board date, and which exec cttee saw it first?")
    lines = [line for line in answer["answer"].split("\n") if not line.lstrip().startswith("- ")]
    assert len(lines) >= 3, answer["answer"]
    paragraphs = last_turn(browser).find_elements("css selector", ".ga-answer p.ga-sentence")
    assert len(paragraphs) == len(lines)
    for line, paragraph in zip(lines, paragraphs):
        assert line.startswith(paragraph.text.split("[")[0].strip())


def test_markers_jump_to_their_source_grouped_per_document(api_server, browser):
    open_demo(browser, api_server.base_url)
    answer = ask(browser, "What is a place-based partnership?")
    turn = last_turn(browser)
    citations = {c["n"]: c for c in answer["citations"]}
    groups = turn.find_elements("css selector", ".ga-sources li.ga-doc")
    assert [g.get_attribute("data-doc-id") for g in groups] == list(dict.fromkeys(
        c["doc_id"] for c in sorted(answer["citations"], key=lambda c: c["n"])))
    entries = turn.find_elements("css selector", ".ga-sources li.ga-source")
    keys = []
    for entry in entries:
        numbers = [int(n) for n in entry.get_attribute("data-n").split()]
        first = citations[numbers[0]]
        keys.append((first["doc_id"], first["page"], first["section"], first["quote"]))
        link = entry.find_element("css selector", "a.ga-source-link")
        assert link.get_attribute("href") == (f"{api_server.base_url}/v1/documents/"
                                              f"{first['doc_id']}/pdf#page={first['page']}")
        assert link.text == f"page {first['page']}"
        for n in numbers:  # merged entries really are the same source
            c = citations[n]
            assert (c["doc_id"], c["page"], c["section"], c["quote"]) == keys[-1]
    assert len(keys) == len(set(keys))  # no duplicate entries
    assert sorted(int(n) for e in entries for n in e.get_attribute("data-n").split()) == sorted(citations)

    marker = turn.find_elements("css selector", ".ga-answer a.ga-cite")[-1]
    target_id = marker.get_attribute("href").split("#", 1)[1]
    target = browser.find_element("id", target_id)
    assert str(citations[int(marker.get_attribute("data-n"))]["page"]) in target.text
    assert target.find_element("css selector", "details").get_attribute("open") is None
    marker.click()
    assert browser.switch_to.active_element == target
    quote = target.find_element("css selector", "details blockquote")
    assert quote.is_displayed() and quote.text == citations[int(marker.get_attribute("data-n"))]["quote"]

    served = browser.execute_async_script("""
        var done = arguments[arguments.length - 1];
        fetch(arguments[0].href.split('#')[0])
            .then(function (r) { done(r.status + ' ' + r.headers.get('content-type')); })
            .catch(function (e) { done(String(e)); });
    """, turn.find_element("css selector", "a.ga-source-link"))
    assert served == "200 application/pdf"


def test_refusal_shows_the_notice_and_names_each_closest_document_once(api_server, browser):
    open_demo(browser, api_server.base_url)
    answer = ask(browser, NOTICE_QUESTION)
    assert answer["refused"] and answer["notice"] and answer["closest_documents"]
    box = last_turn(browser).find_element("css selector", ".ga-not-covered")
    notice = box.find_element("css selector", ".ga-notice")
    assert notice.text == answer["notice"]
    assert float(notice.value_of_css_property("font-weight")) >= 600
    for doc in answer["closest_documents"]:
        assert box.text.count(doc["title"]) == 1, box.text
    links = box.find_elements("css selector", "a.ga-doc")
    assert [a.get_attribute("data-doc-id") for a in links] == [
        d["doc_id"] for d in answer["closest_documents"]]
    assert not last_turn(browser).find_elements("css selector", ".ga-sources")


def test_off_topic_refusal_offers_only_public_documents(api_server, browser):
    open_demo(browser, api_server.base_url)
    answer = ask(browser, OFF_TOPIC)
    assert answer["refused"]
    closest = last_turn(browser).find_elements("css selector", ".ga-not-covered a.ga-doc")
    assert closest and all("southwark" not in a.get_attribute("href") for a in closest)


def test_examples_and_the_documents_the_caller_can_search(api_server, browser):
    open_demo(browser, api_server.base_url)
    from selenium.webdriver.support.ui import WebDriverWait

    about = WebDriverWait(browser, WAIT_S).until(
        lambda d: [e for e in by_css(d, "#assistant details.ga-about") if e.is_displayed()])[0]
    public = httpx.get(api_server.base_url + "/v1/documents").json()["documents"]
    about.find_element("css selector", "summary").click()
    listed = [li.get_attribute("data-doc-id") for li in about.find_elements("css selector", "li")]
    assert listed == [d["doc_id"] for d in public] and "southwark" not in " ".join(listed)
    assert f"({len(public)} documents)" in about.text
    example = by_css(browser, "#assistant .ga-example")[0]
    question = example.text
    example.click()
    from selenium.webdriver.support.ui import WebDriverWait as Wait

    Wait(browser, WAIT_S).until(lambda d: d.execute_script("return window.gaFinals.length") == 1)
    assert last_turn(browser).find_element("css selector", ".ga-question").text == question
    assert not browser.execute_script("return window.gaFinals[0].refused")


# ---- keyboard, screen readers, looks -------------------------------------------------------------

def test_keyboard_only_ask_and_follow_a_marker(api_server, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    open_demo(browser, api_server.base_url)
    by_css(browser, "#assistant .ga-input")[0].click()
    ask(browser, "What is a place-based partnership?", submit_with_enter=True)
    marker = last_turn(browser).find_elements("css selector", "a.ga-cite")[0]
    assert marker.get_attribute("aria-label").startswith("Source ")
    browser.execute_script("arguments[0].focus()", marker)
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    target = browser.switch_to.active_element
    assert "ga-source" in target.get_attribute("class")
    assert target.find_element("css selector", "details").get_attribute("open") == "true"


def test_no_serious_accessibility_violations_and_screenshots(api_server, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    open_demo(browser, api_server.base_url)
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, WAIT_S).until(
        lambda d: by_css(d, "#assistant details.ga-about")[0].is_displayed())
    browser.execute_script("document.querySelector('#assistant details.ga-about').open = true")
    assert run_axe(browser) == []  # the empty widget, examples and document list
    by_css(browser, "#assistant")[0].screenshot(str(SCREENSHOTS / "widget-start-1280.png"))
    ask(browser, LIST_QUESTION)
    ask(browser, "What is a place-based partnership?")
    first_quote = by_css(browser, "#assistant .ga-source details")[0]
    browser.execute_script("arguments[0].open = true", first_quote)
    ask(browser, NOTICE_QUESTION)
    assert run_axe(browser) == []  # answers, lists, sources, an open quote and a refusal
    shots = [screenshot(browser, "widget-conversation", 1280),
             screenshot(browser, "widget-conversation", 420)]
    # At 420 px nothing sticks out sideways: the page does not scroll horizontally.
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert all(p.exists() for p in shots)


def test_favicon_is_served_locally(api_server):
    page = httpx.get(api_server.base_url + "/").text
    assert 'rel="icon" href="/favicon.svg"' in page
    for path in ("/favicon.svg", "/favicon.ico"):
        response = httpx.get(api_server.base_url + path)
        assert response.status_code == 200 and response.content.startswith(b"<svg")


# ---- a planted "[4]" in a document stays text ----------------------------------------------------

PLANTED = """# Pooled fund guidance

## Community nursing

The pooled fund pays for community nursing teams in every neighbourhood, as table [4] of the
annual plan shows. Community nursing teams visit housebound residents at home and coordinate
their care with general practice. The pooled fund is reviewed by the health and wellbeing board
each spring, and any underspend returns to the partners in proportion to their contributions.
Nursing teams report monthly on visits made, referrals received and waiting times, so that the
board can see where the pooled fund makes a difference and where it does not.
"""


@pytest.fixture(scope="module")
def planted_server(tmp_path_factory):
    from ingest.pipeline import run_ingest

    root = tmp_path_factory.mktemp("planted")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "pooled-fund.md").write_text(PLANTED, encoding="utf-8")
    (corpus / "documents.csv").write_text(
        "file,title,organisation,date,doc_type,visibility,source_url\n"
        "pooled-fund,Pooled fund guidance,Test Borough,2024-01-01,guidance,public,\n")
    settings = Settings(_env_file=None, corpus_dir=corpus, data_dir=root / "data",
                        embedder="minilm", chroma_host=None, llm_base_url=None)
    assert run_ingest(settings, progress=False).ok
    server = ApiServer(api_settings(settings), root / "server.log").start()
    yield server
    server.stop()


def test_a_bracketed_number_in_a_document_is_plain_text(planted_server, browser):
    open_demo(browser, planted_server.base_url)
    answer = ask(browser, "What does the pooled fund pay for?")
    assert not answer["refused"]
    # the source's "[4]" is quoted as "(4)": it reads the same and can never be taken for a marker
    assert any("table (4)" in p["text"] for p in answer["parts"]), json.dumps(answer["parts"])
    turn = last_turn(browser)
    markers = turn.find_elements("css selector", ".ga-answer a.ga-cite")
    assert [m.text for m in markers] == [f"[{n}]" for p in answer["parts"] for n in p["citations"]]
    assert "[4]" not in [m.text for m in markers]
    assert "table (4)" in turn.find_element("css selector", ".ga-answer").text
