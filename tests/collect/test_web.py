"""Web collector: resource extraction and fetches against a loopback world.

Every fetch goes through ``WebServer.connect_to()`` rules, whose last catch-all sends any other
host and port to 127.0.0.1: the addresses in evidence (192.0.2.x, TEST-NET-1) are never dialled.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from pathlib import Path

import pytest
import yaml

from souverain.collect.connect import ConnectMap
from souverain.collect.pagerefs import MAX_RESOURCES, RESOURCE_KINDS, extract_resources, scan_html
from souverain.collect.web import WebResult, fetch_site
from souverain.errors import UsageError
from souverain.kb.base import load_kb
from souverain.testing.httpserver import TestCA, WebServer

BASE = "https://www.site.test/dir/page.html"


def found(html: str, base: str = BASE) -> dict[str, str]:
    """url -> kind, loader snippets read with the KB's loaders."""
    return {r.url: r.kind for r in extract_resources(html, base, load_kb().indexes.tag_loaders)}


# -- extract_resources ------------------------------------------------------------------------


def test_relative_and_protocol_relative_urls_are_resolved_against_the_page():
    html = """
      <script src="app.js"></script>
      <script src="/root.js"></script>
      <script src="//cdn.example.com/lib.js"></script>
      <img src="../up.png">
      <iframe src="https://player.example.net/embed/1#t=3"></iframe>
    """
    assert found(html) == {
        "https://www.site.test/dir/app.js": "script",
        "https://www.site.test/root.js": "script",
        "https://cdn.example.com/lib.js": "script",
        "https://www.site.test/up.png": "image",
        "https://player.example.net/embed/1": "iframe",
    }
    assert found('<img src="//cdn.example.com/a.png">', "http://site.test/") == {
        "http://cdn.example.com/a.png": "image"
    }


def test_base_href_changes_the_base_of_later_urls():
    html = '<base href="https://static.example.org/assets/"><script src="x.js"></script>'
    assert found(html) == {"https://static.example.org/assets/x.js": "script"}


def test_link_relations_media_and_forms():
    html = """
      <link rel="stylesheet" href="/s.css">
      <link rel="preconnect" href="https://fonts.gstatic.com">
      <link rel="dns-prefetch" href="//stats.example.com">
      <link rel="preload" as="font" href="https://fonts.example.com/f.woff2">
      <link rel="shortcut icon" href="/favicon.ico">
      <link rel="canonical" href="https://www.site.test/">
      <link rel="alternate" hreflang="fr" href="https://www.site.test/fr/">
      <video src="https://video.example.com/v.mp4" poster="https://img.example.com/p.jpg">
        <source src="https://video.example.com/v.webm"></video>
      <audio src="https://audio.example.com/a.mp3"></audio>
      <embed src="https://embed.example.com/e.swf"><object data="https://obj.example.com/o.pdf"></object>
      <img srcset="https://img.example.com/1x.png 1x, https://img.example.com/2x.png 2x">
      <form action="https://forms.example.com/submit"></form><form action=""></form>
    """
    assert found(html) == {
        "https://www.site.test/s.css": "stylesheet",
        "https://fonts.gstatic.com/": "preconnect",
        "https://stats.example.com/": "dns-prefetch",
        "https://fonts.example.com/f.woff2": "preload",
        "https://www.site.test/favicon.ico": "image",
        "https://video.example.com/v.mp4": "media",
        "https://img.example.com/p.jpg": "image",
        "https://video.example.com/v.webm": "media",
        "https://audio.example.com/a.mp3": "media",
        "https://embed.example.com/e.swf": "media",
        "https://obj.example.com/o.pdf": "media",
        "https://img.example.com/1x.png": "image",
        "https://img.example.com/2x.png": "image",
        "https://forms.example.com/submit": "form",
    }


def test_resource_fields_and_only_http_urls():
    html = """
      <a href="https://not-loaded.example.com/">links are not loaded</a>
      <img src="data:image/png;base64,AAAA"><img src="javascript:alert(1)">
      <form action="mailto:x@site.test"></form><script src="ftp://old.example.com/x.js"></script>
      <img src="HTTPS://CDN.Example.COM/Logo.png">
    """
    [resource] = extract_resources(html, BASE)
    assert (resource.url, resource.host, resource.tag, resource.attribute, resource.kind) == (
        "https://cdn.example.com/Logo.png", "cdn.example.com", "img", "src", "image")


def test_resource_hosts_are_in_the_form_names_are_matched_in():
    # IDNA, as the browser and the resolver use it; a name no resolver could ask is not loaded.
    html = f"""<script src="https://Stats.Bücher.example/t.js"></script>
               <img src="https://[2001:DB8:0::1]/p.png"><img src="https://{'a' * 64}.example/x.png">"""
    assert [r.host for r in extract_resources(html, BASE)] == [
        "stats.xn--bcher-kva.example", "2001:db8::1"]


def test_duplicates_are_dropped_by_url_and_tag():
    html = """<img src="/a.png"><img src="https://www.site.test/a.png">
              <link rel="preload" href="/a.png"><script src="/a.png"></script>"""
    resources = extract_resources(html, BASE)
    assert [(r.tag, r.kind) for r in resources] == [
        ("img", "image"), ("link", "preload"), ("script", "script")]


def test_malformed_markup_does_not_stop_extraction():
    html = """<html><head><title>Broken <b>page</b>
      <img src=unquoted.png alt=x>
      <img src="one.png"<img src="two.png">
      <p><![bogus[ marked section ]]> <img src="after-marked.png">
      <img src='four.png' src='ignored-duplicate.png'>
      <img src="five.png" / / >< img src="not-a-tag.png">
      <script src="last.js">
      <div class="unclosed <img src='swallowed.png'>
    """
    urls = found(html)
    assert set(urls) == {
        f"https://www.site.test/dir/{name}"
        for name in ("unquoted.png", "one.png", "after-marked.png", "four.png", "five.png",
                     "last.js")
    }
    # an unterminated <script> or <style> at the end is still read
    assert found("<p><script>load('https://cut.example.com/x.js')") == {
        "https://cut.example.com/x.js": "inline-script"}
    assert found("<style>body{background:url(/bg.png)}") == {
        "https://www.site.test/bg.png": "css-url"}


def test_markup_inside_attribute_values_is_not_a_tag():
    html = """<div data-x="<script src='https://evil.example/x.js'></script>"
                   title='<img src="https://evil.example/i.png">'>text</div>
              <img src="https://good.example/ok.png">"""
    assert found(html) == {"https://good.example/ok.png": "image"}


def test_css_imports_and_urls_in_style_blocks_and_attributes():
    html = """
      <style>
        @import url("https://fonts.googleapis.com/css?family=Roboto");
        @import '/local.css';
        /* url(https://commented.example.com/x.png) */
        body { background: url(bg.png) }
        .logo { background-image: url( 'https://img.example.com/logo.svg' ) }
        .inline { background: url(data:image/png;base64,AAAA) }
      </style>
      <div style="background: url(&quot;https://bg.example.com/hero.jpg&quot;)">x</div>
    """
    assert found(html) == {
        "https://fonts.googleapis.com/css?family=Roboto": "css-import",
        "https://www.site.test/local.css": "css-import",
        "https://www.site.test/dir/bg.png": "css-url",
        "https://img.example.com/logo.svg": "css-url",
        "https://bg.example.com/hero.jpg": "css-url",
    }
    [attr] = [r for r in extract_resources(html, BASE) if r.host == "bg.example.com"]
    assert (attr.tag, attr.attribute) == ("div", "style")


GTM = """<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':
new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],
j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src=
'https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-AB12CD3');</script>"""
GTAG = """<script async src="https://www.googletagmanager.com/gtag/js?id=G-XYZ123"></script>
<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}
gtag('js', new Date()); gtag('config', 'G-XYZ123'); gtag('config', 'AW-987654');</script>"""
GA = """<script>(function(i,s,o,g,r,a,m){i['GoogleAnalyticsObject']=r;i[r]=i[r]||function(){
(i[r].q=i[r].q||[]).push(arguments)},i[r].l=1*new Date();a=s.createElement(o),
m=s.getElementsByTagName(o)[0];a.async=1;a.src=g;m.parentNode.insertBefore(a,m)
})(window,document,'script','https://www.google-analytics.com/analytics.js','ga');</script>"""
FBEVENTS = """<script>!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};t=b.createElement(e);t.async=!0;
t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window, document,'script',
'https://connect.facebook.net/en_US/fbevents.js'); fbq('init', '1234567890');</script>
<noscript><img height="1" width="1" src="https://www.facebook.com/tr?id=1234567890&ev=PageView&noscript=1"/></noscript>"""
MATOMO = """<script>var _paq = window._paq = window._paq || [];
_paq.push(['trackPageView']); (function() { var u="//stats.example.org/matomo/";
_paq.push(['setTrackerUrl', u+'matomo.php']); _paq.push(['setSiteId', '1']);
var d=document, g=d.createElement('script'), s=d.getElementsByTagName('script')[0];
g.async=true; g.src=u+'matomo.js'; s.parentNode.insertBefore(g,s); })();</script>"""
HOTJAR = """<script>(function(h,o,t,j,a,r){h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};
h._hjSettings={hjid:1234567,hjsv:6};a=o.getElementsByTagName('head')[0];r=o.createElement('script');
r.async=1;r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;a.appendChild(r);
})(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');</script>"""


def test_loader_snippets_name_what_they_load():
    urls = found(GTM + GTAG + GA + FBEVENTS + MATOMO + HOTJAR)
    assert urls["https://www.googletagmanager.com/gtm.js?id=GTM-AB12CD3"] == "loader-snippet"
    # the <script src> came first: the gtag('config') call adds no duplicate
    assert urls["https://www.googletagmanager.com/gtag/js?id=G-XYZ123"] == "script"
    assert urls["https://www.googletagmanager.com/gtag/js?id=AW-987654"] == "loader-snippet"
    assert urls["https://www.google-analytics.com/analytics.js"] == "loader-snippet"
    assert urls["https://connect.facebook.net/en_US/fbevents.js"] == "loader-snippet"
    assert urls["https://stats.example.org/matomo/matomo.js"] == "loader-snippet"
    assert urls["https://static.hotjar.com/c/hotjar-1234567.js?sv=6"] == "loader-snippet"
    assert urls["https://www.facebook.com/tr?id=1234567890&ev=PageView&noscript=1"] == "image"
    assert set(urls.values()) <= set(RESOURCE_KINDS)
    # fragments of the URLs the snippets assemble are not reported on their own
    assert "https://www.googletagmanager.com/gtm.js?id=" not in urls
    assert "https://static.hotjar.com/c/hotjar-" not in urls
    assert "https://stats.example.org/matomo/" not in urls


def test_generic_scan_of_inline_scripts():
    html = r"""<script>
      // a comment about //not.a.url.example.com without quotes
      var api = "https://api.example.com/v1/items?x=1";
      var cdn = '//cdn.example.net/lib/x.js';
      var escaped = "https:\/\/json.example.org\/path";
      document.write('<script src="https://written.example.com/w.js"><\/script>');
      loadLater("https://late.example.com/x.js");
    </script>
    <script type="application/ld+json">{"@context": "https://schema.org", "url": "https://data.example.com/"}</script>
    <script type="text/template"><img src="https://template.example.com/t.png"></script>"""
    urls = found(html)
    assert urls == {
        "https://api.example.com/v1/items?x=1": "inline-script",
        "https://cdn.example.net/lib/x.js": "inline-script",
        "https://json.example.org/path": "inline-script",
        "https://written.example.com/w.js": "inline-script",
        "https://late.example.com/x.js": "inline-script",
    }


def test_title_is_read_and_whitespace_collapsed():
    html = "<head><title>\n  Mairie de\n Test  </title></head><title>second</title>"
    assert scan_html(html, BASE)[1] == "Mairie de Test"


def test_huge_documents_are_capped():
    html = "<p>filler</p>" * 50_000 + "".join(f'<img src="/i/{n}.png">' for n in range(5_000))
    resources = extract_resources(html, BASE)
    assert len(resources) == MAX_RESOURCES
    assert resources[-1].url == f"https://www.site.test/i/{MAX_RESOURCES - 1}.png"


# -- fetching from a loopback world -----------------------------------------------------------

SITE = """<!doctype html><html><head><title>Site test</title>
<link rel="stylesheet" href="/style.css"><script src="https://cdn.example.com/app.js"></script>
</head><body><img src="img/logo.png"></body></html>"""

WORLD = {
    "site.test/index.html": SITE,
    "le.test/index.html": "<title>LE</title>",
    "hop.test/landing.html": "<title>Landed</title><script src='/l.js'></script>",
    "chunked.test/index.html": "<title>Chunked</title>"
                               + "".join(f'<img src="/{n}.png">' for n in range(40)),
    "latin.test/index.html": "<meta charset='iso-8859-1'><title>Caf\xe9</title>",
}
CONFIG = {
    "redirects.yaml": {
        "hop.test": {"/": [301, "/landing.html"]},
        "away.test": {"/": [302, "https://site.test/"]},
        "loop.test": {"/": [302, "/a"], "/a": [307, "https://loop.test/"]},
        "chain.test": {"/": [302, "/1"], **{f"/{n}": [302, f"/{n + 1}"] for n in range(1, 9)}},
        "huge.test": {"/": [302, "/huge"]},
        "unsized.test": {"/": [302, "/huge-unsized"]},
        "headers.test": {"/": [302, "/huge-headers"]},
        "chunked.test": {"/": [302, "/index.html?chunked"]},
        "upgrade.test": {"/": [301, "https://upgrade.test/"]},
    },
    "issuers.yaml": {"le.test": "Let's Encrypt"},
    "slow.yaml": {"slow.test": 5},
    "headers.yaml": {
        "site.test": {"X-Powered-By": "PHP/8.3", "Via": "1.1 varnish", "Set-Cookie": "sid=secret"},
        "latin.test": {"Content-Type": "text/html"},  # no charset: the <meta> one applies
    },
}
ADDRESS = "192.0.2.10"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("site")
    for path, text in WORLD.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="latin-1" if path.startswith("latin") else "utf-8")
    for name, data in CONFIG.items():
        (root / name).write_text(yaml.safe_dump(data), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def ca(tmp_path_factory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def server(world, ca):
    with WebServer(world, ca) as running:
        yield running


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Fail loudly if anything here dials an address that is not loopback."""
    real = asyncio.open_connection

    async def guarded(host=None, port=None, **options):
        assert ipaddress.ip_address(host).is_loopback, f"a test dialled {host}"
        return await real(host, port, **options)

    monkeypatch.setattr(asyncio, "open_connection", guarded)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(server: WebServer, host: str, **options) -> WebResult:
    options.setdefault("connect_map", ConnectMap.parse(server.connect_to()))
    options.setdefault("timeout", 5.0)
    if server.ca is not None:
        options.setdefault("ca_file", server.ca.ca_file)
    return asyncio.run(fetch_site(host, [ADDRESS], **options))


def test_https_verified_with_the_test_ca(server):
    result = fetch(server, "site.test")
    assert (result.requested_url, result.final_url, result.status, result.error) == (
        "https://site.test/", "https://site.test/", 200, None)
    assert result.address == ADDRESS  # evidence keeps the resolved address, not 127.0.0.1
    assert result.tls["verified"] is True and result.tls["error"] is None
    assert result.tls["subject_common_name"] == "site.test" and result.tls["san"] == ["site.test"]
    assert result.tls["version"].startswith("TLS") and result.tls["cipher"]
    assert result.html_title == "Site test"
    assert [r.url for r in result.resources] == [
        "https://site.test/style.css", "https://cdn.example.com/app.js",
        "https://site.test/img/logo.png"]
    assert result.bytes == len(SITE.encode()) and not result.truncated
    assert result.headers == {"server": "souverain-test", "content-type": "text/html; charset=utf-8",
                              "x-powered-by": "PHP/8.3", "via": "1.1 varnish"}  # no cookie
    assert ("https", "site.test", "/") in server.requests  # SNI and Host carried the name
    assert result.as_dict()["resources"][0]["kind"] == "stylesheet"


def test_issuer_organisation_is_read_from_the_certificate(server):
    result = fetch(server, "le.test")
    assert result.tls["verified"] is True
    assert result.tls["issuer_organization"] == "Let's Encrypt"
    assert result.tls["issuer_country"] == "ZZ"


def test_unknown_ca_is_recorded_but_the_page_is_still_read(server, tmp_path):
    stranger = TestCA(tmp_path / "other-ca")
    result = fetch(server, "le.test", ca_file=stranger.ca_file)
    assert result.status == 200 and result.error is None and result.html_title == "LE"
    assert result.tls["verified"] is False
    assert "certificate verify failed" in result.tls["error"]
    assert result.tls["issuer_organization"] == "Let's Encrypt"


def test_http_fallback_when_https_does_not_connect(world):
    with WebServer(world, ca=None) as plain:
        rules = [f":443:127.0.0.1:{closed_port()}", *plain.connect_to()]
        result = fetch(plain, "site.test", connect_map=ConnectMap.parse(rules))
    assert result.https_error == "connection refused"
    assert (result.final_url, result.status, result.error, result.tls) == (
        "http://site.test/", 200, None, None)
    assert result.html_title == "Site test"
    assert result.resources[0].url == "http://site.test/style.css"


def test_http_redirect_back_to_unreachable_https_is_not_a_loop(world):
    with WebServer(world, ca=None) as plain:
        rules = [f":443:127.0.0.1:{closed_port()}", *plain.connect_to()]
        result = fetch(plain, "upgrade.test", connect_map=ConnectMap.parse(rules))
    assert result.https_error == result.error == "connection refused"
    assert result.final_url == "https://upgrade.test/" and [r["url"] for r in result.redirects] == [
        "http://upgrade.test/"]


def test_addresses_are_tried_in_order(server):
    # A PORT2-only rule dials the addresses themselves: all loopback here, and nothing listens
    # on the first two (the server is on 127.0.0.1 only).
    rules = [f":443::{server.https_port}"]
    result = asyncio.run(fetch_site(
        "site.test", ["::1", "127.0.0.9", "127.0.0.1"], connect_map=ConnectMap.parse(rules),
        ca_file=server.ca.ca_file, timeout=5))
    assert (result.status, result.address, result.https_error) == (200, "127.0.0.1", None)


def test_nothing_listening_is_an_error_not_an_exception():
    port = closed_port()
    cmap = ConnectMap.parse([f"::127.0.0.1:{port}"])
    result = asyncio.run(fetch_site("down.test", [ADDRESS], connect_map=cmap))
    assert (result.status, result.error, result.https_error) == (
        None, "connection refused", "connection refused")
    assert result.final_url == "http://down.test/" and result.address == ADDRESS


def test_same_host_redirect_is_followed(server):
    result = fetch(server, "hop.test")
    assert result.redirects == [
        {"url": "https://hop.test/", "status": 301, "location": "/landing.html", "address": ADDRESS}]
    assert (result.final_url, result.status, result.html_title) == (
        "https://hop.test/landing.html", 200, "Landed")
    assert result.resources[0].url == "https://hop.test/l.js"


def test_cross_host_redirect_uses_the_resolve_callback(server):
    asked = []

    async def resolve(host: str) -> list[str]:
        asked.append(host)
        return ["2001:db8::7", "192.0.2.77"]

    result = fetch(server, "away.test", resolve=resolve)
    assert asked == ["site.test"]
    assert (result.final_url, result.status, result.html_title) == (
        "https://site.test/", 200, "Site test")
    assert result.address == "2001:db8::7"
    assert result.redirects[0]["address"] == ADDRESS
    assert result.tls["subject_common_name"] == "site.test"


def test_cross_host_redirect_without_resolve_is_recorded_not_followed(server):
    result = fetch(server, "away.test")
    assert result.redirect_not_followed == "https://site.test/"
    assert (result.final_url, result.status, result.error) == ("https://away.test/", 302, None)
    assert result.redirects == [
        {"url": "https://away.test/", "status": 302, "location": "https://site.test/", "address": ADDRESS}]


def test_redirect_loop_and_too_many_redirects(server):
    loop = fetch(server, "loop.test")
    assert loop.error == "redirect loop" and len(loop.redirects) == 2
    chain = fetch(server, "chain.test", max_redirects=5)
    assert chain.error == "too many redirects" and len(chain.redirects) == 6
    assert fetch(server, "chain.test", max_redirects=9).status == 404  # /9 has no file


def test_chunked_body_is_decoded(server):
    result = fetch(server, "chunked.test")
    assert result.status == 200 and result.error is None
    assert result.html_title == "Chunked" and len(result.resources) == 40
    assert result.bytes == len(WORLD["chunked.test/index.html"])


@pytest.mark.parametrize("host", ["huge.test", "unsized.test"])
def test_endless_body_is_truncated_at_max_bytes(server, host):
    result = fetch(server, host, max_bytes=300_000)
    assert (result.status, result.error, result.truncated) == (200, None, True)
    assert result.bytes == 300_000


def test_endless_headers_are_bounded(server):
    result = fetch(server, "headers.test")
    assert result.error == "headers too large" and result.status is None


def test_total_time_is_bounded(server):
    started = time.monotonic()
    result = fetch(server, "slow.test", timeout=0.5)
    assert result.error == "timeout" and result.status is None
    assert time.monotonic() - started < 2
    assert result.tls["verified"] is True  # what was seen before the deadline is kept


def test_charset_from_meta(server):
    assert fetch(server, "latin.test").html_title == "Café"


def test_addresses_must_be_ip_literals():
    with pytest.raises(UsageError):
        asyncio.run(fetch_site("site.test", ["site.test"]))

