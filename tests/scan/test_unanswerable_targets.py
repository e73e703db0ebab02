"""Targets there is nothing to attribute for: a domain that does not exist, a resolver that never answers."""

from __future__ import annotations

import json
import socket

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.model.load import load
from souverain.model.scan import ScanResult
from souverain.report.render import render_scan
from tests.scan.conftest import deps


def test_nxdomain_apex_says_the_domain_does_not_exist(scan_world):
    result = scan_world("gone.nxparent.test", "m365.test")
    gone = deps(result, "gone.nxparent.test", "email.inbound") + deps(result, "gone.nxparent.test", "dns.authoritative") \
        + deps(result, "gone.nxparent.test", "web.hosting")
    assert [d["function"] for d in gone] == ["email.inbound", "dns.authoritative", "web.hosting"]
    for dep in gone:
        assert (dep["status"], dep["reason"], dep["confidence"]) == ("unknown", "domain-nxdomain", "high")
        assert dep["evidence"], "the NXDOMAIN answers are cited"
    everything = [d for d in result["dependencies"] if d["domain"] == "gone.nxparent.test"]
    assert len(everything) == 3 and not any(d["reason"] == "no-mx" for d in everything)
    assert result["summary"]["nonexistent"] == ["gone.nxparent.test"]
    assert [n["id"] for n in result["notices"] if n["domain"] == "gone.nxparent.test"] == ["domain-nxdomain"]
    assert "gone.nxparent.test" not in result["failures"], "a negative answer is not a failure"
    # nothing exists under a name that does not exist: no DKIM or autodiscover questions
    asked = {e["subject"] for e in result["evidence"]["gone.nxparent.test"]}
    assert not any("_domainkey" in name or name.startswith("autodiscover.") for name in asked)


def test_nxdomain_verdict_line(scan_world):
    alone = scan_world("gone.nxparent.test")
    lines = render_scan(alone.model, "table", "en").splitlines()
    assert lines[0] == ("DOES NOT EXIST: gone.nxparent.test (NXDOMAIN): no mail, DNS or web service to attribute.")
    assert not any(line.startswith("UNDETERMINED") for line in lines[:3])
    assert alone["summary"]["verdict"] == "undetermined", "never counted as not exposed"
    assert render_scan(alone.model, "table", "fr").startswith("N'EXISTE PAS : gone.nxparent.test")
    mixed = render_scan(scan_world("gone.nxparent.test", "m365.test").model, "table", "en").splitlines()
    assert mixed[0].startswith("DOES NOT EXIST: gone.nxparent.test") and mixed[1].startswith("EXPOSED")


def test_an_alias_to_a_missing_name_exists(scan_world):
    result = scan_world("dangling.nxparent.test")
    assert "nonexistent" not in result["summary"]
    assert not any(d["reason"] == "domain-nxdomain" for d in result["dependencies"])


def test_a_domain_without_mx_is_still_implicit_mx(scan_world):
    assert deps(scan_world("nomx.test"), "nomx.test", "email.inbound")[0]["reason"] == "no-mx"


@pytest.fixture
def dead_port():
    """A loopback UDP port nothing listens on: the kernel answers ICMP port unreachable."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_no_answer_from_the_resolver_is_said_on_stderr(dead_port, tmp_path):
    server = f"127.0.0.1:{dead_port}"
    result = CliRunner().invoke(cli, ["scan", "m365.test", "--nameserver", server, "--timeout", "0.2",
                                      "--no-web-fetch", "--functions", "mail,dns", "--format", "json", "--no-store",
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (f"warning: no answer from nameserver {server} for any query: "
                                     "check the network or --nameserver")
    data = json.loads(result.stdout)
    assert data["notices"][0]["id"] == "resolver-silent" and data["notices"][0]["params"]["nameservers"] == server
    for dep in data["dependencies"]:
        assert dep["status"] == "unknown" and dep["reason_params"]["status_code"] in ("UNREACHABLE", "TIMEOUT")
    statuses = {item["status"] for item in data["failures"]["m365.test"]}
    assert statuses <= {"UNREACHABLE", "TIMEOUT"}, "no bare ERROR"
    refused = [item for item in data["failures"]["m365.test"] if item["status"] == "UNREACHABLE"]
    assert refused and all("ConnectionRefusedError" in item["error"] for item in refused)
    table = render_scan(load(ScanResult, data), "table", "en")  # a document read back
    assert table.startswith(f"no answer from name server {server} for any query")


def test_a_resolver_that_answers_raises_no_warning(world_dns):
    result = CliRunner().invoke(cli, ["scan", "broken.test", "--nameserver", f"127.0.0.1:{world_dns.port}",
                                      "--timeout", "0.3", "--no-web-fetch", "--no-store", "--quiet"])
    assert result.exit_code == 0 and result.stderr == ""
    assert "no answer from name server" not in result.stdout
