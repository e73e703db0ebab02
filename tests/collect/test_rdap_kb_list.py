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


# -- where a person reads the answer: which server, and where it came from ----------------------

def test_reports_say_which_server_answered_and_where_the_kb_list_took_it_from(world):
    from souverain.report.render import render_scan

    _, web, _ = world
    base = f"https://rdap.registry.test:{web.https_port}/"
    kb = listed(load_kb(), {"tld": "test", "url": base})
    dns_server, _, ca = world
    options = ScanOptions(functions=("registrar",), nameservers=[("127.0.0.1", dns_server.port)], timeout=1.0,
                          at=dt.date(2026, 12, 7), rdap_timeout=5.0, ca_file=str(ca.ca_file), rdap_qps=100.0)
    result = asyncio.run(scan_domains(kb, ["ok.test", "elsewhere.test"], options, IPASNTable.load()))
    assert result.evidence["ok.test"][0].detail["server"] == base
    table = render_scan(result, "table", "en", width=400)
    expected = (f"RDAP server {base}, from the knowledge base's list of servers IANA's file leaves out (source: "
                f"{SOURCE['title']}, {SOURCE['url']}, checked 2026-12-07)")
    assert f"ok.test: {expected}" in table and f"elsewhere.test: {expected}" in table
    assert table.count(expected) == 2  # one line per domain
    html = render_scan(result, "html", "en")
    assert html.count('class="muted rdap-server"') == 2 and SOURCE["url"] in html and base in html
    french = render_scan(result, "table", "fr", width=400)
    assert f"ok.test: Serveur RDAP {base}, d'après la liste de la base de connaissances" in french
    # the web scan page shows the HTML report of the stored result (JSON read back): the same line
    from souverain.model.load import load
    from souverain.model.scan import ScanResult

    stored = load(ScanResult, json.loads(json.dumps(result.as_dict(), default=str)))
    assert render_scan(stored, "html", "en").count('class="muted rdap-server"') == 2


def _registrar_row(detail: dict):
    from souverain.model.dependency import Dependency
    from souverain.model.evidence import Evidence

    item = Evidence("e1", "rdap", "registrar", "example.fr", "ok", detail=detail)
    dep = Dependency("example.fr", "domain.registrar", "identified", "low", "registrar-name",  # type: ignore[arg-type]
                     {"registrar": "X", "iana_id": "-"}, evidence=("e1",), tier="registered")
    return dep, {"e1": item}


@pytest.mark.parametrize(("detail", "expected"), [
    ({"url": "https://rdap.nic.fr/domain/example.fr", "server": "https://rdap.nic.fr/", "server_from": "iana-bootstrap",
      "server_source": "https://data.iana.org/rdap/dns.json", "server_source_date": "2026-06-26T17:00:01Z"},
     "RDAP server https://rdap.nic.fr/, from IANA's RDAP bootstrap file (published 2026-06-26)"),
    ({"url": "http://127.0.0.1:8080/rdap/domain/example.fr", "server_from": "rdap-url"},  # before "server" was kept
     "RDAP server http://127.0.0.1:8080/rdap/, given with --rdap-url"),
    ({"server_from": "kb-list", "server_source": "https://registry.example/none", "server_source_title": "No RDAP",
      "server_source_date": "2026-12-07"},
     ("No RDAP server: the registry documents none, says the knowledge base's list (source: No RDAP, "
      "https://registry.example/none, checked 2026-12-07)")),
    ({"error": "no RDAP server known for this TLD"}, None),
])
def test_the_server_line_of_each_origin(detail, expected):
    from souverain.report.i18n import Translator
    from souverain.report.render import rdap_server_text

    dep, evidence = _registrar_row(detail)
    assert rdap_server_text(dep, evidence, Translator("en")) == expected


def test_update_rdap_names_each_listed_tld_the_new_bootstrap_covers(tmp_path):
    source, out = tmp_path / "dns.json", tmp_path / "out.json"
    source.write_text(json.dumps({"publication": "2027-01-15T18:00:01Z", "services": [
        [["fr"], ["https://rdap.nic.fr/"]], [["ch", "li"], ["https://rdap.bootstrap.example/"]],
        [["it"], ["https://rdap.nic.it/"]]]}), encoding="utf-8")
    result = CliRunner().invoke(cli, ["kb", "update-rdap", "--from", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tlds"] == 4  # the data on standard output, the advice on standard error
    lines = result.stderr.splitlines()
    fix = "now in IANA's RDAP bootstrap ({}); remove it from lists/rdap-servers.yaml, which gives {}"
    assert lines == [f"ch: {fix.format('https://rdap.bootstrap.example/', 'https://rdap.nic.ch/')}",
                     f"it: {fix.format('https://rdap.nic.it/', 'no server (the registry documents none)')}",
                     f"li: {fix.format('https://rdap.bootstrap.example/', 'https://rdap.nic.li/')}"]
    french = CliRunner().invoke(cli, ["kb", "update-rdap", "--from", str(source), "--out", str(out), "--lang", "fr"])
    assert french.stderr.splitlines()[0].startswith("ch : désormais dans le fichier d'amorçage RDAP de l'IANA")
    none = tmp_path / "none.json"  # a bootstrap that covers no listed TLD: no line
    none.write_text(json.dumps({"publication": "2027-01-15T18:00:01Z", "services": [[["fr"], ["https://rdap.nic.fr/"]]]}),
                    encoding="utf-8")
    quiet = CliRunner().invoke(cli, ["kb", "update-rdap", "--from", str(none), "--out", str(out)])
    assert quiet.exit_code == 0 and quiet.stderr == ""
