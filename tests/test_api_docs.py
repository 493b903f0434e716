"""The API as a newcomer meets it: offline /docs and /redoc, the curl examples of docs/api.md run
for real, links built from the caller's address, the manifest's source_url, and bodies sent
without (or with the wrong) Content-Type."""
from __future__ import annotations

import csv
import re
import subprocess
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx
import pytest

from api_server import CONFIDENTIAL_KEY, PUBLIC_KEY, REPO, ApiServer, api_server, api_settings
from test_widget_browser import browser  # the headless Chromium fixture

pytestmark = pytest.mark.slow
__all__ = ["api_server", "browser"]  # fixtures, imported so pytest finds them

DOCS_BASE = "http://127.0.0.1:8000"


class Assets(HTMLParser):
    """Every script src and link href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


def page_assets(html: str, page_url: str) -> list[str]:
    parser = Assets()
    parser.feed(html)
    inline = re.findall(r"""url:\s*['"]([^'"]+)['"]|spec-url=['"]([^'"]+)['"]""", html)
    return [urljoin(page_url, u) for u in parser.urls + [a or b for a, b in inline]]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_every_asset_from_this_server(api_server, page):
    with api_server.client() as client:
        response = client.get(page)
        assert response.status_code == 200
        assets = page_assets(response.text, api_server.base_url + page)
        assert any(a.endswith(".js") for a in assets), assets
        for url in assets:
            assert url.startswith(api_server.base_url), f"{page} loads {url} from elsewhere"
            assert client.get(url).status_code == 200, url
    assert "cdn" not in response.text.lower()


@pytest.mark.browser
def test_docs_pages_render_in_a_browser_without_internet(api_server, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(api_server.base_url + "/docs")
    operations = WebDriverWait(browser, 60).until(
        lambda d: d.find_elements("css selector", ".swagger-ui .opblock-summary-path"))
    paths = {o.get_attribute("data-path") or o.text for o in operations}
    assert {"/v1/ask", "/v1/documents"} <= paths
    browser.get(api_server.base_url + "/redoc")
    WebDriverWait(browser, 60).until(lambda d: "/v1/ask/stream" in d.find_element(
        "tag name", "body").text)
    # Nothing was fetched from elsewhere; the policy blocked the packaged CDN logo before any
    # request, and nothing else failed to load.
    log = browser.get_log("browser")
    assert [e for e in log if e["source"] == "network"] == [], log
    assert all("cdn.redoc.ly" in e["message"] for e in log if e["level"] == "SEVERE"), log


# ---- the curl examples ------------------------------------------------------------------------

def curl_examples() -> list[str]:
    text = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("## Examples with curl", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    return [line.strip() for line in block.splitlines() if line.strip().startswith("curl ")]


def test_docs_have_a_curl_example_for_every_route(api_server):
    routes = httpx.get(api_server.base_url + "/openapi.json").json()["paths"]
    examples = " ".join(curl_examples())
    for route in routes:
        pattern = re.escape(DOCS_BASE + route).replace(r"\{doc_id\}", "[a-z0-9-]+")
        assert re.search(pattern + r"(\s|$)", examples), f"no curl example for {route}"


def test_every_curl_example_works(api_server, tmp_path):
    for command in curl_examples():
        command = command.replace(DOCS_BASE, api_server.base_url).replace("curl -s", "curl -sf", 1)
        result = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True,
                                text=True, timeout=120, env={"KEY": CONFIDENTIAL_KEY, "PATH": "/usr/bin:/bin"})
        assert result.returncode == 0, (command, result.stderr, result.stdout[:500])
    assert (tmp_path / "thriving-places.pdf").read_bytes().startswith(b"%PDF")


# ---- links and the manifest -------------------------------------------------------------------

@pytest.fixture(scope="module")
def unconfigured_server(indexed_settings, tmp_path_factory):
    """A server with no PUBLIC_BASE_URL: links follow the address each caller used."""
    server = ApiServer(api_settings(indexed_settings), tmp_path_factory.mktemp("bare") / "log")
    server.env.pop("PUBLIC_BASE_URL")
    yield server.start()
    server.stop()


def test_pdf_url_is_built_from_the_address_the_caller_used(unconfigured_server):
    port = unconfigured_server.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        documents = httpx.get(f"http://{host}/v1/documents").json()["documents"]
        assert documents and all(d["pdf_url"] == f"http://{host}/v1/documents/{d['doc_id']}/pdf"
                                 for d in documents)
        assert httpx.get(documents[0]["pdf_url"]).status_code == 200


def test_a_configured_public_base_url_wins(api_server):
    with api_server.client() as client:
        documents = client.get("/v1/documents", headers={"Host": "elsewhere.example"}).json()
    assert all(d["pdf_url"].startswith(api_server.settings.public_base_url + "/v1/documents/")
               for d in documents["documents"])


def test_source_url_comes_from_the_manifest(api_server):
    with (REPO / "corpus" / "documents.csv").open(encoding="utf-8") as handle:
        manifest = {row["file"]: row["source_url"] for row in csv.DictReader(handle)}
    with api_server.client(CONFIDENTIAL_KEY) as client:
        documents = client.get("/v1/documents").json()["documents"]
    assert {d["doc_id"]: d["source_url"] for d in documents} == {
        d["doc_id"]: manifest[d["doc_id"]] for d in documents}
    assert any(d["source_url"].startswith("https://") for d in documents)


# ---- Content-Type -----------------------------------------------------------------------------

def test_a_body_without_content_type_is_read_as_json(api_server):
    with api_server.client(PUBLIC_KEY) as client:
        response = client.post("/v1/ask", content=b'{"question": "What is a place-based partnership?"}')
    assert "content-type" not in response.request.headers
    assert response.status_code == 200 and response.json()["citations"]


@pytest.mark.parametrize("route", ["/v1/ask", "/v1/search"])
def test_a_form_encoded_body_is_415_naming_the_header(api_server, route):
    with api_server.client(PUBLIC_KEY) as client:
        response = client.post(route, content=b'{"question": "x", "query": "x"}', headers={
            "Content-Type": "application/x-www-form-urlencoded"})  # what curl -d sends
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert "Content-Type: application/json" in error["message"]
