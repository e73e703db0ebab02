"""What a page's requests became, said truthfully, and IP-literal third parties kept whole.

``www.inject.test`` names two IP literals in its HTML (``https://0x33.0x5b.0.0x55/``, which
browsers read as 51.91.0.85 on OVHcloud's network, and ``https://[2a01:4f8::5]/`` on
Hetzner's), and its script requests, at run time, a hostile URL on a name that does not resolve
(the request fails), plain HTTP to 203.0.113.5 (blocked by the browser as mixed content) and
tracker.lan.test, on a private address (refused by souverain's proxy).
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.collect.browser import (
    DEFAULT_CHROMIUM,
    BrowserOptions,
    BrowserRequest,
    BrowserResult,
    record_evidence,
)
from souverain.collect.domain import DomainObservation
from souverain.collect.pagerefs import extract_resources
from souverain.collect.proxy import NOT_ADMITTED, Connection
from souverain.testing.httpserver import TestCA, WebServer
from tests.scan.conftest import WORLD, deps

needs_chromium = pytest.mark.skipif(
    shutil.which(DEFAULT_CHROMIUM) is None,
    reason=f"Chromium is not installed at {DEFAULT_CHROMIUM} (apt-get install chromium)")
BROWSER = BrowserOptions(timeout=15.0, settle=1.0)
EVIL = "https://evil.example/a?x=1&y=$(id)&z=`id`;b|c{1,2}[1-3]"
PRIVATE = "not a public address (the page may not reach private networks)"


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


def by_subject(result: dict) -> dict[str, dict]:
    return {d["subject"]: d for d in deps(result, "inject.test", "web.third_party")}


def test_ip_literals_in_the_html_are_attributed_by_their_network(scan_world, web_world):
    settings, _ = web_world
    found = by_subject(scan_world("inject.test", **settings))
    assert set(found) == {"51.91.0.85", "2a01:4f8::5"}, sorted(found)  # never "0.85" or "0x55"
    ovh, hetzner = found["51.91.0.85"], found["2a01:4f8::5"]
    assert (ovh["status"], ovh["service"]["id"], ovh["reason"]) == ("identified", "ovhcloud-network",
                                                                    "third-party-address")
    assert ovh["reason_params"]["networks"] == "AS16276 OVH SAS" and ovh["controller"]["country"] == "FR"
    assert (hetzner["service"]["id"], hetzner["controller"]["country"]) == ("hetzner-network", "DE")


def test_page_references_keep_ip_literals_as_browsers_read_them():
    page = ('<img src="http://0xCB.0.113.5/a.png"><img src="http://3405803781/b.png">'
            '<img src="http://[2001:DB8::1]/c.png"><img src="http://1.2.3.999/d.png"><img src="http://a.b.5/e.png">')
    hosts = [r.host for r in extract_resources(page, "https://www.x.test/")]
    assert hosts == ["203.0.113.5", "203.0.113.5", "2001:db8::1"]  # 1.2.3.999 and a.b.5 do not load


@needs_chromium
def test_requests_that_did_not_load_are_never_said_to_have_loaded(scan_world, web_world):
    settings, _ = web_world
    result = scan_world("inject.test", browser=BROWSER, **settings)
    found = by_subject(result)
    failed, blocked, refused = found["evil.example"], found["203.0.113.5"], found["lan.test"]
    assert (failed["reason"], failed["reason_params"]["detail"]) == ("third-party-browser-failed",
                                                                     "no address for evil.example")
    assert (blocked["reason"], blocked["reason_params"]["detail"]) == ("third-party-browser-blocked", "mixed-content")
    assert blocked["reason_params"]["host"] == "203.0.113.5" and blocked["status"] == "unknown"
    assert (refused["reason"], refused["reason_params"]["detail"]) == ("third-party-browser-refused", PRIVATE)
    assert found["51.91.0.85"]["reason"] == "third-party-address"  # named in the HTML, and loaded
    items = {e["subject"]: e for e in result["evidence"]["inject.test"] if e["kind"] == "requests"}
    expected = {"evil.example": ("failed", "failed (no address for evil.example)"),
                "203.0.113.5": ("blocked", "blocked by the browser (mixed-content)"),
                "tracker.lan.test": ("refused", f"refused by souverain's proxy ({PRIVATE})"),
                "51.91.0.85": ("ok", "loaded (HTTP 404)")}
    for host, (status, value) in expected.items():
        assert items[host]["status"] == status, items[host]
        assert items[host]["records"][0]["value"].startswith(value), items[host]["records"]
    assert PRIVATE in items["tracker.lan.test"]["detail"]["errors"]


@needs_chromium
def test_reports_say_what_stopped_the_requests(world_dns, web_world):
    settings, server = web_world
    base = ["scan", "inject.test", "--nameserver", f"127.0.0.1:{world_dns.port}", "--timeout", "0.3",
            "--functions", "web", "--ca-file", settings["ca_file"], "--no-store", "--quiet", "--browser",
            "--browser-settle", "1", *(f"--connect-to={rule}" for rule in server.connect_to())]
    runner = CliRunner()
    data = json.loads(runner.invoke(cli, [*base, "--format", "json"]).output)
    table = runner.invoke(cli, [*base]).output
    flat = " ".join(table.replace("│", "").split())  # the table folds long reasons over lines
    assert "souverain's proxy refused them" in flat and "the browser blocked them (mixed-content)" in flat
    fr = " ".join(runner.invoke(cli, [*base, "--lang", "fr"]).output.replace("│", "").split())
    assert "le proxy de souverain les a refusées" in fr
    # the hostile URL's re-check command: one argument for curl, nothing run by the shell
    item = next(e for e in data["evidence"]["inject.test"] if e["subject"] == "evil.example" and e["source"] == "browser")
    assert shlex.split(item["recheck"]) == ["curl", "-sv", "--globoff", EVIL]
    printed = subprocess.run(["sh", "-c", 'curl() { printf "%s\\n" "$@"; }; ' + item["recheck"]],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    assert printed == f"-sv\n--globoff\n{EVIL}\n"


def test_a_plain_http_request_the_proxy_refused_is_refused_not_an_http_403():
    """For plain HTTP the proxy's refusal reaches the page as an HTTP 403 response; the proxy's
    record says who answered."""
    result = BrowserResult("https://www.x.test/", outcome="ok", requests=[
        BrowserRequest("http://ads.example/p.gif", "ads.example", "image", status=403),
        BrowserRequest("https://cdn.example/a.js", "cdn.example", "script", status=200),
    ], connections=[Connection("ads.example", 80, "GET", status="refused", error=NOT_ADMITTED),
                    Connection("cdn.example", 443, "CONNECT", address="192.0.2.1", status="ok", received=10)])
    assert [result.request_outcome(r) for r in result.requests] == [("refused", NOT_ADMITTED), ("loaded", "HTTP 200")]
    obs = DomainObservation("x.test", ("web",))
    record_evidence(obs, result)
    ads = next(e for e in obs.evidence if e.subject == "ads.example")
    assert ads.status == "refused" and ads.records[0]["outcome"] == "refused"
    assert ads.records[0]["value"] == f"refused by souverain's proxy ({NOT_ADMITTED})"
