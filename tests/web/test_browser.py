"""The web application in a real browser: Playwright driving Debian's Chromium against the server
on 127.0.0.1 with the loopback DNS world. Skipped only when Chromium is not installed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.web.conftest import served, watched_tab

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[test]')")
pytest.importorskip("uvicorn", reason="the web extra is not installed")


@pytest.fixture
def server(request, tmp_path, world_dns):
    from souverain.store.database import Store
    from souverain.web.app import Settings, create_app
    from souverain.web.jobs import Jobs, ScanSettings

    settings = Settings(db_url=f"sqlite:///{tmp_path / 'web.db'}", scan=ScanSettings(
        nameservers=[("127.0.0.1", world_dns.port)], timeout=0.3, fetch_web=False, allow_private_targets=True))
    jobs = Jobs(Store.open(settings.db_url), settings.scan)
    delay = getattr(request, "param", 0)
    if delay:  # a slow scan, so that the progress page is seen
        real = jobs.scan

        def slow(domains, functions, advance):
            time.sleep(delay)
            return real(domains, functions, advance)

        jobs.scan = slow
    with served(create_app(settings, jobs)) as url:
        yield url


@pytest.fixture
def page(server):
    with watched_tab(server, CHROMIUM) as tab:
        yield tab


def test_scan_flow_and_language_switch(page, server):
    page.goto(server + "/")
    assert page.locator("h1").inner_text() == "Scan an organisation"
    page.fill("#domains", "m365.test ovhmail.test")
    page.uncheck("input[name=functions][value=web]")
    page.click("#start")
    page.wait_for_selector("#verdict", timeout=60_000)  # progress (events) then the result page
    assert page.locator("h1").inner_text().startswith("Scan result")
    assert "EXPOSED" in page.locator("#verdict").inner_text().upper()
    frame = page.frame_locator("iframe.report")
    frame.locator("text=m365.test").first.wait_for(timeout=10_000)
    page.click("#lang-fr")
    page.wait_for_selector("html[lang=fr]")
    assert page.locator("h1").inner_text().startswith("Résultat de l'analyse")
    page.goto(server + "/kb")  # the language follows the visitor
    assert page.locator("h1").inner_text() == "Base de connaissances"
    page.go_back()
    with page.expect_download() as download:
        page.click("text=JSON")
    assert download.value.suggested_filename.endswith(".json")
    assert page.problems == []


def test_kb_entity_and_compare_pages(page, server):
    page.goto(server + "/kb")
    page.fill("#q", "skype")
    page.click("form[action='/kb'] button")
    page.click("a[href='/kb/skype']")
    assert "Microsoft Corporation" in page.locator("#owners").inner_text()
    page.goto(server + "/compare")
    page.select_option("#offers", ["aws-esc", "bleu-cloud"])
    page.click("form[action='/compare'] button")
    page.frame_locator("iframe.report").locator("text=Bleu").first.wait_for(timeout=10_000)
    assert page.problems == []


@pytest.mark.parametrize("server", [3], indirect=True)
def test_progress_page_follows_the_job_then_shows_the_result(page, server):
    page.goto(server + "/?lang=fr")
    page.fill("#domains", "m365.test")
    page.uncheck("input[name=functions][value=web]")
    page.click("#start")
    page.wait_for_selector("#bar")
    assert page.locator("h1").inner_text() == "Analyse en cours"
    page.wait_for_selector("#verdict", timeout=60_000)  # the events end the wait, the script reloads
    assert page.locator("h1").inner_text().startswith("Résultat")
    assert page.problems == []
