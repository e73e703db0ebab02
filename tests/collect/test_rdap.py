"""``domain.registrar``: RDAP look-up against a loopback server, parsed and attributed; failures are data."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.collect.rdap import bundled_bootstrap, parse_bootstrap, parse_registrar, rdap_base
from souverain.kb.base import load_kb
from souverain.kb.ipasn import IPASNTable
from souverain.scan import ScanOptions, scan_domains
from souverain.testing.httpserver import WebServer

SITES = Path(__file__).parent.parent / "data" / "rdap"


@pytest.fixture(scope="module")
def rdap_server():
    with WebServer(SITES) as server:
        yield server


def _scan(server: WebServer, *domains: str, extra: tuple[str, ...] = ()) -> dict:
    args = ["scan", *domains, "--functions", "registrar", "--rdap-url", f"http://127.0.0.1:{server.http_port}/rdap",
            "--rdap-qps", "100", "--nameserver", "127.0.0.1:9", "--timeout", "0.2", "--no-store", "--quiet", "--format", "json",
            *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return {dep["domain"]: dep for dep in json.loads(result.output)["dependencies"]}


def test_parse_registrar_reads_vcard_fn_and_iana_id():
    data = json.loads((SITES / "127.0.0.1/rdap/domain/ok.test").read_text())
    assert parse_registrar(data) == ("GANDI SAS", 81)
    assert parse_registrar({"entities": [{"roles": ["registrant"], "vcardArray": ["vcard", [["fn", {}, "text", "X"]]]}]}) \
        == (None, None)
    assert parse_registrar({"entities": "not a list"}) == (None, None)


def test_bootstrap_prefers_https_and_the_override_wins():
    table = parse_bootstrap({"services": [[["Test", "example"], ["http://rdap.example/", "https://rdap.example/"]]]})
    assert table == {"test": "https://rdap.example/", "example": "https://rdap.example/"}
    assert rdap_base("a.test", bootstrap=table) == "https://rdap.example/"
    assert rdap_base("a.test", "http://127.0.0.1:1/rdap", table) == "http://127.0.0.1:1/rdap"
    assert rdap_base("a.zz", bootstrap=table) is None
    assert bundled_bootstrap()["com"].startswith("https://rdap.verisign.com/")


def test_registrar_known_by_iana_id_is_the_kb_entity_with_its_chain(rdap_server):
    deps = _scan(rdap_server, "ok.test")
    dep = deps["ok.test"]
    assert (dep["function"], dep["status"], dep["tier"]) == ("domain.registrar", "identified", "verified")
    assert dep["operator"]["id"] == "gandi"
    assert dep["rule"] == "entities/gandi.yaml: iana_registrar_id 81"
    assert ("http", "127.0.0.1", "/rdap/domain/ok.test") in rdap_server.requests


def test_unknown_registrar_keeps_its_rdap_name_at_tier_registered(rdap_server):
    dep = _scan(rdap_server, "elsewhere.test")["elsewhere.test"]
    assert (dep["status"], dep["tier"], dep["operator"]) == ("identified", "registered", None)
    assert dep["subject"] == "Example <b>Registrar</b>, Inc."


@pytest.mark.parametrize(("domain", "error"), [
    ("missing.test", "HTTP 404"),
    ("badjson.test", "bad JSON"),
    ("noregistrar.test", "no registrar in the answer"),
])
def test_rdap_failures_are_unknown_with_their_reason(rdap_server, domain, error):
    dep = _scan(rdap_server, domain)[domain]
    assert (dep["status"], dep["tier"], dep["reason_params"]["error"]) == ("unknown", "unknown", error)
    assert dep["evidence"]


def test_one_request_per_domain_and_html_escaped_in_reports(rdap_server, tmp_path):
    before = len(rdap_server.requests)
    _scan(rdap_server, "ok.test", "elsewhere.test", "missing.test")
    assert len(rdap_server.requests) - before == 3
    out = tmp_path / "r.html"
    args = ["scan", "elsewhere.test", "--functions", "registrar", "--rdap-url",
            f"http://127.0.0.1:{rdap_server.http_port}/rdap", "--rdap-qps", "100", "--nameserver", "127.0.0.1:9",
            "--no-store", "--quiet",
            "--format", "html", "-o", str(out)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert "<b>Registrar</b>" not in out.read_text()


def test_timeout_is_evidence_not_a_crash():
    with WebServer(SITES, slow={"127.0.0.1": 5}) as slow:
        options = ScanOptions(functions=("registrar",), nameservers=[("127.0.0.1", 9)], timeout=0.2,
                              at=dt.date(2026, 12, 7), rdap_url=f"http://127.0.0.1:{slow.http_port}/rdap",
                              rdap_timeout=0.3)
        result = asyncio.run(scan_domains(load_kb(), ["ok.test"], options, IPASNTable.load()))
    [dep] = result.dependencies
    assert (dep.status, dep.reason, dep.reason_params["error"]) == ("unknown", "registrar-lookup-failed", "timeout")
    [item] = result.evidence["ok.test"]
    assert item.source == "rdap" and item.recheck() and "ok.test" in item.recheck()


def test_bad_rdap_url_exits_2():
    result = CliRunner().invoke(cli, ["scan", "ok.test", "--functions", "registrar", "--rdap-url", "ftp://x"])
    assert result.exit_code == 2 and "http:// or https://" in result.output
