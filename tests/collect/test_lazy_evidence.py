"""Lazy evidence: ``ObservationBuilder.record`` keeps DNS answers as they came and builds their
``Evidence`` only when someone reads it. A survey row reads none; a scan reads all of it, with the
same ids, fields and detail as an item built at once."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from souverain.attribute.domain import notices
from souverain.collect.dns import Answer, Resolver
from souverain.collect.domain import collect_domain
from souverain.collect.observation import ObservationBuilder
from souverain.kb.base import load_kb
from souverain.kb.ipasn import IPASNTable
from souverain.model.evidence import Evidence, Record
from souverain.scan import ScanOptions, collect_options, scan_domains, scan_one

MX = Answer("m.test", "MX", "NOERROR", (Record("m.test", "MX", 300, "10 mx.m.test"),), "127.0.0.1:53", "T1")
TXT = Answer("m.test", "TXT", "NOERROR", (Record("m.test", "TXT", 300, "v=spf1 -all"),), "127.0.0.1:53", "T2",
             tcp=True)
LOST = Answer("_dmarc.m.test", "TXT", "TIMEOUT", (), "127.0.0.1:53", "T3", error="timed out")


def built(obs: ObservationBuilder) -> list[Evidence]:
    return [entry for entry in obs.entries if isinstance(entry, Evidence)]


def test_record_builds_no_evidence_until_read_and_then_the_same_items_in_id_order():
    obs = ObservationBuilder("m.test", ("mail",))
    assert obs.record(MX, "mx") == "e1"
    assert obs.add("kb", "tld", "m.test", "ok", detail={"tld": "test"}) == "e2"
    assert obs.record(TXT, "txt") == "e3"
    assert obs.record(LOST, "dmarc") == "e4"
    assert obs.record(MX, "mx") == "e1"  # one item per question
    obs.annotate("e3", spf={"lookups": 0})
    obs.annotate("e3", spf={"lookups": 1}, note="later")
    assert [item.id for item in built(obs)] == ["e2"]  # only what ``add`` was given
    assert obs.ids == {"m.test MX": "e1", "m.test TXT": "e3", "_dmarc.m.test TXT": "e4"}
    assert obs.failures == [("_dmarc.m.test TXT", "TIMEOUT")]
    assert obs.dns_statuses("m.test") == {"NOERROR"}

    expected = [
        Evidence("e1", "dns", "mx", "m.test", "NOERROR", MX.records, "127.0.0.1:53", "T1", {"rdtype": "MX"}),
        Evidence("e2", "kb", "tld", "m.test", "ok", (), None, None, {"tld": "test"}),
        Evidence("e3", "dns", "txt", "m.test", "NOERROR", TXT.records, "127.0.0.1:53", "T2",
                 {"rdtype": "TXT", "tcp": True, "spf": {"lookups": 1}, "note": "later"}),
        Evidence("e4", "dns", "dmarc", "_dmarc.m.test", "TIMEOUT", (), "127.0.0.1:53", "T3",
                 {"rdtype": "TXT", "error": "timed out"}),
    ]
    assert obs.item("e4") == expected[3]
    assert obs.evidence == expected
    assert list(obs.evidence[2].detail) == ["rdtype", "tcp", "spf", "note"]  # the order JSON shows
    assert obs.evidence[0].recheck() == expected[0].recheck() is not None

    obs.annotate("e1", spf=None)  # an item already built is replaced, as before
    assert obs.item("e1").detail == {"rdtype": "MX", "spf": None}
    frozen = obs.freeze()
    assert frozen.evidence == tuple(obs.evidence)
    assert frozen.item("e3") == expected[2]


def test_a_frozen_observation_builds_its_evidence_once_on_first_read():
    obs = ObservationBuilder("m.test", ("mail",))
    obs.record(MX, "mx")
    frozen = obs.freeze()
    assert built(obs) == [] and not any(isinstance(entry, Evidence) for entry in frozen.entries)
    first = frozen.evidence
    assert first is frozen.evidence and frozen.item("e1") is first[0]
    assert first[0].detail == {"rdtype": "MX"}


def test_dns_statuses_reads_answers_and_built_items_alike():
    """``_nxdomain`` reads these: an NXDOMAIN with records (the end of a CNAME chain) is NOERROR."""
    chain = Answer("a.test", "A", "NXDOMAIN", (Record("a.test", "CNAME", 60, "gone.test"),), "r", "t")
    gone = Answer("a.test", "MX", "NXDOMAIN", (), "r", "t")
    other = Answer("b.a.test", "TXT", "NOERROR", (), "r", "t")
    for read_first in (False, True):
        obs = ObservationBuilder("a.test", ("mail",))
        obs.record(gone, "mx")
        obs.record(other, "txt")
        if read_first:
            assert len(obs.evidence) == 2
        assert obs.dns_statuses("a.test") == {"NXDOMAIN"}
        obs.record(chain, "web-host")
        assert obs.dns_statuses("a.test") == {"NXDOMAIN", "NOERROR"}
        assert obs.dns_statuses("b.a.test") == {"NOERROR"}


@pytest.fixture(scope="module")
def lean_scan(world_dns):
    """scan_one the way a survey runs it (lean, mail and DNS), returning the frozen observation."""
    kb, ip_table = load_kb(), IPASNTable.load()
    options = ScanOptions(functions=("mail", "dns"), nameservers=[("127.0.0.1", world_dns.port)], timeout=0.5,
                          retries=1, at=dt.date(2026, 11, 28), fetch_web=False, lean=True)

    def run(domain: str, *, attribute: bool = True):
        async def go():
            async with Resolver(options.nameservers, timeout=options.timeout, retries=options.retries) as resolver:
                collect = collect_options(kb, options, None)
                if not attribute:
                    return await collect_domain(resolver, domain, options.functions, collect)
                return await scan_one(kb, resolver, domain, options, collect, ip_table)

        return asyncio.run(go())

    return run


def test_the_survey_path_builds_no_evidence(lean_scan):
    obs, deps = lean_scan("m365.test")
    assert len(obs.entries) >= 8 and not any(isinstance(entry, Evidence) for entry in obs.entries)
    assert obs._evidence is None  # attribution read ids only
    inbound = next(d for d in deps if d.function == "email.inbound")
    assert inbound.status == "identified" and inbound.evidence
    # what the dependency cites is there when asked for (a scan's output), built from the answers
    cited = obs.item(inbound.evidence[0])
    assert (cited.source, cited.kind, cited.subject, cited.detail) == ("dns", "mx", "m365.test", {"rdtype": "MX"})
    assert [item.id for item in obs.evidence] == [f"e{n}" for n in range(1, len(obs.entries) + 1)]
    spf = obs.item(obs.ids["m365.test TXT"])
    assert spf.detail["rdtype"] == "TXT" and "spf" in spf.detail  # the annotation survives


def test_a_missing_domain_is_found_without_building_evidence(lean_scan):
    collected = lean_scan("gone.nxparent.test", attribute=False)
    assert collected.nxdomain and len(collected.entries) >= 5 and built(collected) == []
    obs, deps = lean_scan("gone.nxparent.test")
    assert obs.nxdomain and {d.reason for d in deps} == {"domain-nxdomain"}
    # nonexistent() cites the NXDOMAIN answers: the one reader that builds evidence on this path
    assert all(d.evidence for d in deps)
    assert all(obs.item(e).status == "NXDOMAIN" for d in deps for e in d.evidence)
    assert [n.evidence for n in notices(obs)] == [deps[0].evidence]


def test_scan_output_keeps_every_evidence_item(world_dns):
    options = ScanOptions(functions=("mail", "dns"), nameservers=[("127.0.0.1", world_dns.port)], timeout=0.5,
                          retries=1, at=dt.date(2026, 11, 28), fetch_web=False)
    result = asyncio.run(scan_domains(load_kb(), ["m365.test"], options, IPASNTable.load())).as_dict()
    items = result["evidence"]["m365.test"]
    assert [item["id"] for item in items] == [f"e{n}" for n in range(1, len(items) + 1)]
    assert all(item["source"] == "dns" and item["detail"]["rdtype"] and item["recheck"] for item in items)
    cited = {e for d in result["dependencies"] for e in d["evidence"]}
    assert cited and cited <= {item["id"] for item in items}
    assert any("spf" in item["detail"] for item in items if item["kind"] == "txt")
