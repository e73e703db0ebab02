"""`scan --browser`: third parties a page loads from its scripts and style sheets are attributed.

``www.dynamic.test`` names no third party in its HTML; run in Chromium, it loads a script from
jsDelivr (which adds a YouTube frame), a font from Bunny Fonts and calls Segment.
"""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.collect.chromium import DEFAULT_CHROMIUM
from souverain.collect.page_run import BrowserOptions
from souverain.testing.httpserver import TestCA, WebServer
from tests.scan.conftest import WORLD, deps

needs_chromium = pytest.mark.skipif(
    shutil.which(DEFAULT_CHROMIUM) is None,
    reason=f"Chromium is not installed at {DEFAULT_CHROMIUM} (apt-get install chromium)")
DYNAMIC = {"jsdelivr", "bunny-fonts-cdn", "segment", "youtube-embed"}
BROWSER = BrowserOptions(timeout=15.0, settle=1.0)


@pytest.fixture(scope="module")
def web_world():
    ca = TestCA()
    server = WebServer(WORLD / "sites", ca).start()
    try:
        yield {"functions": ("web",), "fetch_web": True, "connect_to": tuple(server.connect_to()),
               "ca_file": str(ca.ca_file)}, server
    finally:
        server.stop()
        ca.cleanup()


def third_parties(result: dict, domain: str) -> dict[str, dict]:
    return {d["service"]["id"]: d for d in deps(result, domain, "web.third_party") if d["service"]}


def evidence(result: dict, domain: str) -> dict[str, dict]:
    return {e["id"]: e for e in result["evidence"][domain]}


@needs_chromium
def test_browser_attributes_what_scripts_and_style_sheets_load(scan_world, web_world):
    settings, _ = web_world
    static = scan_world("dynamic.test", **settings)
    assert not deps(static, "dynamic.test", "web.third_party")  # the HTML names none of them
    result = scan_world("dynamic.test", browser=BROWSER, **settings)
    found = third_parties(result, "dynamic.test")
    assert set(found) == DYNAMIC, sorted(found)
    items = evidence(result, "dynamic.test")
    for service, dep in found.items():
        assert dep["reason"] == "third-party-browser" and dep["status"] == "identified", dep
        sources = {items[i]["source"] for i in dep["evidence"]}
        assert sources == {"browser", "dns"}, (service, sources)  # what Chromium saw, and the dig
    assert found["segment"]["controller"]["country"] == "US" and found["segment"]["foreign_laws"]
    assert found["bunny-fonts-cdn"]["controller"]["country"] == "SI"
    assert not found["bunny-fonts-cdn"]["foreign_laws"]
    font = next(items[i] for i in found["bunny-fonts-cdn"]["evidence"] if items[i]["kind"] == "requests")
    assert font["records"][0]["type"] == "font" and font["detail"]["addresses"] == ["185.93.1.243"]
    assert result["scan"]["browser"]["timeout"] == 15.0
    assert "browser" not in static["scan"]


@needs_chromium
def test_browser_and_html_findings_merge(scan_world, web_world):
    """A third party in the HTML keeps its reason; the browser's evidence joins the fetch's."""
    settings, _ = web_world
    result = scan_world("web.test", browser=BROWSER, **settings)
    gtm = third_parties(result, "web.test")["google-tag-manager"]
    assert gtm["reason"] == "third-party-service"
    sources = {evidence(result, "web.test")[i]["source"] for i in gtm["evidence"]}
    assert {"web", "browser"} <= sources


def test_missing_chromium_is_an_unknown_dependency_not_a_crash(scan_world, web_world):
    settings, _ = web_world
    result = scan_world("dynamic.test", browser=BrowserOptions(chromium="/nonexistent/chromium"), **settings)
    failed, = [d for d in deps(result, "dynamic.test", "web.third_party") if d["reason"] == "browser-failed"]
    assert failed["status"] == "unknown" and "apt-get install chromium" in failed["reason_params"]["error"]
    page, = [e for e in result["evidence"]["dynamic.test"] if e["source"] == "browser"]
    assert page["status"] == "error" and failed["evidence"] == [page["id"]]
    assert deps(result, "dynamic.test", "web.hosting")  # the rest of the scan is there


@needs_chromium
def test_cli_browser_reports(world_dns, web_world, tmp_path):
    settings, server = web_world
    base = ["scan", "dynamic.test", "--nameserver", f"127.0.0.1:{world_dns.port}", "--timeout", "0.3",
            "--functions", "web", "--ca-file", settings["ca_file"], "--no-store", "--quiet", "--browser",
            "--browser-settle", "1", *(f"--connect-to={rule}" for rule in server.connect_to())]
    runner = CliRunner()
    html = runner.invoke(cli, [*base, "--format", "html", "--lang", "fr"])
    assert html.exit_code == 0, html.output
    assert "jsDelivr" in html.output and "Bunny Fonts" in html.output
    assert "vu par Chrome/" in html.output  # the evidence says how it was observed
    table = runner.invoke(cli, [*base])
    assert "Segment" in table.output and "Twilio" in table.output
    data = json.loads(runner.invoke(cli, [*base, "--format", "json"]).output)
    assert {e["source"] for e in data["evidence"]["dynamic.test"]} >= {"browser", "web", "dns"}
    assert {d["reason"] for d in data["dependencies"] if d["function"] == "web.third_party"} == {
        "third-party-browser"}


@pytest.mark.parametrize("bad", [["--browser", "--no-web-fetch"], ["--browser", "--functions", "mail"],
                                 ["--chromium", "/usr/bin/chromium"]])
def test_cli_browser_bad_usage(world_dns, bad):
    result = CliRunner().invoke(cli, ["scan", "dynamic.test", "--nameserver", f"127.0.0.1:{world_dns.port}",
                                      "--no-store", "--quiet", *bad])
    assert result.exit_code == 2, result.output


def test_cli_warns_when_chromium_is_missing(world_dns, web_world):
    settings, server = web_world
    result = CliRunner().invoke(cli, [
        "scan", "dynamic.test", "--nameserver", f"127.0.0.1:{world_dns.port}", "--timeout", "0.3",
        "--functions", "web", "--no-store", "--quiet", "--browser", "--chromium", "/nonexistent/chromium",
        "--ca-file", settings["ca_file"], *(f"--connect-to={rule}" for rule in server.connect_to())])
    assert result.exit_code == 0
    assert "apt-get install chromium" in result.output  # on stderr (click mixes them here)
