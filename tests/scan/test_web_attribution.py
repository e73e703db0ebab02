"""Web attribution end to end: DNS from the test world, HTTPS from a loopback server with a test CA."""

from __future__ import annotations

import pytest

from souverain.testing.httpserver import TestCA, WebServer
from tests.scan.conftest import WORLD, deps, one


@pytest.fixture(scope="module")
def web(scan_world):
    ca = TestCA()
    server = WebServer(WORLD / "sites", ca).start()
    try:
        yield scan_world("web.test", "hostile.test", "m365pp.test", functions=("web",), fetch_web=True,
                         connect_to=tuple(server.connect_to()), ca_file=str(ca.ca_file))
    finally:
        server.stop()
        ca.cleanup()


def services(result, domain, function):
    return {(d.get("service") or {}).get("id") for d in deps(result, domain, function)}


def test_third_parties_in_the_page(web):
    found = services(web, "web.test", "web.third_party")
    assert {"google-tag-manager", "google-fonts", "youtube-embed", "meta-pixel"} <= found, found
    # one host, two services: the URL fingerprint www.google.com/recaptcha/ wins over the host's
    assert {"recaptcha", "google-web"} <= found
    recaptcha = next(d for d in deps(web, "web.test", "web.third_party") if (d["service"] or {}).get("id") == "recaptcha")
    assert recaptcha["rule"].endswith("fingerprints.url: google.com/recaptcha/")
    assert any(d["service"] and d["service"]["id"] == "facebook-social" or d["service"]["id"] == "meta-pixel"
               for d in deps(web, "web.test", "web.third_party") if d["service"])
    unknown = [d for d in deps(web, "web.test", "web.third_party") if d["status"] == "unknown"]
    assert [d["subject"] for d in unknown] == ["unknown-analytics.example"]
    assert all(d["controller"]["country"] == "US" for d in deps(web, "web.test", "web.third_party") if d["controller"])


def test_cname_cloaked_tracker_is_a_third_party(web):
    adobe = next(d for d in deps(web, "web.test", "web.third_party") if (d["service"] or {}).get("id") == "adobe-analytics")
    assert adobe["reason"] == "third-party-cname-cloaked" and adobe["controller"]["country"] == "US"
    assert adobe["reason_params"] == {"count": 1, "host": "metrics.web.test", "target": "web-test.sc.omtrdc.net"}
    assert len(adobe["evidence"]) >= 2, "the page and the DNS answers that reveal the CNAME"
    # a first-party subdomain on the site's own addresses stays first party
    assert not [d for d in deps(web, "web.test", "web.third_party") if "static.web.test" in (d["subject"] or "")]


def test_certificate_authority_and_hosting(web):
    ca = one(web, "web.test", "tls.ca")
    assert ca["service"]["id"] == "lets-encrypt" and ca["controller"]["id"] == "isrg"
    hosting = one(web, "web.test", "web.hosting")
    assert hosting["service"]["id"] == "ovhcloud-network" and hosting["foreign_access"] is False


def test_cdn_from_response_header(web):
    cdn = one(web, "m365pp.test", "web.cdn")
    assert cdn["service"]["id"] == "cloudflare-cdn" and cdn["reason"] == "header-service"
    assert one(web, "m365pp.test", "tls.ca")["service"]["id"] == "sectigo-ca"


def test_hostile_page_is_data(web):
    ca = one(web, "hostile.test", "tls.ca")
    assert ca["status"] == "unknown" and ca["reason_params"]["issuer"] == "<b>Evil CA</b>"
    http = next(e for e in web["evidence"]["hostile.test"] if e["kind"] == "http")
    assert http["detail"]["tls"]["issuer_organization"] == "<b>Evil CA</b>"


def test_html_report_escapes_the_hostile_page(web):
    from souverain.report.render import render_scan

    html = render_scan(web.model, "html")
    assert "<b>Evil CA</b>" not in html and "&lt;b&gt;Evil CA&lt;/b&gt;" in html
    assert "<script>alert" not in html
