"""Browser collector: headless Chromium against the loopback HTTPS world, through the recording proxy.

The page ``www.dynamic.test`` names no third party in its HTML: an inline script injects a script
from cdn.jsdelivr.net (which adds a frame from www.youtube-nocookie.com) and fetches
api.segment.io, and a first-party style sheet loads a font from fonts.bunny.net. Every name is
resolved by our resolver on the loopback DNS server and every connection goes through the proxy
to the loopback web server (``--connect-to``); Chromium trusts the test CA by its key only.

Tests that need Chromium are skipped, saying so, when it is not installed (CI installs it with
``scripts/test_services.sh``); the failure paths run with stand-in executables.
"""

from __future__ import annotations

import asyncio
import shutil
import stat
import tempfile
import time
from pathlib import Path

import pytest

from souverain.collect import chromium as chromium_module
from souverain.collect.browser import record_evidence
from souverain.collect.chromium import DEFAULT_CHROMIUM, spki_hashes
from souverain.collect.dns import Resolver
from souverain.collect.observation import ObservationBuilder
from souverain.collect.page_run import BrowserOptions, BrowserResult, browse
from souverain.collect.proxy import NOT_ADMITTED, RecordingProxy
from souverain.collect.web import ConnectMap
from souverain.testing.dnsserver import DNSServer
from souverain.testing.httpserver import TestCA, WebServer

WORLD = Path(__file__).parents[1] / "data" / "world"
PAGE = "https://www.dynamic.test/"
THIRD_PARTIES = {"cdn.jsdelivr.net", "fonts.bunny.net", "api.segment.io", "www.youtube-nocookie.com"}
ADDRESSES = {"www.dynamic.test": "51.91.0.84", "cdn.jsdelivr.net": "151.101.1.229",
             "fonts.bunny.net": "185.93.1.243", "api.segment.io": "52.34.220.11",
             "www.youtube-nocookie.com": "142.250.179.78"}

needs_chromium = pytest.mark.skipif(
    shutil.which(DEFAULT_CHROMIUM) is None,
    reason=f"Chromium is not installed at {DEFAULT_CHROMIUM} (apt-get install chromium)")


@pytest.fixture(scope="module")
def world():
    dns = DNSServer(WORLD / "zones").start()
    ca = TestCA()
    web = WebServer(WORLD / "sites", ca).start()
    try:
        yield dns, ca, web
    finally:
        web.stop()
        dns.stop()
        ca.cleanup()


def run_browse(world, url: str = PAGE, *, ca: bool = True, **options) -> BrowserResult:
    dns, test_ca, web = world

    async def go() -> BrowserResult:
        async with Resolver([("127.0.0.1", dns.port)], timeout=2, retries=1) as resolver:
            async def resolve(host: str) -> list[str]:
                a, aaaa = await asyncio.gather(resolver.query(host, "A"), resolver.query(host, "AAAA"))
                return aaaa.values("AAAA") + a.values("A")

            return await browse(url, resolve=resolve, connect_map=ConnectMap.parse(web.connect_to()),
                                ca_file=test_ca.ca_file if ca else None,
                                options=BrowserOptions(**{"timeout": 15.0, "settle": 1.0, **options}))

    return asyncio.run(go())


@pytest.fixture(scope="module")
def dynamic(world) -> BrowserResult:
    if shutil.which(DEFAULT_CHROMIUM) is None:
        pytest.skip(f"Chromium is not installed at {DEFAULT_CHROMIUM} (apt-get install chromium)")
    return run_browse(world)


def by_host(result: BrowserResult) -> dict[str, list]:
    found: dict[str, list] = {}
    for request in result.requests:
        found.setdefault(request.host, []).append(request)
    return found


# -- what the page loads ------------------------------------------------------------------------


@needs_chromium
def test_dynamically_loaded_script_font_fetch_and_frame_are_observed(dynamic):
    assert dynamic.outcome == "ok", dynamic.error
    assert dynamic.status == 200 and dynamic.final_url == PAGE
    assert dynamic.browser and "Chrome/" in dynamic.browser
    hosts = by_host(dynamic)
    assert THIRD_PARTIES <= set(hosts), sorted(hosts)
    script, = hosts["cdn.jsdelivr.net"]
    assert (script.kind, script.status) == ("script", 200)
    assert (script.initiator_type, script.initiator) == ("script", PAGE)  # injected by the inline script
    font, = hosts["fonts.bunny.net"]
    assert font.kind == "font" and font.initiator == "https://www.dynamic.test/static/fonts.css"
    call, = hosts["api.segment.io"]
    assert call.kind == "fetch" and call.url == "https://api.segment.io/v1/p?e=pageview"
    frame, = hosts["www.youtube-nocookie.com"]
    assert frame.kind == "iframe" and frame.initiator == "https://cdn.jsdelivr.net/npm/widget/widget.js"


@needs_chromium
def test_every_connection_went_through_the_proxy_to_the_addresses_our_resolver_gave(dynamic, world):
    made = [c for c in dynamic.connections if c.status != "refused"]
    assert {c.host for c in made} == THIRD_PARTIES | {"www.dynamic.test"}
    for connection in made:
        assert connection.address == ADDRESSES[connection.host], connection
        assert connection.port == 443 and connection.sent > 0 and connection.received > 0
    served = {(scheme, host) for scheme, host, _ in world[2].requests}
    assert {("https", host) for host in THIRD_PARTIES} <= served  # TLS end to end, test CA trusted


@needs_chromium
def test_browser_background_traffic_is_refused_never_sent(dynamic):
    """Chromium's own requests (sign-in checks, component updates) reach the proxy but no
    further: the proxy only connects to hosts the page was seen to request."""
    requested = {r.host for r in dynamic.requests}
    background = [c for c in dynamic.connections if c.host not in requested]
    if not background:  # nothing to check: say so rather than pass
        pytest.skip("this Chromium made no background request")
    for connection in background:
        assert connection.status == "refused" and connection.error == NOT_ADMITTED, connection
        assert connection.address is None and connection.sent == connection.received == 0


@needs_chromium
def test_untrusted_certificates_are_not_accepted(world):
    """Without the test CA the page does not load: certificate errors are not ignored wholesale."""
    result = run_browse(world, ca=False, timeout=10.0)
    assert result.outcome == "error" and "CERT" in (result.error or ""), result.error
    assert not any(r.host in THIRD_PARTIES for r in result.requests)


@needs_chromium
def test_hostile_page_cannot_stall_the_browser_with_dialogs(world):
    """www.hostile.test calls alert() from its load handler: dismissed, the page still loads."""
    result = run_browse(world, "https://www.hostile.test/", settle=0.5)
    assert result.outcome == "ok" and result.dialogs == 1, result
    assert {r.host for r in result.requests} >= {"www.hostile.test", "evil.example", "x.example"}
    assert result.elapsed_ms < 8000


@needs_chromium
def test_request_cap_truncates(world):
    result = run_browse(world, max_requests=2)
    assert len(result.requests) == 2 and result.truncated


@needs_chromium
def test_timeout_keeps_what_was_seen(world):
    dns, ca, _ = world
    slow = WebServer(WORLD / "sites", ca, slow={"www.dynamic.test": 30}).start()
    try:
        result = run_browse((dns, ca, slow), timeout=3.0)
    finally:
        slow.stop()
    assert result.outcome == "timeout" and result.error.startswith("timeout"), result
    assert [r.host for r in result.requests] == ["www.dynamic.test"] and result.requests[0].status is None
    assert result.elapsed_ms < 8000


# -- evidence -----------------------------------------------------------------------------------


@needs_chromium
def test_evidence_says_how_each_host_was_observed(dynamic):
    obs = ObservationBuilder("dynamic.test", ("web",))
    record_evidence(obs, dynamic)
    page = obs.evidence[0]
    assert (page.source, page.kind, page.subject, page.status) == ("browser", "page-load", PAGE, "ok")
    assert page.detail["browser"] == dynamic.browser and page.detail["requests"] == len(dynamic.requests)
    items = {e.subject: e for e in obs.evidence[1:]}
    assert set(items) == THIRD_PARTIES | {"www.dynamic.test"}
    font = items["fonts.bunny.net"]
    assert font.source == "browser" and font.kind == "requests"
    assert font.records[0].type == "font" and "fonts.css" in font.records[0].value
    assert font.detail["addresses"] == ["185.93.1.243"] and font.detail["received"] > 0
    assert font.recheck() == "curl -sv --globoff https://fonts.bunny.net/marianne/marianne-regular.woff2"
    assert dynamic.host_evidence["fonts.bunny.net"][:2] == [font.id, page.id]


# -- failures never raise and never leave a process or a profile behind ---------------------------


def _stand_in(tmp_path: Path, body: str) -> str:
    """An executable that plays a broken Chromium."""
    path = tmp_path / "chromium"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Temporary folders land in tmp_path/t, so a test sees what was left behind."""
    folder = tmp_path / "t"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def processes(monkeypatch):
    started = []
    real_start = chromium_module.Chromium.start

    async def start(self, executable, flags):
        started.append(self)
        await real_start(self, executable, flags)

    monkeypatch.setattr(chromium_module.Chromium, "start", start)
    return started


def _only(resolve_to: str = "127.0.0.1"):
    async def resolve(host: str) -> list[str]:
        return [resolve_to]
    return resolve


def test_missing_chromium_is_an_error_saying_how_to_install_it(private_tmp):
    result = asyncio.run(browse(PAGE, resolve=_only(), options=BrowserOptions(chromium="/nonexistent/chromium")))
    assert result.outcome == "error" and "apt-get install chromium" in result.error
    assert "/nonexistent/chromium" in result.error
    assert not list(private_tmp.iterdir())


def test_browser_that_exits_at_once_is_an_error_with_its_last_words(tmp_path, private_tmp, processes):
    chromium = _stand_in(tmp_path, 'echo "fatal: no display" >&2; exit 3')
    result = asyncio.run(browse(PAGE, resolve=_only(), options=BrowserOptions(chromium=chromium, timeout=5)))
    assert result.outcome == "error" and "exited" in result.error and "fatal: no display" in result.error
    assert processes[0].process.returncode == 3
    assert not list(private_tmp.iterdir())


def test_browser_that_never_answers_is_killed_at_the_deadline(tmp_path, private_tmp, processes):
    chromium = _stand_in(tmp_path, "exec sleep 60")
    result = asyncio.run(browse(PAGE, resolve=_only(), options=BrowserOptions(chromium=chromium, timeout=2)))
    assert result.outcome == "error" and "did not start within 2 s" in result.error
    assert result.elapsed_ms < 6000
    assert processes[0].process.returncode is not None  # killed, and reaped
    assert not list(private_tmp.iterdir())


def test_cancellation_kills_the_browser_and_removes_its_profile(tmp_path, private_tmp, processes):
    """What Ctrl-C does to a scan: the task is cancelled mid-run."""
    chromium = _stand_in(tmp_path, "sleep 60 & exec sleep 60")  # a child too: the group is killed

    async def go() -> None:
        task = asyncio.ensure_future(browse(PAGE, resolve=_only(), options=BrowserOptions(chromium=chromium)))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    process = processes[0].process
    assert process.returncode is not None
    assert _group_gone(process.pid)
    assert not list(private_tmp.iterdir())


def _group_gone(group: int) -> bool:
    """Nobody left in the process group, zombies aside (init reaps the orphans when it can)."""
    for _ in range(60):
        alive = []
        for stat_file in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat_file.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                alive.append(stat_file.parent.name)
        if not alive:
            return True
        time.sleep(0.05)
    return False


def test_spki_hashes_name_the_test_ca_key(world):
    _, ca, _ = world
    hashes = spki_hashes(ca.ca_file)
    assert len(hashes) == 1 and len(hashes[0]) == 44 and hashes[0].endswith("=")


def test_chromium_flags_keep_it_on_our_proxy():
    flags = set(chromium_module.CHROMIUM_FLAGS)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--no-default-browser-check", "--proxy-bypass-list=<-loopback>",
                 "--remote-debugging-pipe"):
        assert flag in flags
    assert any(f.startswith("--host-resolver-rules=MAP * ~NOTFOUND") for f in flags)  # no DNS of its own


# -- the proxy on its own -----------------------------------------------------------------------


def test_proxy_relays_plain_http_and_records_the_connection(world):
    _, _, web = world

    async def go():
        async def admit(host: str) -> bool:
            return host == "www.dynamic.test"

        async with RecordingProxy(_only("51.91.0.84"), admit=admit,
                                  connect_map=ConnectMap.parse(web.connect_to())) as proxy:
            async def ask(head: bytes) -> bytes:
                reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
                writer.write(head)
                data = await asyncio.wait_for(reader.read(), 5)
                writer.close()
                return data

            page = await ask(b"GET http://www.dynamic.test/static/fonts.css HTTP/1.1\r\n"
                             b"Host: www.dynamic.test\r\nProxy-Connection: keep-alive\r\n\r\n")
            other = await ask(b"CONNECT update.googleapis.com:443 HTTP/1.1\r\nHost: x\r\n\r\n")
            bad = await ask(b"GET ftp://x.test/ HTTP/1.1\r\n\r\n")
        return page, other, bad, proxy.connections

    page, other, bad, connections = asyncio.run(go())
    assert page.startswith(b"HTTP/1.1 200") and b"@font-face" in page
    assert other.startswith(b"HTTP/1.1 403") and bad.startswith(b"HTTP/1.1 400")
    first, second = connections
    assert (first.host, first.port, first.method, first.address, first.status) == (
        "www.dynamic.test", 80, "GET", "51.91.0.84", "ok")
    assert first.received == len(page) and first.sent > 0
    assert (second.host, second.status, second.error, second.address) == (
        "update.googleapis.com", "refused", NOT_ADMITTED, None)
    assert ("http", "www.dynamic.test", "/static/fonts.css") in web.requests


def test_proxy_keeps_public_pages_out_of_private_networks():
    async def go():
        async with RecordingProxy(_only("10.1.2.3")) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(b"CONNECT intranet.example:443 HTTP/1.1\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 5)
            writer.close()
        return answer, proxy.connections

    answer, connections = asyncio.run(go())
    assert answer.startswith(b"HTTP/1.1 403")
    assert connections[0].status == "refused" and "public" in connections[0].error
