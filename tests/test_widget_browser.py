"""The demo page's widget in real headless Chromium (Debian chromium + chromium-driver, selenium)."""
from __future__ import annotations

import shutil
import pytest

from api_server import api_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["api_server"]  # the fixture, imported so pytest finds it

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1400"]
WAIT_S = 60


@pytest.fixture
def browser(tmp_path):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail("chromium and chromedriver are needed: apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER,
                                              log_output=str(tmp_path / "chromedriver.log")),
                              options=options)
    driver.set_page_load_timeout(WAIT_S)
    yield driver
    driver.quit()


def ask_in_widget(driver, base_url: str, question: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(base_url + "/")
    box = WebDriverWait(driver, WAIT_S).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#assistant .ga-input")))
    # Count streamed deltas and remember the answer text as it was mid-stream.
    driver.execute_script("""
        window.gaDeltas = 0; window.gaFinal = null;
        var root = document.querySelector('#assistant');
        root.addEventListener('guidance:delta', function () { window.gaDeltas += 1; });
        root.addEventListener('guidance:final', function (e) { window.gaFinal = e.detail; });
    """)
    box.send_keys(question)
    driver.find_element(By.CSS_SELECTOR, "#assistant .ga-button").click()
    WebDriverWait(driver, WAIT_S).until(lambda d: d.execute_script(
        "return window.gaFinal !== null || !!document.querySelector('#assistant .ga-error')"))


def test_demo_page_streams_a_cited_answer_with_pdf_links(api_server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    ask_in_widget(browser, api_server.base_url, "What is a place-based partnership?")
    browser.save_screenshot(str(tmp_path / "widget-answer.png"))
    assert not browser.find_elements(By.CSS_SELECTOR, "#assistant .ga-error")
    assert browser.execute_script("return window.gaDeltas") >= 1  # the text arrived streamed
    final = browser.execute_script("return window.gaFinal")
    assert final["citations"] and not final["refused"]

    markers = browser.find_elements(By.CSS_SELECTOR, "#assistant .ga-answer a.ga-cite")
    sources = browser.find_elements(By.CSS_SELECTOR, "#assistant .ga-sources li.ga-source")
    assert len(markers) >= 1 and len(sources) == len(final["citations"])
    for citation in final["citations"]:
        expected = (f"{api_server.base_url}/v1/documents/{citation['doc_id']}/pdf"
                    f"#page={citation['page']}")
        source = browser.find_element(
            By.CSS_SELECTOR, f"#assistant li.ga-source[data-n='{citation['n']}'] a")
        assert source.get_attribute("href") == expected
        assert citation["title"] in source.text
        for marker in browser.find_elements(
                By.CSS_SELECTOR, f"#assistant a.ga-cite[data-n='{citation['n']}']"):
            assert marker.text == f"[{citation['n']}]"
            assert marker.get_attribute("href") == expected
    assert (tmp_path / "widget-answer.png").stat().st_size > 10_000

    # The first marker's link really serves that PDF to this browser.
    served = browser.execute_async_script("""
        var done = arguments[arguments.length - 1];
        fetch(arguments[0].href.split('#')[0])
            .then(function (r) { done(r.status + ' ' + r.headers.get('content-type')); })
            .catch(function (e) { done(String(e)); });
    """, markers[0])
    assert served == "200 application/pdf"

def test_demo_page_shows_not_covered_for_an_off_topic_question(api_server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    ask_in_widget(browser, api_server.base_url, "What will the weather be in Paris tomorrow?")
    browser.save_screenshot(str(tmp_path / "widget-not-covered.png"))
    box = browser.find_element(By.CSS_SELECTOR, "#assistant .ga-not-covered")
    assert box.is_displayed() and "Not covered" in box.text
    assert not browser.find_elements(By.CSS_SELECTOR, "#assistant .ga-sources")
    closest = box.find_elements(By.CSS_SELECTOR, "a.ga-doc")
    assert closest and all("southwark" not in a.get_attribute("href") for a in closest)
