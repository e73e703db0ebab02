"""`souverain scan` and `souverain history` through the CLI: formats, exit codes, storage, escaping."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.testing.dnsserver import DNSServer
from tests.scan.conftest import WORLD


@pytest.fixture
def run(world_dns, tmp_path):
    db = f"sqlite:///{tmp_path / 'scans.db'}"

    def invoke(*args: str, nameserver: str | None = None):
        ns = nameserver or f"127.0.0.1:{world_dns.port}"
        return CliRunner().invoke(cli, ["scan", *args, "--nameserver", ns, "--timeout", "0.3", "--no-web-fetch",
                                        "--db", db, "--quiet"])

    invoke.db = db
    return invoke


def test_json_contract(run):
    result = run("m365.test", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["schema_version"] and data["kb_version"]
    dep = next(d for d in data["dependencies"] if d["function"] == "email.inbound")
    for field in ("function", "service", "operator", "controller", "laws", "confidence", "evidence"):
        assert field in dep
    assert dep["controller"]["country"] == "US"
    assert dep["laws"][0]["path_text"]
    assert data["scan"]["stored_id"] >= 1


def test_table_verdict_first(run):
    result = run("m365.test")
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("EXPOSED")
    fr = run("m365.test", "--lang", "fr")
    assert fr.output.splitlines()[0].startswith("EXPOSÉ")


def test_fail_on_exit_3(run):
    assert run("m365.test", "--fail-on", "exposed").exit_code == 3
    assert run("ovhmail.test", "--functions", "mail", "--fail-on", "exposed").exit_code == 0


@pytest.mark.parametrize("bad", [["not_a domain"], ["http://x.test"], ["m365.test", "--functions", "mail,ftp"],
                                 ["m365.test", "--format", "xml"], ["m365.test", "--nameserver", "dns.example"]])
def test_bad_input_exit_2(run, bad):
    result = run(*bad)
    assert result.exit_code == 2, result.output


def test_csv_and_sarif(run):
    rows = list(csv.DictReader(io.StringIO(run("hostile.test", "m365.test", "--format", "csv").output)))
    assert {r["domain"] for r in rows} == {"hostile.test", "m365.test"}
    # (no subject here starts with = + - @: formulas are tested on inject.test in test_recheck_quoting)
    assert {r["subject"] for r in rows if r["function"] == "email.inbound"} == {
        "mail.hostile.test", "m365-test.mail.protection.outlook.com"}
    sarif = json.loads(run("m365.test", "--format", "sarif").output)
    assert sarif["version"] == "2.1.0"
    run0 = sarif["runs"][0]
    rule_ids = {rule["id"] for rule in run0["tool"]["driver"]["rules"]}
    assert run0["results"] and all(r["ruleId"] in rule_ids for r in run0["results"])
    assert all(r["message"]["text"] and r["locations"] for r in run0["results"])


def test_html_escapes_remote_content(run, tmp_path):
    out = tmp_path / "report.html"
    result = run("hostile.test", "--format", "html", "-o", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#39;txt&#39;)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    # nothing loaded from outside: the only remote URLs are links (the KB's sources, the laws' texts)
    assert set(re.findall(r'([\w-]+)="https?://', html)) <= {"href"} and "url(" not in html and "<link" not in html


def test_history_reports_a_move(run, tmp_path):
    zones = tmp_path / "zones"
    shutil.copytree(WORLD / "zones", zones)
    (zones / "ovhmail.test.zone").write_text((zones / "ovhmail.test.zone").read_text()
                                             .replace("mx1.mail.ovh.net.", "m365-test.mail.protection.outlook.com.")
                                             .replace("@ IN MX 5 mx2.mail.ovh.net.\n", ""))
    assert run("ovhmail.test", "--functions", "mail").exit_code == 0
    moved = DNSServer(zones).start()
    try:
        assert run("ovhmail.test", "--functions", "mail", nameserver=f"127.0.0.1:{moved.port}").exit_code == 0
    finally:
        moved.stop()
    history = CliRunner().invoke(cli, ["history", "ovhmail.test", "--db", run.db, "--format", "json"])
    data = json.loads(history.output)
    assert len(data["scans"]) == 2
    change = next(c for c in data["changes"] if c["function"] == "email.inbound")
    assert change["before"] == ["OVHcloud Email (MX Plan / Zimbra / Exchange)"] or "OVH" in change["before"][0]
    assert change["after"] == ["Exchange Online (Microsoft 365)"]
    text = CliRunner().invoke(cli, ["history", "ovhmail.test", "--db", run.db, "--lang", "en"]).output
    assert "Inbound e-mail (mailboxes) moved from" in text and "Exchange Online" in text


def test_min_confidence_on_the_command_line(run):
    """m365pp.test: mailboxes inferred behind a gateway; with --min-confidence verified they
    count as unknown in the summary, the dependency itself still says what was inferred."""
    loose = json.loads(run("m365pp.test", "--functions", "mail", "--format", "json").output)
    strict = json.loads(run("m365pp.test", "--functions", "mail", "--format", "json",
                            "--min-confidence", "verified").output)
    state = {doc["summary"]["min_confidence"]: {f["function"]: f["state"] for f in doc["summary"]["functions"]}
             for doc in (loose, strict)}
    assert state["inferred"]["email.inbound"] == "exposed" and state["verified"]["email.inbound"] == "unknown"
    assert strict["summary"]["counts"]["by_tier"]["inferred"] == 1
    assert [d["tier"] for d in strict["dependencies"] if d["function"] == "email.inbound"] == ["inferred"]
    bad = run("m365pp.test", "--min-confidence", "guessed")
    assert bad.exit_code == 2 and "'guessed' is not one of" in bad.output
