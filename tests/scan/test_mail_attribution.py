"""Mail attribution on the loopback test world: the cases where peer tools are wrong."""

from __future__ import annotations

import pytest

from tests.scan.conftest import deps, one

ALL = ("m365pp.test", "m365.test", "gworkspace.test", "awsmail.test", "selfovh.test", "selfaws.test",
       "selfaws6.test", "tenantonly.test", "ppunknown.test", "infomaniak.test", "proton.test", "ovhmail.test",
       "nomx.test", "nullmx.test", "loop.test", "manyspf.test", "broken.test", "slow.test", "hugetxt.test",
       "hostile.test")


@pytest.fixture(scope="module")
def result(scan_world):
    return scan_world(*ALL)


def service(dep: dict) -> str | None:
    return (dep.get("service") or {}).get("id")


def test_gateway_is_looked_through(result):
    gateway = one(result, "m365pp.test", "email.gateway")
    assert service(gateway) == "proofpoint-email-protection"
    assert gateway["controller"]["id"] == "thoma-bravo" and gateway["foreign_access"] is True
    inbound = one(result, "m365pp.test", "email.inbound")
    assert service(inbound) == "exchange-online" and inbound["reason"] == "behind-gateway"
    assert "autodiscover" in inbound["reason_params"]["signals"] and inbound["confidence"] == "medium"
    assert inbound["evidence"], "the attribution must cite its evidence"


def test_gateway_without_signals_is_unknown_not_independent(result):
    inbound = one(result, "ppunknown.test", "email.inbound")
    assert inbound["status"] == "unknown" and inbound["reason"] == "gateway-hides-backend"
    assert inbound["foreign_access"] is None


@pytest.mark.parametrize(("domain", "expected"), [
    ("m365.test", "exchange-online"), ("gworkspace.test", "google-workspace-mail"),
    ("awsmail.test", "amazon-workmail"), ("infomaniak.test", "infomaniak-mail"),
    ("proton.test", "proton-mail-service"), ("ovhmail.test", "ovhcloud-mail"),
])
def test_hosted_mail(result, domain, expected):
    inbound = one(result, domain, "email.inbound")
    assert inbound["status"] == "identified" and service(inbound) == expected and inbound["confidence"] == "high"


@pytest.mark.parametrize(("domain", "network", "foreign"), [
    ("selfovh.test", "ovhcloud-network", False),
    ("selfaws.test", "aws-network", True),
    ("selfaws6.test", "aws-network", True),  # IPv6-only MX
])
def test_self_managed_mx_is_attributed_to_its_network(result, domain, network, foreign):
    inbound = one(result, domain, "email.inbound")
    assert inbound["status"] == "self-managed" and service(inbound) == network
    assert inbound["foreign_access"] is foreign
    if foreign:
        assert inbound["controller"]["country"] == "US" and "us-cloud-act" in inbound["foreign_laws"]


def test_microsoft_tenant_alone_is_not_mailbox_hosting(result):
    inbound = one(result, "tenantonly.test", "email.inbound")
    assert inbound["status"] == "self-managed" and service(inbound) == "ovhcloud-network"
    identity = one(result, "tenantonly.test", "identity")
    assert service(identity) == "microsoft-365-tenant"


def test_search_console_token_is_saas_only(result):
    saas = one(result, "gworkspace.test", "saas")
    assert service(saas) == "google-search-console" and saas["reason"] == "txt-token"


def test_sending_services(result):
    sending = {service(d) for d in deps(result, "awsmail.test", "email.sending")}
    assert "amazon-ses" in sending
    ses = next(d for d in deps(result, "awsmail.test", "email.sending") if service(d) == "amazon-ses")
    assert "dkim:s1" in ses["reason_params"]["via"] and "spf" in ses["reason_params"]["via"]


def test_no_mx_and_null_mx(result):
    assert one(result, "nomx.test", "email.inbound")["reason"] == "no-mx"
    null = one(result, "nullmx.test", "email.inbound")
    assert null["status"] == "none" and null["reason"] == "null-mx"


def test_cname_loop_and_spf_loop(result):
    inbound = one(result, "loop.test", "email.inbound")
    assert inbound["status"] == "unknown" and inbound["reason_params"]["status_code"] == "CNAME-LOOP"
    assert any(f["status"] == "CNAME-LOOP" for f in result["failures"]["loop.test"])


def test_servfail_and_timeout_are_unknown(result):
    broken = one(result, "broken.test", "email.inbound")
    assert broken["status"] == "unknown" and broken["reason_params"]["status_code"] == "SERVFAIL"
    slow = one(result, "slow.test", "email.inbound")
    assert slow["status"] == "unknown" and slow["reason_params"]["status_code"] == "TIMEOUT"
    assert result["summary"]["counts"]["unknown"] >= 2


def test_huge_txt_set_over_tcp(result):
    saas = {service(d) for f in ("saas", "identity") for d in deps(result, "hugetxt.test", f)}
    assert {"google-search-console", "atlassian-cloud"} <= saas
    txt_evidence = [e for e in result["evidence"]["hugetxt.test"] if e["subject"] == "hugetxt.test" and e["kind"] == "txt"]
    assert txt_evidence[0]["detail"].get("tcp") is True and len(txt_evidence[0]["records"]) == 62


def test_hostile_txt_is_kept_as_data(result):
    records = [r["value"] for e in result["evidence"]["hostile.test"] if e["kind"] == "txt" for r in e["records"]]
    assert "<script>alert('txt')</script>" in records
    assert one(result, "hostile.test", "email.inbound")["status"] == "self-managed"


def test_evidence_can_be_rechecked(result):
    item = result["evidence"]["m365.test"][0]
    assert item["recheck"].startswith("dig @127.0.0.1 -p ") and item["resolver"].startswith("127.0.0.1:")
    assert item["at"].endswith("Z")


def test_spf_over_ten_lookups(scan_world):
    from souverain.kb.base import load_kb  # noqa: F401 - same KB as the scan

    result = scan_world("manyspf.test")
    evidence = result["evidence"]["manyspf.test"]
    assert sum(1 for e in evidence if e["kind"] == "spf") <= 12
    assert one(result, "manyspf.test", "email.inbound")["status"] == "self-managed"


def test_unknown_filter_in_front_of_hosted_mailboxes(scan_world):
    """An MX no fingerprint names, with autodiscover and DKIM pointing to Exchange Online (eval bug B1)."""
    result = scan_world("filtered.test", "tenantonly.test")
    inbound = one(result, "filtered.test", "email.inbound")
    assert service(inbound) == "exchange-online" and inbound["confidence"] == "medium"
    gateway = one(result, "filtered.test", "email.gateway")
    assert gateway["reason"] in ("mx-unrecognised-gateway", "mx-self-managed-gateway")
    # weak signals alone (tenant, SPF, EOP host) never move the mailboxes
    assert service(one(result, "tenantonly.test", "email.inbound")) == "ovhcloud-network"


def test_named_service_on_a_hyperscaler_network_carries_its_laws(scan_world):
    """Mailgun (Sinch, SE) receiving on Google Cloud addresses is reached by US law (eval bug B2)."""
    inbound = one(scan_world("gcpmail.test"), "gcpmail.test", "email.inbound")
    assert service(inbound) == "mailgun"
    assert inbound["infrastructure"]["controller"]["id"] == "alphabet"
    assert "us-cloud-act" in inbound["foreign_laws"] and inbound["foreign_access"] is True


def test_report_processors_are_attributed_and_authorisation_checked(result):
    reporting = {service(d): d for d in deps(result, "m365.test", "email.reporting")}
    assert set(reporting) == {"valimail-dmarc", "redsift-ondmarc"}
    vali = reporting["valimail-dmarc"]
    assert vali["status"] == "identified" and vali["confidence"] == "high" and vali["reason"] == "report-processor"
    assert vali["reason_params"]["kinds"] == "dmarc-aggregate, dmarc-failure"
    assert vali["controller"]["country"] == "US" and "us-cloud-act" in vali["foreign_laws"]
    assert len(vali["evidence"]) >= 2, "the DMARC record and the _report._dmarc authorisation are both cited"
    assert reporting["redsift-ondmarc"]["reason_params"]["kinds"] == "tls-rpt"


def test_report_destination_that_refuses_the_domain_is_low_confidence(result):
    agari = one(result, "gworkspace.test", "email.reporting")
    assert service(agari) == "agari-dmarc" and agari["confidence"] == "low"
    assert agari["reason"] == "report-destination-not-authorised"


def test_reports_kept_in_house_add_nothing_and_unknown_collectors_stay_unknown(result):
    collector = one(result, "proton.test", "email.reporting")
    assert collector["status"] == "unknown" and collector["subject"] == "reports.unknown-collector.test"
    assert collector["foreign_access"] is None


def test_subdomain_without_dmarc_falls_back_to_its_organisational_domain(scan_world):
    # lists.proton.test exists (it has an MX) but publishes no DMARC record
    result = scan_world("lists.proton.test")  # RFC 7489 6.6.3: proton.test's record applies
    collector = one(result, "lists.proton.test", "email.reporting")
    assert collector["subject"] == "reports.unknown-collector.test" and collector["status"] == "unknown"
