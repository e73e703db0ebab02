"""``scan DOMAIN --inventory FILE``: one report over DNS/web findings and the inventory, a
dependency found by both merged with all its evidence, stored and tracked by ``history``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.testing.dnsserver import DNSServer

WORLD = Path(__file__).parents[1] / "data" / "world"
DATA = Path(__file__).parents[1] / "data" / "inventory"


@pytest.fixture(scope="module")
def dns():
    server = DNSServer(WORLD / "zones").start()
    yield server
    server.stop()


def scan(dns: DNSServer, *args: str) -> dict:
    result = CliRunner().invoke(cli, ["scan", "web.test", "--nameserver", f"127.0.0.1:{dns.port}", "--timeout", "0.3",
                                      "--no-web-fetch", "--at", "2026-12-01", "--quiet", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_inventory_merged_into_the_scan(dns: DNSServer, tmp_path: Path) -> None:
    har = tmp_path / "web.har"  # a HAR whose third party is a service the scan finds too (the MX host's operator)
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [
        {"request": {"method": "GET", "url": "https://www.web.test/"}},
        {"request": {"method": "GET", "url": "https://www.googletagmanager.com/gtag/js?id=G-1"}},
    ]}}), encoding="utf-8")
    plain = scan(dns, "--no-store")
    doc = scan(dns, "--no-store", "--inventory", str(DATA / "terraform-plan.json"), "--inventory", str(har))
    assert len(doc["dependencies"]) == len(plain["dependencies"]) + 6
    aws = next(d for d in doc["dependencies"] if (d["service"] or {}).get("id") == "aws-cloud")
    assert aws["domain"] == "web.test"
    items = {e["id"]: e for e in doc["evidence"]["web.test"]}
    assert len(items) == len(plain["evidence"]["web.test"]) + 6  # numbered after the domain's own
    assert all(items[e]["source"] == "file" for e in aws["evidence"])
    assert "cloud.compute" in {f["function"] for f in doc["summary"]["functions"]}
    assert doc["scan"]["functions"][-2:] == ["inventory:terraform", "inventory:har"]


def test_same_dependency_merged_with_all_evidence(dns: DNSServer, tmp_path: Path) -> None:
    plain = scan(dns, "--no-store")
    mail = next(d for d in plain["dependencies"] if d["function"] == "email.inbound" and d["service"])
    listing = tmp_path / "apps.csv"  # the organisation lists its mail service too: same function, same service
    listing.write_text(f"name,domain\nMail,{mail['subject'] or 'mx1.mail.ovh.net'}\n", encoding="utf-8")
    doc = scan(dns, "--no-store", "--inventory", str(listing))
    merged = [d for d in doc["dependencies"] if (d["service"] or {}).get("id") == mail["service"]["id"]
              and d["function"] == "email.inbound"]
    assert len(merged) == 1
    items = {e["id"]: e for e in doc["evidence"]["web.test"]}
    sources = {items[e]["source"] for e in merged[0]["evidence"]}
    assert sources == {"dns", "file"}
    assert len(merged[0]["evidence"]) == len(mail["evidence"]) + 1


def test_bad_inventory_stops_before_any_query(dns: DNSServer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"bomFormat": "CycloneDX", "components": [', encoding="utf-8")
    result = CliRunner().invoke(cli, ["scan", "web.test", "--nameserver", f"127.0.0.1:{dns.port}", "--no-store",
                                      "--inventory", str(bad)])
    assert result.exit_code == 2 and "bad.json:1: not valid JSON" in result.output


def history(db: str) -> dict:
    result = CliRunner().invoke(cli, ["history", "web.test", "--db", db, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_history_compares_inventories_only_between_scans_that_read_them(dns: DNSServer, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'scans.db'}"
    plan = json.loads((DATA / "terraform-plan.json").read_text(encoding="utf-8"))
    first = tmp_path / "first.json"  # the same plan before its storage module (Scaleway, Azure) was added
    first.write_text(json.dumps({**plan, "planned_values": {"root_module": {
        "resources": plan["planned_values"]["root_module"]["resources"]}}}), encoding="utf-8")
    scan(dns, "--db", db, "--inventory", str(first))
    scan(dns, "--db", db, "--inventory", str(DATA / "terraform-plan.json"))
    scan(dns, "--db", db)  # no inventory read: its dependencies are not "removed"
    scan(dns, "--db", db, "--inventory", str(DATA / "terraform-plan.json"))  # nor "added" back
    found = history(db)
    ids = [s["id"] for s in found["scans"]]
    cloud = [c for c in found["changes"] if c["function"] == "cloud.compute"]
    assert len(cloud) == 1 and (cloud[0]["scan_before"], cloud[0]["scan_after"]) == (ids[0], ids[1])
    assert any("Scaleway" in item for item in cloud[0]["after"])
    assert not any("Scaleway" in item for item in cloud[0]["before"])
    assert not [c for c in found["changes"] if c["scan_after"] in ids[2:]], found["changes"]
    skipped = {(n["scan_before"], n["scan_after"]): n["functions"] for n in found["not_compared"]}
    assert "cloud.compute" in skipped[(ids[1], ids[2])] and "cloud.compute" in skipped[(ids[2], ids[3])]
