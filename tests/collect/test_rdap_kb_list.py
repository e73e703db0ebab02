"""The registrar look-up of a TLD that IANA's bootstrap leaves out goes to the KB's list of RDAP
servers (``lists/rdap-servers.yaml``); the evidence says where the server came from; ``--rdap-url``
and the bootstrap win over the list; a TLD in neither stays unknown with its reason."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.collect.rdap import (
    RDAP_LIST,
    bundled_bootstrap,
    check_registrar,
    choose_server,
    kb_servers,
    parse_bootstrap,
)
from souverain.kb.base import KnowledgeBase, load_kb
from souverain.kb.ipasn import IPASNTable
from souverain.kb.schema import Checklist, RDAPServer
from souverain.scan import ScanOptions, scan_domains
from souverain.survey.runner import SurveyOptions, scan_targets
from souverain.testing.dnsserver import DNSServer
from souverain.testing.httpserver import TestCA, WebServer

FIXTURES = Path(__file__).parent.parent / "data" / "rdap" / "127.0.0.1" / "rdap" / "domain"
SOURCE = {"url": "https://registry.example/rdap-doc", "title": "RDAP service of the test registry",
          "retrieved": "2026-12-07"}


def listed(kb: KnowledgeBase, *servers: dict) -> KnowledgeBase:
    """A copy of ``kb`` whose RDAP list holds ``servers`` instead of the bundled entries."""
    record = kb.records[RDAP_LIST]
    assert isinstance(record, Checklist)
    entries = [RDAPServer.model_validate({"sources": [SOURCE], "as_of": "2026-12-07", **s}) for s in servers]
    clone = copy.copy(kb)
    clone.records = {**kb.records, RDAP_LIST: record.model_copy(update={"rdap_servers": entries})}
    return clone


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """rdap.registry.test -> 127.0.0.1 (loopback DNS), served over HTTPS by a test CA."""
    root = tmp_path_factory.mktemp("rdap-world")
    (root / "zones").mkdir()
    (root / "zones" / "registry.test.zone").write_text(
        "$ORIGIN registry.test.\n$TTL 300\n@ SOA ns.registry.test. h.registry.test. 1 7200 900 1209600 300\n"
        "@ NS ns.registry.test.\nrdap A 127.0.0.1\n", encoding="utf-8")
    site = root / "site" / "rdap.registry.test" / "domain"
    site.mkdir(parents=True)
    shutil.copy(FIXTURES / "ok.test", site / "ok.test")
    shutil.copy(FIXTURES / "elsewhere.test", site / "elsewhere.test")
    ca = TestCA(root / "ca")
    dns_server = DNSServer(root / "zones").start()
    web = WebServer(root / "site", ca).start()
    try:
        yield dns_server, web, ca
    finally:
        web.stop()
        dns_server.stop()
        ca.cleanup()


def scan(world, kb: KnowledgeBase, *domains: str, rdap_url: str | None = None):
    dns_server, _, ca = world
    options = ScanOptions(functions=("registrar",), nameservers=[("127.0.0.1", dns_server.port)], timeout=1.0,
                          at=dt.date(2026, 12, 7), rdap_url=rdap_url, rdap_timeout=5.0, ca_file=str(ca.ca_file),
                          rdap_qps=100.0)
    result = asyncio.run(scan_domains(kb, list(domains), options, IPASNTable.load()))
    deps = {dep.domain: dep for dep in result.dependencies}
    evidence = {domain: items[0] for domain, items in result.evidence.items()}
    return deps, evidence


def test_a_tld_only_the_kb_list_serves_is_looked_up_there(world):
    _, web, _ = world
    kb = listed(load_kb(), {"tld": "test", "url": f"https://rdap.registry.test:{web.https_port}/"})
    deps, evidence = scan(world, kb, "ok.test")
    dep, item = deps["ok.test"], evidence["ok.test"]
    assert (dep.status, dep.tier, dep.operator and dep.operator.id) == ("identified", "verified", "gandi")
    assert ("https", "rdap.registry.test", "/domain/ok.test") in web.requests
    assert item.detail["url"] == f"https://rdap.registry.test:{web.https_port}/domain/ok.test"
    assert item.detail["server_from"] == "kb-list"
    assert item.detail["server_source"] == SOURCE["url"]
    assert item.detail["server_source_title"] == SOURCE["title"]
    assert item.detail["server_source_date"] == "2026-12-07"


def test_rdap_url_wins_over_the_kb_list(world):
    _, web, _ = world
    kb = listed(load_kb(), {"tld": "test", "url": "https://rdap.elsewhere.invalid/"})
    before = len(web.requests)
    deps, evidence = scan(world, kb, "elsewhere.test", rdap_url=f"https://rdap.registry.test:{web.https_port}/")
    assert deps["elsewhere.test"].tier == "registered"
    assert evidence["elsewhere.test"].detail["server_from"] == "rdap-url"
    assert "server_source" not in evidence["elsewhere.test"].detail
    assert len(web.requests) == before + 1


def test_a_tld_in_neither_the_bootstrap_nor_the_list_is_unknown_without_a_request(world):
    _, web, _ = world
    kb = listed(load_kb(), {"tld": "other", "url": f"https://rdap.registry.test:{web.https_port}/"})
    before = len(web.requests)
    deps, evidence = scan(world, kb, "ok.test")
    dep = deps["ok.test"]
    assert (dep.status, dep.reason, dep.reason_params["error"]) == (
        "unknown", "registrar-lookup-failed", "no RDAP server known for this TLD")
    assert "server_from" not in evidence["ok.test"].detail
    assert len(web.requests) == before


def test_a_registry_that_documents_no_server_is_unknown_with_that_source(world):
    _, web, _ = world
    kb = listed(load_kb(), {"tld": "test", "url": None})
    before = len(web.requests)
    deps, evidence = scan(world, kb, "ok.test")
    assert deps["ok.test"].reason_params["error"] == "the registry documents no RDAP server for this TLD (knowledge base)"
    assert evidence["ok.test"].detail["server_from"] == "kb-list"
    assert evidence["ok.test"].detail["server_source"] == SOURCE["url"]
    assert len(web.requests) == before


def test_the_bootstrap_wins_over_the_list_and_says_so():
    entry = RDAPServer.model_validate({"tld": "fr", "url": "https://rdap.other.example/", "sources": [SOURCE],
                                       "as_of": "2026-12-07"})
    choice = choose_server("example.fr", listed={"fr": entry})
    assert (choice.base, choice.origin) == (bundled_bootstrap()["fr"], "iana-bootstrap")
    assert choice.source == "https://data.iana.org/rdap/dns.json"
    assert choice.source_date and choice.source_date.startswith("2026-06-26")


def test_the_bundled_list_serves_de_ch_li_from_their_registries_pages():
    servers = kb_servers(load_kb())
    for domain, base, page in [("denic.de", "https://rdap.denic.de/", "denic.de"),
                               ("switch.ch", "https://rdap.nic.ch/", "nic.ch"),
                               ("nic.li", "https://rdap.nic.li/", "nic.li")]:
        choice = choose_server(domain, listed=servers)
        assert (choice.base, choice.origin) == (base, "kb-list"), domain
        assert page in (choice.source or ""), domain


def test_no_listed_tld_is_dead_behind_the_bundled_bootstrap():
    """An entry for a TLD IANA's file now serves is never used: drop it (or it went stale)."""
    shadowed = sorted(set(kb_servers(load_kb())) & set(bundled_bootstrap()))
    assert not shadowed, f"in IANA's bootstrap now, remove from lists/rdap-servers.yaml: {shadowed}"


def test_check_registrar_without_a_list_keeps_the_old_answer():
    found = asyncio.run(check_registrar("example.de", bootstrap={}))
    assert (found.url, found.error) == (None, "no RDAP server known for this TLD")


def test_update_rdap_replaces_the_bootstrap_and_keeps_the_list(tmp_path):
    source, out = tmp_path / "dns.json", tmp_path / "out.json"
    source.write_text(json.dumps({"publication": "2026-12-01T18:00:01Z", "services": [
        [["fr"], ["https://rdap.nic.fr/"]], [["ch"], ["https://rdap.bootstrap.example/"]]]}), encoding="utf-8")
    result = CliRunner().invoke(cli, ["kb", "update-rdap", "--from", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table, servers = parse_bootstrap(json.loads(out.read_text(encoding="utf-8"))), kb_servers(load_kb())
    assert choose_server("denic.de", bootstrap=table, listed=servers).base == "https://rdap.denic.de/"
    assert choose_server("switch.ch", bootstrap=table, listed=servers).origin == "iana-bootstrap"


def test_surveys_use_the_kb_list_too(world):
    dns_server, web, ca = world
    kb = listed(load_kb(), {"tld": "test", "url": f"https://rdap.registry.test:{web.https_port}/"})
    options = SurveyOptions(functions=("registrar",), nameservers=[("127.0.0.1", dns_server.port)], timeout=1.0,
                            at=dt.date(2026, 12, 7), rdap_timeout=5.0, ca_file=str(ca.ca_file), rdap_qps=100.0)
    rows: list = []
    before = len(web.requests)
    asyncio.run(scan_targets(kb, IPASNTable.load(), ["elsewhere.test"], options, rows.append))
    assert len(rows) == 1
    assert web.requests[before:] == [("https", "rdap.registry.test", "/domain/elsewhere.test")]
