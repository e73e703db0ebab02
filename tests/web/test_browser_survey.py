"""The survey flow in a real browser (Playwright driving Debian's Chromium) against the server on
127.0.0.1 with the loopback DNS world: upload → column mapping → live progress → report → diff,
then publish; no console error and no request leaving the server."""

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
SHOTS = Path("/tmp/W1")


@pytest.fixture
def server(tmp_path, world_dns, monkeypatch):
    import asyncio

    from souverain.survey import runner
    from souverain.web.app import Settings, create_app
    from souverain.web.jobs import ScanSettings, SurveySettings

    real = runner.scan_row

    async def slow(*args, **kwargs):  # a survey slow enough for its progress page to be seen
        await asyncio.sleep(0.4)
        return await real(*args, **kwargs)

    monkeypatch.setattr(runner, "scan_row", slow)
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'web.db'}",
                        scan=ScanSettings(nameservers=[("127.0.0.1", world_dns.port)], timeout=0.3, fetch_web=False,
                                          allow_private_targets=True),
                        survey=SurveySettings(data_dir=tmp_path / "data", concurrency=1))
    with served(create_app(settings)) as url:
        yield url


@pytest.fixture
def page(server):
    with watched_tab(server, CHROMIUM, accept_downloads=True) as tab:
        yield tab


def run_survey(page, server: str, population: Path, name: str) -> str:
    page.goto(server + "/surveys")
    page.set_input_files("#file", str(population))
    page.click("#upload")
    page.wait_for_selector("#domain_column")
    assert page.locator("h1").inner_text() == "Map the columns"
    assert page.locator("#domain_column").input_value() == "domain"  # found by its name
    page.select_option("#group_column", "region")
    page.fill("#name", name)
    page.click("#start")
    page.wait_for_selector("#survey")
    return page.url.rsplit("/", 1)[1]


def test_survey_upload_progress_report_diff_and_publish(page, server, tmp_path):
    SHOTS.mkdir(exist_ok=True)
    first = tmp_path / "communes.csv"
    # eight names under slow.test (the world's name server never answers them) keep the run going for
    # a few seconds at concurrency 1, so the monitor shows it running even on a quiet machine
    first.write_text("domain,region\nm365.test,84\novhmail.test,11\ngworkspace.test,84\ninfomaniak.test,11\n"
                     "awsmail.test,84\ngcpmail.test,11\n" + "".join(f"n{n}.slow.test,11\n" for n in range(8)))
    job = run_survey(page, server, first, "communes")
    assert page.locator("h1").inner_text() == "Survey: communes"
    # live progress: the counter moves while the survey runs (events, no reload)
    deadline = time.monotonic() + 30  # (the page's CSP forbids wait_for_function's eval)
    while page.locator("#count").inner_text().startswith("0/"):
        assert time.monotonic() < deadline, "no progress shown"
        time.sleep(0.1)
    assert page.locator("#status").inner_text() == "Running"  # the label follows the events too
    assert page.locator("#pause").is_visible() and page.locator("#cancel").is_visible()
    page.screenshot(path=str(SHOTS / "survey-progress.png"), full_page=True)
    page.wait_for_selector("iframe.report", timeout=60_000)  # done: the page reloads into the report
    assert page.locator("#status").inner_text() == "Done"
    assert page.locator("#count").inner_text() == "14/14"
    frame = page.frame_locator("iframe.report")
    frame.locator("td:has-text(\"Auvergne-Rhône-Alpes\")").first.wait_for(timeout=10_000)
    page.screenshot(path=str(SHOTS / "survey-report.png"), full_page=True)
    with page.expect_download() as download:
        page.click(f"a[href^='/surveys/{job}/export/csv']")
    assert download.value.suggested_filename == f"souverain-survey-{job}.csv"
    # a second run, compared with the first
    second = tmp_path / "communes-2.csv"
    second.write_text("domain,region\nm365.test,84\novhmail.test,11\n")
    run_survey(page, server, second, "communes again")
    page.wait_for_selector("iframe.report", timeout=60_000)
    page.select_option("#against", label=page.locator("#against option").first.inner_text())
    page.click("#diff")
    page.wait_for_selector("h1")
    assert page.locator("h1").inner_text() == "What moved between two runs"
    assert page.locator("#no-moves, #moves").count() == 1
    page.screenshot(path=str(SHOTS / "survey-diff.png"), full_page=True)
    # publish the first report: the read-only page shows the report and no form
    page.goto(f"{server}/surveys/{job}")
    page.click("#publish")
    page.wait_for_selector("#published")
    link = page.locator("#published a.url").first.get_attribute("href")
    page.goto(server + link)
    assert page.locator("form").count() == 0
    page.frame_locator("iframe.report").locator("td:has-text(\"Auvergne-Rhône-Alpes\")").first.wait_for(timeout=10_000)
    page.click("#lang-fr")
    page.wait_for_selector("html[lang=fr]")
    assert page.locator("h1").inner_text().startswith("Rapport d'enquête")
    assert page.problems == []
