"""Checks of replay.py's reading of the recordings and of its coverage measures (no DNS, no scan).

    PYTHONPATH=src python -m pytest benchmarks/eval/test_replay.py -q -p no:cacheprovider

Not collected by the main suite (its testpaths is ``tests``): this guards the evaluation script.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("replay", HERE / "replay.py")
assert _spec and _spec.loader
replay = importlib.util.module_from_spec(_spec)
sys.modules["replay"] = replay
_spec.loader.exec_module(replay)


def _hu_entry(domain: str, mx: list[str], provider: str, category: str, signals: list[dict]) -> dict:
    return {"id": domain, "name": domain, "county": "X", "domain": domain, "mx": mx, "spf": "v=spf1 mx ~all",
            "provider": provider, "category": category, "classification_confidence": 90.0,
            "classification_signals": signals, "sources_detail": {}, "resolve_flags": []}


@pytest.fixture()
def hu_file(tmp_path: Path) -> Path:
    data = {"municipalities": {
        "1": _hu_entry("fajsz.hu", ["mail.fajsz.hu", "mail.tolna.net"], "tolna-net", "hungarian-based", [
            {"kind": "cname_chain", "provider": "tolna-net", "weight": 0.1,
             "detail": "CNAME chain mail.fajsz.hu \u2192 mail10.tolna.net"},
            {"kind": "asn", "provider": "tolna-net", "weight": 0.03, "detail": "ASN 8462 matches tolna-net"},
            {"kind": "spf_ip", "provider": "tolna-net", "weight": 0.08, "detail": "SPF ip4/a ASN 5483 matches t-online"},
            {"kind": "tenant", "provider": "microsoft", "weight": 0.1, "detail": "MS365 tenant detected: Managed"}]),
        "2": _hu_entry("", [], "unknown", "unknown", []),
        "3": _hu_entry("olasz.hu", ["mail.netfort.hu"], "google", "us-cloud", []),
        "4": _hu_entry("kisder.hu", ["193.201.184.99"], "unresolved", "unresolved", []),
    }}
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_hungarian_rows_read_with_the_swiss_loader(hu_file: Path) -> None:
    records = replay.load_ch(hu_file, "hu", "HU")
    assert [r.domain for r in records] == ["fajsz.hu", "olasz.hu", "kisder.hu"]  # the domain-less row is left out
    assert replay.count_domainless(hu_file) == 1
    fajsz = records[0]
    assert fajsz.dataset == "hu" and fajsz.country == "HU"
    assert fajsz.mx_asns == [8462]  # the MX ASN only, not the SPF-ip one
    assert fajsz.mx_cnames == {"mail.fajsz.hu": "mail10.tolna.net"}
    assert fajsz.tenant == "Managed"


def test_hungarian_peer_labels(hu_file: Path) -> None:
    fajsz, olasz, kisder = replay.load_ch(hu_file, "hu", "HU")
    assert replay.peer_labels(fajsz) == {"provider": "other-provider", "provider_raw": "tolna-net",
                                         "coarse": "eu/domestic provider", "us": False, "answers": True}
    assert replay.peer_labels(olasz)["us"] is True
    assert replay.peer_labels(olasz)["coarse"] == "us-cloud"
    assert replay.peer_labels(kisder)["answers"] is False


def test_mx_cname_gets_the_stand_in_address_on_its_target(hu_file: Path) -> None:
    from souverain.kb.ipasn import IPASNTable

    records = replay.load_ch(hu_file, "hu", "HU")
    world, stats, notes = replay.build_world(records, IPASNTable.load(), {}, False)
    assert world.names["mail.fajsz.hu"]["CNAME"] == {"mail10.tolna.net."}
    assert world.names["mail10.tolna.net"]["A"]
    assert stats["mx_hosts_cname"] == 1
    assert notes["fajsz.hu"]["mx_addresses"]["mail.fajsz.hu"]


def _dep(status: str, country: str | None, tier: str | None = None) -> dict:
    dep = {"function": "email.inbound", "status": status, "reason": "mx-service" if status != "unknown" else "mx-no-address",
           "confidence": "high", "service": {"id": "x", "name": "X"}, "operator": {"id": "x"},
           "controller": {"name": "C", "country": country} if country else None, "subject": "mx.example.hu"}
    if tier is not None:
        dep["tier"] = tier
    return dep


def _row(domain: str, ours: dict, peer_us: bool, peer_answers: bool, no_data: bool = False) -> dict:
    return {"dataset": "hu", "domain": domain, "mx": ["mx." + domain], "ours": ours, "no_data": no_data,
            "peer": {"us": peer_us, "answers": peer_answers}}


def test_tier_read_from_the_scan_when_present_else_fallback(hu_file: Path) -> None:
    rec = replay.load_ch(hu_file, "hu", "HU")[0]
    with_field = replay.our_labels(rec, [_dep("identified", "HU", "registered")])
    assert (with_field["tier"], with_field["tier_from_field"]) == ("registered", True)
    without = replay.our_labels(rec, [_dep("identified", "HU")])
    assert (without["tier"], without["tier_from_field"]) == ("verified", False)
    unknown = replay.our_labels(rec, [_dep("unknown", None, "unknown")])
    assert unknown["tier"] == "unknown" and unknown["coarse"] == "unknown"


def test_coverage_excludes_no_data_and_counts_agreement_both_ways() -> None:
    rows = [
        _row("a.hu", {"coarse": "us-cloud", "tier": "verified", "tier_from_field": True}, True, True),
        _row("b.hu", {"coarse": "self-managed", "tier": "registered", "tier_from_field": True}, True, True),
        _row("c.hu", {"coarse": "unknown", "tier": "unknown", "tier_from_field": False}, False, True, no_data=True),
        _row("d.hu", {"coarse": "unknown", "tier": "unknown", "tier_from_field": False}, False, False),
        _row("e.hu", {"coarse": "eu/domestic provider", "tier": "verified", "tier_from_field": False}, False, True),
    ]
    cov = replay.coverage(rows)
    assert (cov["mail_receiving"], cov["unknown"], cov["no_data_excluded"]) == (5, 2, 1)
    assert (cov["target_unknown"], cov["target_domains"]) == (1, 4)
    assert cov["unknown_target_met"] is False  # 1/4 > 10 %
    assert (cov["us_agree_both"], cov["both_answer"]) == (2, 3)  # a and e agree, b does not
    assert cov["us_agree_counting_unknowns"] == 3  # a, e, and d (both unknown)
    assert cov["tiers"] == {"verified": 2, "registered": 1, "inferred": 0, "unknown": 2}
    assert (cov["tier_from_field"], cov["tier_fallback"]) == (2, 1)


def test_no_data_needs_no_address_and_no_shared_provider_domain() -> None:
    from souverain.kb.psl import PublicSuffixList

    psl = PublicSuffixList.bundled()

    def row(domain: str, mx: list[str], addresses: dict) -> dict:
        return {"dataset": "hu", "domain": domain, "mx": mx, "mx_addresses": addresses}
    rows = [row("a.hu", ["mail.a.hu"], {"mail.a.hu": None}),
            row("b.hu", ["mx1.provider.hu"], {"mx1.provider.hu": None}),
            row("c.hu", ["mx2.provider.hu"], {"mx2.provider.hu": None}),
            row("d.hu", ["mail.d.hu"], {"mail.d.hu": "192.0.2.1"}),
            row("e.hu", ["193.201.184.99"], {}),
            row("f.hu", ["mail.lonely-host.hu"], {"mail.lonely-host.hu": None})]
    shared = replay.shared_mx_domains(rows, psl)
    assert shared == {"hu:provider.hu"}
    assert [replay.no_data(r, shared, psl) for r in rows] == [True, False, False, False, False, True]


def test_transit_or_colocation_operator_is_not_the_mailbox(hu_file: Path) -> None:
    rec = replay.load_ch(hu_file, "hu", "HU")[0]
    transit = _dep("identified", "US", "verified") | {"role": "transit"}
    mailbox = _dep("self-managed", "HU", "registered")
    labels = replay.our_labels(rec, [transit, mailbox])
    assert labels["coarse"] == "self-managed" and labels["tier"] == "registered"
    assert labels["carriers"] == [{"role": "transit", "service": "x", "controller": "C", "country": "US"}]
    assert replay.our_labels(rec, [transit])["coarse"] == "unknown"
