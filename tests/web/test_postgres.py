"""The web server's jobs on PostgreSQL (run when SOUVERAIN_TEST_POSTGRES holds a database URL, as
scripts/test_services.sh prints it), and its password kept out of every page and log line."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from souverain.store.database import Store
from souverain.web.jobs import Jobs, ScanSettings
from tests.web.conftest import wait_done

URL = os.environ.get("SOUVERAIN_TEST_POSTGRES")
needs_postgres = pytest.mark.skipif(not URL, reason="set SOUVERAIN_TEST_POSTGRES to a PostgreSQL URL")
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def pg_url():
    """A PostgreSQL URL whose tables live in a fresh schema, dropped afterwards."""
    assert URL
    schema = f"w_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = sa.engine.make_url(URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def pg_client(url: str, dns):
    from starlette.testclient import TestClient

    from souverain.web.app import Settings, create_app

    scan = ScanSettings(nameservers=[("127.0.0.1", dns.port)], timeout=0.3, fetch_web=False, allow_private_targets=True)
    return TestClient(create_app(Settings(db_url=url, scan=scan)))


def _password(url: str) -> str:
    password = sa.engine.make_url(url).password
    assert password, "the test URL needs a password, to check that it never shows"
    return str(password)


@needs_postgres
def test_jobs_on_postgresql_survive_a_restart(tmp_path, world_dns, pg_url, caplog):
    caplog.set_level(logging.DEBUG)
    password = _password(pg_url)
    seen = []
    with pg_client(pg_url, world_dns) as client:
        job_id = client.post("/api/v1/scans", json={"domains": ["m365.test"], "functions": ["mail"]}).json()["id"]
        job = wait_done(client, job_id)
        assert job["status"] == "done" and job["scan"]["scan"]["domains"] == ["m365.test"]
        for path in ("/", f"/scans/{job_id}", f"/scans/{job_id}/report.html", f"/scans/{job_id}/download/json",
                     "/api/v1/health", "/api/v1/openapi.json", "/nowhere", "/api/v1/scans/nope", "/kb/skype"):
            seen.append(client.get(path).text)
    with Store.open(pg_url) as store:  # the job and its scan are in PostgreSQL
        pool = Jobs(store, ScanSettings())
        assert pool.get(job_id)["status"] == "done"
    with pg_client(pg_url, world_dns) as client:  # a new server on the same database
        again = client.get(f"/api/v1/scans/{job_id}").json()
        assert again["status"] == "done" and again["scan"]["scan"]["domains"] == ["m365.test"]
        seen.append(client.get(f"/scans/{job_id}").text)
    assert all(password not in text for text in seen)
    assert password not in caplog.text


def test_a_database_url_password_is_never_printed_when_the_server_cannot_use_it(tmp_path):
    from click.testing import CliRunner

    from souverain.cli.main import cli

    with socket.socket() as probe:  # a loopback port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    secret = "never-shown-pw-8812"
    result = CliRunner().invoke(cli, ["serve", "--db", f"postgresql+psycopg://souverain:{secret}@127.0.0.1:{port}/x"])
    assert result.exit_code == 2 and result.output.startswith("error: ")
    assert "souverain:***@127.0.0.1" in result.output and secret not in result.output


@needs_postgres
def test_the_running_server_logs_no_password(tmp_path, world_dns, pg_url):
    """`souverain serve --db URL` as a process: its log on stderr, and its pages, never hold the password."""
    import httpx

    password = _password(pg_url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "souverain", "serve", "--port", str(port), "--db", pg_url, "--nameserver",
         f"127.0.0.1:{world_dns.port}", "--timeout", "0.3", "--allow-private-targets", "--no-web-fetch"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(SRC)})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        pages = [httpx.get(base + path, timeout=30).text for path in ("/", "/kb/ovhcloud", "/missing")]
        job_id = httpx.post(base + "/api/v1/scans", json={"domains": ["m365.test"], "functions": ["dns"]}).json()["id"]
        while httpx.get(f"{base}/api/v1/scans/{job_id}", timeout=30).json()["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        pages.append(httpx.get(f"{base}/scans/{job_id}", timeout=30).text)
    finally:
        server.terminate()
        log = server.communicate(timeout=30)[0].decode()
    assert "souverain serving on" in log and "GET /api/v1/health" in log  # the log was captured
    assert password not in log and all(password not in page for page in pages)
