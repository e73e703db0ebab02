"""Networks the KB has no operator for: answered by their registered holder and country (tier
``registered``, "ownership not researched"), never passed off as verified; tiers in every output
and ``--min-confidence`` in the summary."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json

import pytest

from souverain.attribute.who import who
from souverain.kb.base import load_kb
from souverain.kb.ipasn import IPASNTable, build
from souverain.report.i18n import Translator
from souverain.report.render import render_scan
from souverain.scan import ScanOptions, scan_domains

AT = dt.date(2026, 11, 28)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """192.0.2.0/24: AS64500 registered in IT; 198.51.100.0/24: AS64501 in US; 203.0.113.0/24:
    AS64502, no registration country; 51.68.0.0/16: OVH's AS16276 (in the KB)."""
    root = tmp_path_factory.mktemp("ipasn")
    (root / "v4.csv").write_text('192.0.2.0,192.0.2.255,64500,"Rete Esempio S.p.A."\n'
                                 "198.51.100.0,198.51.100.255,64501,Example Hosting Inc.\n"
                                 "203.0.113.0,203.0.113.255,64502,Nowhere Net\n"
                                 "51.68.0.0,51.68.255.255,16276,OVH SAS\n")
    (root / "v6.csv").write_text("")
    (root / "c4.csv").write_text("192.0.2.0,192.0.2.255,IT\n198.51.100.0,198.51.100.255,US\n"
                                 "51.68.0.0,51.68.255.255,FR\n")
    (root / "c6.csv").write_text("")
    build(root / "v4.csv", root / "v6.csv", root / "t.bin", {"date": "2026-06-17"},
          countries=(root / "c4.csv", root / "c6.csv"), country_source={"date": "2026-06-17"})
    return IPASNTable.load(root / "t.bin")


@pytest.fixture(scope="module")
def scanned(world_dns, table):
    def run(*domains: str, min_tier: str = "inferred"):
        options = ScanOptions(functions=("mail", "dns", "web"), nameservers=[("127.0.0.1", world_dns.port)],
                              timeout=0.3, retries=1, at=AT, fetch_web=False, min_tier=min_tier)  # type: ignore[arg-type]
        return asyncio.run(scan_domains(load_kb(), list(domains), options, table))
    return run


def _dep(result, function):
    found = [d for d in result.dependencies if d.function == function]
    assert len(found) == 1, found
    return found[0]


def test_mail_on_a_registered_network(scanned):
    result = scanned("registered.test")
    mail = _dep(result, "email.inbound")
    assert (mail.status, mail.tier, mail.confidence, mail.reason) == ("self-managed", "registered", "low", "mx-registered")
    assert mail.operator.as_dict() == {"id": "as64500", "name": "Rete Esempio S.p.A.", "country": "IT"}
    assert mail.controller == mail.operator and mail.service is None
    assert [law.id for law in mail.laws] == ["eu-gdpr-art-48"] and mail.laws[0].via == "seat"
    assert mail.foreign_laws == () and mail.foreign_access is False
    assert mail.rule == "ipasn.bin: AS64500 registered in IT"
    assert Translator("en")("reason.mx-registered", **mail.reason_params) == (
        "MX mail.registered.test matches no provider; its addresses are in AS64500 Rete Esempio S.p.A. "
        "(IT, by registration); ownership not researched")
    assert "détention non étudiée" in Translator("fr")("reason.mx-registered", **mail.reason_params)


def test_dns_and_web_on_registered_networks(scanned):
    result = scanned("registered.test")
    dns = _dep(result, "dns.authoritative")  # ns1 and ns2 on the same network: one dependency
    assert (dns.tier, dns.reason, dns.subject) == ("registered", "ns-registered",
                                                   "ns1.registered.test, ns2.registered.test")
    web = _dep(result, "web.hosting")
    assert (web.tier, web.reason, web.controller.country) == ("registered", "web-registered", "US")
    assert "us-cloud-act" in web.foreign_laws  # the laws of the registration country, by seat
    assert dict(result.summary.counts.by_tier) == {"verified": 0, "registered": 3, "inferred": 0, "unknown": 0}
    assert result.summary.verdict == "partly-exposed" and result.summary.min_confidence == "inferred"


def test_no_registration_country_stays_unknown(scanned):
    mail = _dep(scanned("unregistered.test"), "email.inbound")
    assert (mail.status, mail.tier, mail.reason, mail.controller) == ("unknown", "unknown", "mx-unrecognised", None)


def test_kb_networks_stay_verified(scanned):
    mail = _dep(scanned("selfovh.test"), "email.inbound")
    assert (mail.status, mail.tier, mail.operator.id) == ("self-managed", "verified", "ovh-sas")


def test_min_confidence_counts_registered_answers_as_unknown(scanned):
    strict = scanned("registered.test", min_tier="verified")
    assert strict.summary.verdict == "undetermined"  # mail and DNS (critical) now unknown
    assert strict.summary.counts.unknown == 3 and strict.summary.laws == ()
    assert _dep(strict, "web.hosting").tier == "registered"  # the dependencies themselves unchanged
    assert scanned("registered.test", min_tier="registered").summary.verdict == "partly-exposed"


def test_tiers_in_every_output(scanned):
    result = scanned("registered.test")
    document = json.loads(render_scan(result, "json"))
    assert document["schema_version"] == "1.1"
    assert [d["tier"] for d in document["dependencies"]] == ["registered"] * 3
    assert list(document["dependencies"][0])[:6] == ["domain", "function", "status", "confidence", "tier", "reason"]
    assert document["summary"]["counts"]["by_tier"]["registered"] == 3
    rows = list(csv.DictReader(io.StringIO(render_scan(result, "csv"))))
    assert {row["tier"] for row in rows} == {"registered"}
    assert all(row["reason"].endswith("ownership not researched") for row in rows)
    sarif = json.loads(render_scan(result, "sarif"))
    found = sarif["runs"][0]["results"]
    assert found and all(item["properties"]["tier"] == "registered" for item in found)
    assert "(by registration; ownership not researched)" in found[0]["message"]["text"]
    table = render_scan(result, "table", width=400)
    assert "│ by registration │" in table  # the tier column
    assert "3 of these answers rest on network registration only" in table
    assert "par enregistrement (détention non étudiée)" in render_scan(result, "html", "fr")
    strict = render_scan(scanned("registered.test", min_tier="verified"), "table")
    assert "Counted: answers of tier verified; the others count as unknown." in strict
    assert "rest on network registration only" not in strict


def test_who_answers_by_registration(table):
    from souverain.cli.who import render_who

    kb = load_kb()
    for target in ("AS64500", "192.0.2.77"):
        result = who(kb, target, AT, table)
        assert (result.status, result.data["tier"]) == ("registered", "registered")
        assert result.data["registered_holder"] == {"id": "as64500", "name": "Rete Esempio S.p.A.", "country": "IT",
                                                    "ownership": "not-researched"}
        text = render_who(result.data, Translator("en"))
        answer = "AS64500 Rete Esempio S.p.A. (IT, by registration); ownership not researched."
        # an AS number is not repeated before its own answer; an address is
        assert text.startswith(answer if target == "AS64500" else f"{target}: {answer}")
        assert "could not be attributed" not in text
    us = who(kb, "AS64501", AT, table).data
    assert {"us-cloud-act", "us-fisa-702"} <= set(us["foreign_laws"])
    assert "par enregistrement" in render_who(us, Translator("fr"))
    nowhere = who(kb, "AS64502", AT, table)
    assert (nowhere.status, nowhere.data["tier"], nowhere.reason) == ("unattributed", "unknown", "asn-not-in-kb")
    known = who(kb, "51.68.0.25", AT, table)
    assert (known.status, known.data["tier"], known.data["operator"]["id"]) == ("attributed", "verified", "ovh-sas")


def test_survey_rows_and_aggregates_by_tier(scanned):
    """A survey row keeps each function's tier (columns and compact dependencies, through the
    store's record form); the aggregate shows shares by tier and filters by --min-confidence."""
    from souverain.assess.organisation import verdict
    from souverain.model.survey import SurveyRow
    from souverain.store.surveys import summarise_domain
    from souverain.survey.aggregate import Aggregate

    kb = load_kb()
    rows = []
    for domain in ("registered.test", "selfovh.test", "unregistered.test"):
        deps = [d for d in scanned(domain).dependencies if d.domain == domain]
        rows.append(SurveyRow.from_record(summarise_domain(domain, deps, verdict(kb, deps)).record()))
    registered = rows[0]
    assert (registered.mail_tier, registered.dns_tier, registered.web_tier) == ("registered",) * 3
    assert rows[1].mail_tier == "verified" and rows[2].mail_tier == "unknown"
    assert {d.tier for d in registered.dependencies} == {"registered"}
    assert registered.flat()["web_tier"] == "registered"  # CSV and Parquet columns

    critical = frozenset(rid for rid, kind in kb.kinds.items()
                         if kind == "functions" and kb.records[rid].criticality >= 4)
    loose = Aggregate(critical=critical).feed(rows).as_dict()
    mail = loose["functions"]["mail"]
    assert mail["tiers"] == {"verified": 1, "registered": 1, "inferred": 0, "unknown": 1}
    assert mail["tier_share_pct"]["registered"] == 33.3
    assert (mail["not_foreign"], mail["unknown"]) == (2, 1)
    assert loose["functions"]["web"]["foreign"] == 1 and loose["verdicts"]["partly-exposed"] == 1
    strict = Aggregate(min_tier="verified", critical=critical).feed(rows).as_dict()
    assert (strict["functions"]["mail"]["not_foreign"], strict["functions"]["mail"]["unknown"]) == (1, 2)
    assert strict["functions"]["web"]["foreign"] == 0 and strict["min_confidence"] == "verified"
    assert "partly-exposed" not in strict["verdicts"] and strict["verdicts"]["undetermined"] >= 1

    from souverain.report.survey import survey_table

    text = survey_table({"run": {"name": "r"}, "aggregate": strict}, "en")
    assert "Counted: answers of tier verified; the others count as unknown." in text
    assert "Answers by tier" in text


def test_rows_stored_before_tiers_read_back(scanned):
    """A stored row from before tiers (no tier in its dependencies, NULL tier columns)."""
    from souverain.model.survey import SurveyRow
    from souverain.survey.aggregate import function_summary

    record = {"domain": "old.test", "status": "ok", "reason": None, "verdict": "not-exposed", "foreign_laws": None,
              "mail_status": "identified", "mail_foreign": False, "finished": "",
              "dependencies": json.dumps([{"function": "email.inbound", "status": "identified", "confidence": "high",
                                           "service": "x", "controller": "y", "country": "FR", "laws": [],
                                           "reason": "mx-service", "subject": None}])}
    row = SurveyRow.from_record(record)
    assert row.dependencies[0].tier == "verified" and row.mail_tier is None
    assert function_summary(row, "mail")["tier"] == "verified"


def test_store_gains_the_tier_columns(tmp_path, scanned):
    """A database made before tiers gets its new columns when opened, and stores tiers."""
    import sqlite3

    import sqlalchemy as sa

    from souverain.store.database import Store

    path = tmp_path / "old.db"
    Store.open(f"sqlite:///{path}").engine.dispose()
    with sqlite3.connect(path) as conn:  # back to the tables of the previous version
        for table, column in (("dependencies", "tier"), ("survey_results", "mail_tier"),
                              ("survey_results", "dns_tier"), ("survey_results", "web_tier")):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.execute("INSERT INTO dependencies (scan_id, domain, function, status, confidence) "
                     "VALUES (1, 'old.test', 'email.inbound', 'identified', 'high')")
    conn.close()
    with Store.open(f"sqlite:///{path}") as store:
        columns = {c["name"] for c in sa.inspect(store.engine).get_columns("dependencies")}
        assert "tier" in columns
        assert {"mail_tier", "dns_tier", "web_tier"} <= {c["name"] for c in
                                                         sa.inspect(store.engine).get_columns("survey_results")}
        scan_id = store.save_scan(scanned("registered.test"))
        assert {row["tier"] for row in store.dependencies_of(scan_id, "registered.test")} == {"registered"}
        assert store.dependencies_of(1, "old.test")[0]["tier"] is None
