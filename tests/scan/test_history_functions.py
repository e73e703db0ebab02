"""`souverain history`: scans run with different --functions only compare what both collected."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.kb.base import load_kb
from souverain.kb.schema import FUNCTIONS
from souverain.testing.dnsserver import DNSServer
from tests.scan.conftest import WORLD


def test_a_function_one_scan_did_not_collect_is_not_a_move(world_dns, tmp_path):
    db = f"sqlite:///{tmp_path / 'scans.db'}"
    zones = tmp_path / "zones"
    shutil.copytree(WORLD / "zones", zones)
    (zones / "web.test.zone").write_text((zones / "web.test.zone").read_text()
                                         .replace("mx1.mail.ovh.net.", "m365-test.mail.protection.outlook.com."))
    moved = DNSServer(zones).start()

    def scan(functions: str, port: int) -> None:
        result = CliRunner().invoke(cli, ["scan", "web.test", "--functions", functions, "--nameserver",
                                          f"127.0.0.1:{port}", "--timeout", "0.3", "--no-web-fetch", "--db", db,
                                          "--quiet", "--format", "json"])
        assert result.exit_code == 0, result.output

    try:
        scan("mail,dns,web", world_dns.port)
        scan("mail", moved.port)  # the MX moved; the web and DNS were not looked at
        scan("mail,web", moved.port)
    finally:
        moved.stop()
    data = json.loads(CliRunner().invoke(cli, ["history", "web.test", "--db", db, "--format", "json"]).output)
    assert len(data["scans"]) == 3
    assert [(c["function"], c["scan_before"], c["scan_after"]) for c in data["changes"]] == [
        ("email.inbound", 1, 2)]  # the real move, and nothing else
    assert "Exchange Online" in data["changes"][0]["after"][0]
    first, second = data["not_compared"]
    assert (first["functions"], first["groups_before"], first["groups_after"]) == (
        ["dns.authoritative", "web.hosting"], ["mail", "dns", "web"], ["mail"])
    assert (second["functions"], second["scan_before"], second["scan_after"]) == (["web.hosting"], 2, 3)
    text = CliRunner().invoke(cli, ["history", "web.test", "--db", db, "--lang", "en"]).output
    assert "Inbound e-mail (mailboxes) moved from" in text  # display names, not ids
    assert "Web hosting moved" not in text and "Authoritative DNS moved" not in text
    assert "Authoritative DNS, Web hosting: not compared between" in text and "(--functions mail,dns,web, then mail)" in text
    fr = CliRunner().invoke(cli, ["history", "web.test", "--db", db, "--lang", "fr"]).output
    assert "Hébergement web : non comparé(s)" in fr


def test_every_function_a_scan_attributes_has_its_check_group():
    GROUP_OF = {fid: f.collected_by for fid, f in load_kb().functions.items() if f.collected_by}
    assert set(FUNCTIONS) - set(GROUP_OF) == {"cloud.compute", "software.supplier", "software.registry"}  # inventories
    assert set(GROUP_OF.values()) == {"mail", "dns", "web", "registry", "registrar"}
