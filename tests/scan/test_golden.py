"""Golden files: the scan of a few test-world domains in every output format, compared byte for byte
with tests/golden/scan/. A change in what a report says shows up here as a diff to review.

The JSON comes from ``souverain scan`` (click's runner, loopback DNS); what varies from run to run
is normalised (times, ids, versions, the resolver's port, DNS counters) and what the test DNS
server shuffles is put in a canonical order (records of an answer, evidence ids). The other
formats are rendered from that canonical document read back into the model, so they are
deterministic too. See tests/golden/README.md; regenerate with
``SOUVERAIN_REGEN_GOLDEN=1 PYTHONPATH=src python -m pytest tests/scan/test_golden.py``.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.kb.base import load_kb
from souverain.kb.display import display_names, record_sources
from souverain.model.load import load
from souverain.model.scan import ScanResult
from souverain.report.render import render_scan
from souverain.testing.httpserver import TestCA, WebServer
from tests.scan.conftest import WORLD

GOLDEN = Path(__file__).parents[1] / "golden" / "scan"
REGENERATE = os.environ.get("SOUVERAIN_REGEN_GOLDEN") == "1"
REGEN_COMMAND = "SOUVERAIN_REGEN_GOLDEN=1 PYTHONPATH=src python -m pytest tests/scan/test_golden.py"
MAX_DIFF_LINES = 60

# one Microsoft 365 domain behind a Proofpoint gateway, one self-hosted on OVHcloud (FR), one
# Google Workspace domain: the statuses, laws and alternatives most reports show
DOMAINS = ["m365pp.test", "selfovh.test", "gworkspace.test"]
# and one web scan through the loopback HTTPS server: hosting, CA and third parties of a home page
WEB_DOMAIN = "web.test"
# file suffix -> (format, language)
FORMATS = {"json": ("json", "en"), "csv": ("csv", "en"), "sarif.json": ("sarif", "en"),
           "html": ("html", "en"), "fr.html": ("html", "fr"), "table.txt": ("table", "en")}

PLACEHOLDERS = {"time": "2000-01-01T00:00:00Z", "scan_id": "SCAN-ID", "version": "VERSION",
                "kb_version": "KB-VERSION", "port": "PORT", "tls_version": "TLS-VERSION",
                "cipher": "CIPHER"}
_EVIDENCE_ID = re.compile(r"([a-z]+)(\d+)$")


def scan_json(domain: str, port: int, *web: str) -> dict[str, Any]:
    """The JSON of ``souverain scan DOMAIN``: mail and DNS only, unless ``web`` gives the options
    that reach the loopback web server (--ca-file, --connect-to)."""
    # a generous timeout: none of these domains' queries times out, and a slow, loaded machine
    # must not turn an answer into a TIMEOUT that the golden files would report as a change
    checks = list(web) if web else ["--functions", "mail,dns", "--no-web-fetch"]
    result = CliRunner().invoke(cli, [
        "scan", domain, "--nameserver", f"127.0.0.1:{port}", "--timeout", "3",
        "--at", "2026-11-28", *checks, "--no-store", "--quiet", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def canonical(document: dict[str, Any], port: int) -> dict[str, Any]:
    """The scan document with volatile fields replaced by placeholders and the order the test DNS
    server and the asynchronous collectors choose replaced by a canonical one."""
    data = _replace_port(document, str(port))
    data["tool"]["version"] = PLACEHOLDERS["version"]
    data["kb_version"] = PLACEHOLDERS["kb_version"]
    scan = data["scan"]
    scan.update(id=PLACEHOLDERS["scan_id"], started=PLACEHOLDERS["time"],
                finished=PLACEHOLDERS["time"], duration_s=0.0, dns_stats={})
    for domain, items in data["evidence"].items():
        renames = _renumber(items)
        for item in items:
            item["records"].sort(key=_json_key)
            if item.get("at"):
                item["at"] = PLACEHOLDERS["time"]
            item["id"] = renames[item["id"]]
            item.pop("recheck", None)  # computed from the fields above: the model writes it again
            _normalise_tls(item.get("detail", {}).get("tls"))
        items.sort(key=lambda item: _number(item["id"]))
        for dep in data["dependencies"]:
            if dep["domain"] == domain:
                dep["evidence"] = sorted((renames.get(e, e) for e in dep["evidence"]), key=_number)
    # read back and written again: the model's own form (computed fields included)
    return load(ScanResult, data).as_dict()


def _normalise_tls(tls: dict[str, Any] | None) -> None:
    """The test CA issues a new certificate each session (validity from now), and the protocol
    and cipher depend on the OpenSSL build, not on souverain."""
    if not tls:
        return
    for field in ("not_before", "not_after"):
        if tls.get(field):
            tls[field] = PLACEHOLDERS["time"]
    if tls.get("version"):
        tls["version"] = PLACEHOLDERS["tls_version"]
    if tls.get("cipher"):
        tls["cipher"] = PLACEHOLDERS["cipher"]


def _replace_port(value: Any, port: str) -> Any:
    if isinstance(value, dict):
        return {key: _replace_port(item, port) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_port(item, port) for item in value]
    if isinstance(value, str):
        return value.replace(f"127.0.0.1:{port}", f"127.0.0.1:{PLACEHOLDERS['port']}")
    return value


def _renumber(items: list[dict[str, Any]]) -> dict[str, str]:
    """Old id -> new id, numbered (per prefix) in the order of the items' content without their
    id and time: the same observations get the same ids whatever order they were collected in."""
    def content(item: dict[str, Any]) -> str:
        stripped = {k: v for k, v in item.items() if k not in ("id", "at", "recheck")}
        stripped["records"] = sorted(item["records"], key=_json_key)
        return _json_key(stripped)

    renames: dict[str, str] = {}
    counters: dict[str, int] = {}
    def key(item: dict[str, Any]) -> tuple[str, ...]:
        rdtype = item.get("detail", {}).get("rdtype", "")
        return item["source"], item["kind"], item["subject"], rdtype, content(item)

    ordered = sorted(items, key=key)
    for item in ordered:
        match = _EVIDENCE_ID.match(item["id"])
        prefix = match.group(1) if match else "x"
        counters[prefix] = counters.get(prefix, 0) + 1
        renames[item["id"]] = f"{prefix}{counters[prefix]}"
    return renames


def _number(evidence_id: str) -> tuple[str, int]:
    match = _EVIDENCE_ID.match(evidence_id)
    return (match.group(1), int(match.group(2))) if match else (evidence_id, 0)


def _json_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def rendered(document: dict[str, Any]) -> dict[str, str]:
    """Every golden format of one canonical document, rendered from the model."""
    model = load(ScanResult, document)
    # as `scan` renders: with the KB's display names (and its sources, for HTML); the table 160 columns wide and with its
    # re-check commands (-v), so that the file guards them too
    kb = load_kb()
    names, sources = display_names(kb), record_sources(kb)
    return {suffix: render_scan(model, fmt, lang, names, width=160, verbose=True,
                                sources=sources).rstrip("\n") + "\n"
            for suffix, (fmt, lang) in FORMATS.items()}


def compare(path: Path, actual: str) -> None:
    """Equal to the golden file, or a failure with a (truncated) unified diff and the command that
    regenerates; with SOUVERAIN_REGEN_GOLDEN=1 the file is written instead."""
    if REGENERATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="")
        return
    if not path.exists():
        pytest.fail(f"no golden file {path.relative_to(GOLDEN.parents[1])}: create it with\n"
                    f"  {REGEN_COMMAND}")
    expected = path.read_text(encoding="utf-8")
    if actual == expected:
        return
    diff = list(difflib.unified_diff(expected.splitlines(), actual.splitlines(),
                                     f"golden/{path.name}", "this run", lineterm="", n=2))
    shown = diff[:MAX_DIFF_LINES]
    if len(diff) > MAX_DIFF_LINES:
        shown.append(f"... {len(diff) - MAX_DIFF_LINES} more diff lines")
    pytest.fail(f"{path.relative_to(GOLDEN.parents[1])} differs from this run:\n"
                + "\n".join(shown)
                + f"\nIf the change is intended, review it and regenerate:\n  {REGEN_COMMAND}",
                pytrace=False)


@pytest.fixture(scope="module")
def documents(world_dns) -> dict[str, dict[str, Any]]:
    port = world_dns.port
    return {domain: canonical(scan_json(domain, port), port) for domain in DOMAINS}


@pytest.fixture(scope="module")
def web_document(world_dns) -> dict[str, Any]:
    ca = TestCA()
    server = WebServer(WORLD / "sites", ca).start()
    try:
        web = ["--ca-file", str(ca.ca_file),
               *(f"--connect-to={rule}" for rule in server.connect_to())]
        return canonical(scan_json(WEB_DOMAIN, world_dns.port, *web), world_dns.port)
    finally:
        server.stop()
        ca.cleanup()


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("suffix", list(FORMATS))
def test_scan_output_matches_its_golden_file(documents, domain, suffix):
    compare(GOLDEN / f"{domain}.{suffix}", rendered(documents[domain])[suffix])


@pytest.mark.parametrize("suffix", list(FORMATS))
def test_web_scan_output_matches_its_golden_file(web_document, suffix):
    compare(GOLDEN / f"{WEB_DOMAIN}.{suffix}", rendered(web_document)[suffix])


def test_canonical_form_hides_what_varies_between_runs(world_dns):
    """Two scans of the same domain differ (scan ids, times), and a scan whose evidence came in
    another order (ids allocated differently, records shuffled) is another document: their
    canonical forms are one."""
    port = world_dns.port
    first, second = (scan_json("m365pp.test", port) for _ in range(2))
    assert first["scan"]["id"] != second["scan"]["id"]
    assert canonical(first, port) == canonical(second, port)
    reordered = copy.deepcopy(first)
    items = reordered["evidence"]["m365pp.test"]
    renames = {item["id"]: f"e{len(items) - n}" for n, item in enumerate(items)}
    for item in items:
        item["id"] = renames[item["id"]]
        item["records"].reverse()
    items.reverse()
    for dep in reordered["dependencies"]:
        dep["evidence"] = [renames[e] for e in reversed(dep["evidence"])]
    assert reordered != first and any(len(i["records"]) > 1 for i in items)
    assert canonical(reordered, port) == canonical(first, port)


def test_a_changed_output_fails_with_a_diff_and_the_regenerate_command(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.REGENERATE", False)
    golden = tmp_path / "golden" / "scan" / "x.csv"
    golden.parent.mkdir(parents=True)
    golden.write_text("domain,status\nx.test,identified\n", encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.GOLDEN", golden.parent)
    compare(golden, "domain,status\nx.test,identified\n")
    with pytest.raises(pytest.fail.Exception) as failure:
        compare(golden, "domain,status\nx.test,identifiet\n")
    message = str(failure.value)
    assert "-x.test,identified" in message and "+x.test,identifiet" in message
    assert REGEN_COMMAND in message
