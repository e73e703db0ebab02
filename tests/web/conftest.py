"""The web application against the loopback DNS world (tests/data/world) and a small world of
names in every address class the SSRF guard refuses."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed (pip install '.[web]')")
pytest.importorskip("multipart", reason="the web extra is not installed (pip install '.[web]')")

from starlette.testclient import TestClient

from souverain.testing.dnsserver import DNSServer
from souverain.web.app import Settings, create_app
from souverain.web.jobs import ScanSettings

# host label -> (type, address): one name per class the guard refuses, and a public one
CLASSES = {
    "loopback": ("A", "127.0.0.1"), "loopback6": ("AAAA", "::1"), "private": ("A", "10.1.2.3"),
    "private172": ("A", "172.16.5.4"), "private192": ("A", "192.168.1.1"), "ula": ("AAAA", "fd00::1"),
    "linklocal": ("A", "169.254.169.254"), "linklocal6": ("AAAA", "fe80::1"), "cgnat": ("A", "100.64.1.1"),
    "multicast": ("A", "224.0.0.5"), "multicast6": ("AAAA", "ff02::1"), "reserved": ("A", "240.0.0.1"),
    "unspecified": ("A", "0.0.0.0"), "mapped": ("AAAA", "::ffff:10.0.0.1"), "public": ("A", "9.9.9.9"),
}


@pytest.fixture(scope="session")
def ssrf_dns(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ssrf-zones")
    lines = ["$ORIGIN ssrf.test.", "$TTL 300", "@ IN SOA ns.ssrf.test. h.ssrf.test. 1 3600 600 86400 300",
             "@ IN NS ns.ssrf.test.", "ns IN A 9.9.9.9"]
    lines += [f"{label} IN {rtype} {address}" for label, (rtype, address) in CLASSES.items()]
    lines += ["www.wwwprivate IN A 10.9.9.9", "wwwprivate IN A 9.9.9.9"]
    (folder / "ssrf.test.zone").write_text("\n".join(lines) + "\n")
    server = DNSServer(folder).start()
    yield server
    server.stop()


def make_client(tmp_path: Path, dns: DNSServer, **overrides) -> TestClient:
    scan = ScanSettings(nameservers=[("127.0.0.1", dns.port)], timeout=0.3, fetch_web=False,
                        allow_private_targets=overrides.pop("allow_private_targets", True))
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'web.db'}", scan=scan, **overrides)
    return TestClient(create_app(settings))


@pytest.fixture
def client(tmp_path, world_dns):
    with make_client(tmp_path, world_dns) as test_client:
        yield test_client


def wait_done(client: TestClient, job_id: str, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/scans/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"scan {job_id} still {job['status']} after {seconds}s")


def csrf_of(client: TestClient, path: str = "/") -> str:
    """The CSRF token a page's form carries (and its cookie, set on the client)."""
    import re

    page = client.get(path)
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text[:300]
    return match.group(1)


@contextlib.contextmanager
def served(app) -> Iterator[str]:
    """``app`` served by uvicorn on a free port of 127.0.0.1 in a thread: its base URL."""
    import uvicorn

    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{running.servers[0].sockets[0].getsockname()[1]}"
    finally:
        running.should_exit = True
        thread.join(10)


@contextlib.contextmanager
def watched_tab(server: str, chromium: str, **context_options) -> Iterator:
    """A Chromium tab (Playwright) whose ``problems`` collect console errors, page errors and any
    request that leaves ``server``."""
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        context = browser.new_context(locale="en-GB", **context_options)
        tab = context.new_page()
        tab.problems = []
        tab.on("console", lambda msg: tab.problems.append(f"console {msg.type}: {msg.text}")
               if msg.type == "error" else None)
        tab.on("pageerror", lambda exc: tab.problems.append(f"page error: {exc}"))
        tab.on("request", lambda request: None if request.url.startswith((server + "/", "data:"))
               else tab.problems.append(f"request to {request.url}"))
        try:
            yield tab
        finally:
            context.close()
            browser.close()
