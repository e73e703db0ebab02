"""Safe to expose: the SSRF guard (each refused address class, the web fetch's redirects), the
token off loopback, CSRF, security headers, body limits, credentials kept out of pages."""

from __future__ import annotations

import asyncio
import re

import pytest
import yaml
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.collect.connect import ConnectMap
from souverain.collect.web import fetch_site
from souverain.testing.httpserver import WebServer
from souverain.web.security import address_class, allowed_address
from tests.web.conftest import CLASSES, csrf_of, make_client

TOKEN = "s3cret-token-for-the-tests"


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"),
    ("172.31.0.1", "private"), ("192.168.0.1", "private"), ("fd12::1", "private"), ("169.254.169.254", "link-local"),
    ("fe80::1%eth0", "link-local"), ("100.64.0.1", "cgnat"), ("100.127.255.254", "cgnat"), ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"), ("240.0.0.1", "reserved"), ("0.0.0.0", "reserved"), ("::", "reserved"),
    ("192.0.2.1", "private"), ("::ffff:192.168.1.1", "private"), ("9.9.9.9", None), ("2a00:1450::1", None),
    ("100.63.255.255", None), ("100.128.0.1", None),
])
def test_address_classes(address, kind):
    assert address_class(address) == kind


@pytest.mark.parametrize("label", [label for label in CLASSES if label != "public"])
def test_scan_of_a_target_in_refused_space_is_a_422_problem(tmp_path, ssrf_dns, label):
    with make_client(tmp_path, ssrf_dns, allow_private_targets=False) as client:
        answer = client.post("/api/v1/scans", json={"domains": [f"{label}.ssrf.test"]})
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert problem["type"] == "urn:souverain:problem:target-refused"
        assert problem["host"] == f"{label}.ssrf.test"
        assert problem["address_class"] == address_class(CLASSES[label][1])
        assert "--allow-private-targets" in problem["detail"]


def test_public_target_is_accepted_and_www_is_checked_too(tmp_path, ssrf_dns):
    with make_client(tmp_path, ssrf_dns, allow_private_targets=False) as client:
        assert client.post("/api/v1/scans", json={"domains": ["public.ssrf.test"], "functions": ["dns"]}).status_code == 202
        www = client.post("/api/v1/scans", json={"domains": ["wwwprivate.ssrf.test"]})
        assert www.status_code == 422 and www.json()["host"] == "www.wwwprivate.ssrf.test"


def test_allow_private_targets_lets_them_through(tmp_path, ssrf_dns):
    with make_client(tmp_path, ssrf_dns, allow_private_targets=True) as client:
        answer = client.post("/api/v1/scans", json={"domains": ["loopback.ssrf.test"], "functions": ["dns"]})
        assert answer.status_code == 202


def test_the_scan_form_shows_the_refusal(tmp_path, ssrf_dns):
    with make_client(tmp_path, ssrf_dns, allow_private_targets=False) as client:
        token = csrf_of(client)
        page = client.post("/scan", data={"csrf": token, "domains": "private.ssrf.test", "functions": "dns"})
        assert page.status_code == 422 and "10.1.2.3" in page.text and "private" in page.text


@pytest.fixture
def redirecting_site(tmp_path):
    site = tmp_path / "site"
    for host in ("start.test", "inner.test"):
        (site / host).mkdir(parents=True)
        (site / host / "index.html").write_text(f"<title>{host}</title>")
    (site / "redirects.yaml").write_text(yaml.safe_dump({"start.test": {"/": [302, "http://inner.test/"]}}))
    server = WebServer(site).start()
    yield server
    server.stop()


def _fetch(server, allow):
    async def resolve(host):
        return {"inner.test": ["10.0.0.1"]}[host]

    return asyncio.run(fetch_site("start.test", ["9.9.9.9"], timeout=5, connect_map=ConnectMap.parse(server.connect_to()),
                                  resolve=resolve, allow=allow))


def test_the_web_fetch_rechecks_every_redirect(redirecting_site):
    unguarded = _fetch(redirecting_site, None)
    assert unguarded.final_url == "http://inner.test/" and unguarded.status == 200
    redirecting_site.requests.clear()
    guarded = _fetch(redirecting_site, allowed_address)
    assert guarded.error == "inner.test: refused address 10.0.0.1"
    assert {host for _, host, _ in redirecting_site.requests} == {"start.test"}  # never asked inner.test


def test_the_web_fetch_refuses_a_private_first_address(redirecting_site):
    result = asyncio.run(fetch_site("start.test", ["192.168.1.1"], timeout=5, allow=allowed_address,
                                    connect_map=ConnectMap.parse(redirecting_site.connect_to())))
    assert result.status is None and "refused address 192.168.1.1" in result.error
    assert not redirecting_site.requests


# -- authentication ----------------------------------------------------------------------
def test_serve_refuses_a_public_address_without_a_token(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--db", f"sqlite:///{tmp_path / 'w.db'}"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        ("error: --host 0.0.0.0 is not a loopback address: give --token-file FILE or --users FILE so that the "
         "server asks for authentication")]
    short = tmp_path / "token"
    short.write_text("short\n")
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--token-file", str(short)])
    assert result.exit_code == 2 and "at least 16 characters" in result.output


@pytest.fixture
def guarded(tmp_path, world_dns):
    with make_client(tmp_path, world_dns, token=TOKEN) as client:
        yield client


def test_api_needs_the_bearer_token(guarded):
    for headers in ({}, {"authorization": "Bearer wrong-token-of-some-length"}, {"authorization": TOKEN}):
        answer = guarded.post("/api/v1/scans", json={"domains": ["m365.test"]}, headers=headers)
        assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert guarded.get("/api/v1/kb/search?q=ovh").status_code == 401
    good = guarded.get("/api/v1/kb/search?q=ovh", headers={"authorization": f"Bearer {TOKEN}"})
    assert good.status_code == 200
    assert guarded.get("/api/v1/health").status_code == 200  # for load balancers: versions only


def test_pages_need_a_session_from_the_login_form(guarded):
    first = guarded.get("/kb", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/login"
    token = csrf_of(guarded, "/login")
    wrong = guarded.post("/login", data={"csrf": token, "token": "not the token"}, follow_redirects=False)
    assert wrong.status_code == 401 and "souverain_session" not in wrong.cookies
    assert TOKEN not in wrong.text
    right = guarded.post("/login", data={"csrf": token, "token": TOKEN}, follow_redirects=False)
    assert right.status_code == 303
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("samesite", "SameSite")
    assert guarded.get("/kb", follow_redirects=False).status_code == 200
    guarded.cookies.set("souverain_session", guarded.cookies["souverain_session"][:-2] + "00")
    assert guarded.get("/kb", follow_redirects=False).status_code == 303  # a forged signature


def test_login_needs_its_csrf_token(guarded):
    csrf_of(guarded, "/login")
    answer = guarded.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert answer.status_code == 403


# -- CSRF, headers, limits ---------------------------------------------------------------
def test_scan_form_needs_the_csrf_token(client):
    token = csrf_of(client)
    assert client.post("/scan", data={"domains": "m365.test"}).status_code == 403
    assert client.post("/scan", data={"csrf": "forged" + token, "domains": "m365.test"}).status_code == 403
    client.cookies.clear()  # the token without its cookie (another site's form)
    assert client.post("/scan", data={"csrf": token, "domains": "m365.test"}).status_code == 403
    token = csrf_of(client)
    ok = client.post("/scan", data={"csrf": token, "domains": "m365.test", "functions": "dns"},
                     follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"].startswith("/scans/")


def test_security_headers(client):
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in page.text and not re.search(r"\son[a-z]+=", page.text)  # no inline script/handlers
    assert "souverain_csrf" in page.headers["set-cookie"] and "HttpOnly" in page.headers["set-cookie"]
    report = client.get("/report/assessment.html?offer=aws-esc")
    assert "sandbox" in report.headers["content-security-policy"]
    assert "script-src" not in report.headers["content-security-policy"]  # default-src 'none': no script at all


def test_request_size_limit(client):
    big = {"domains": ["m365.test"], "padding": "x" * 300_000}
    answer = client.post("/api/v1/scans", json=big)
    assert answer.status_code == 413 and answer.json()["title"] == "Content too large"

    def chunks():
        for _ in range(40):
            yield b"x" * 10_000

    streamed = client.post("/api/v1/scans", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def test_database_password_never_shown(tmp_path, world_dns):
    from souverain.errors import register_secret
    from souverain.web.api import Problem

    register_secret("hunter2-db-password")
    problem = Problem(400, "Bad", "cannot use postgresql://u:hunter2-db-password@db/x").response("/api/v1/x")
    assert b"hunter2" not in problem.body


@pytest.mark.parametrize("allow", [False, True])
def test_server_scans_pass_the_guard_to_the_web_fetch(tmp_path, monkeypatch, allow):
    import souverain.scan
    from souverain.errors import UsageError
    from souverain.store.database import Store
    from souverain.web.jobs import Jobs, ScanSettings

    seen = {}

    async def fake_scan(kb, domains, options, ip_table, progress=None):
        seen["allow"] = options.address_allowed
        raise UsageError("stop here")

    monkeypatch.setattr(souverain.scan, "scan_domains", fake_scan)
    pool = Jobs(Store.open(f"sqlite:///{tmp_path / 'w.db'}"), ScanSettings(allow_private_targets=allow))
    pool.run(pool.submit(["m365.test"], ("web",)))
    assert (seen["allow"] is None) is allow
    if not allow:
        assert seen["allow"]("10.0.0.1") is False and seen["allow"]("9.9.9.9") is True


def test_serve_with_a_token_file_starts_on_a_public_address(tmp_path, monkeypatch, world_dns):
    import uvicorn

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: started.update(app=app, **kwargs))
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "8123", "--token-file", str(token_file),
                                      "--db", f"sqlite:///{tmp_path / 'w.db'}", "--nameserver",
                                      f"127.0.0.1:{world_dns.port}", "--lang", "fr"])
    assert result.exit_code == 0, result.output
    assert (started["host"], started["port"]) == ("0.0.0.0", 8123)
    ctx = started["app"].state.ctx
    assert ctx.settings.token == TOKEN and ctx.settings.lang == "fr"
    assert ctx.settings.scan.nameservers == [("127.0.0.1", world_dns.port)]
    assert ctx.settings.scan.allow_private_targets is False
    assert TOKEN not in result.output


def test_rate_limit_on_scan_submissions_and_sign_in(tmp_path, world_dns):
    with make_client(tmp_path, world_dns, rate=3) as client:
        codes = [client.post("/api/v1/scans", json={"domains": ["m365.test"], "functions": ["dns"]}).status_code
                 for _ in range(4)]
        assert codes == [202, 202, 202, 429]
        limited = client.post("/api/v1/scans", json={"domains": ["m365.test"]})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    with make_client(tmp_path, world_dns, rate=2, token=TOKEN) as client:
        token = csrf_of(client, "/login")
        codes = [client.post("/login", data={"csrf": token, "token": "guess-" + str(i)}).status_code for i in range(3)]
        assert codes == [401, 401, 429]
