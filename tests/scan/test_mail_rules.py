"""Mail rules of issue 9 item 3 on the loopback world: several networks under one MX, transit and
colocation address space, gateways on a hyperscaler, hybrid relays, IP-literal MX, autodiscover alone."""

from __future__ import annotations

import pytest

from tests.scan.conftest import one

DOMAINS = ("multinet.test", "spectrum.test", "spectrum365.test", "colo.test", "vipre365.test",
           "vipreconflict.test", "vipretoken.test", "hybrid.test", "hybridweak.test", "hybridmixed.test", "iplit.test",
           "adonly.test", "selfovh.test", "m365pp.test", "infomulti.test")


@pytest.fixture(scope="module")
def result(scan_world):
    return scan_world(*DOMAINS)


def service(dep: dict) -> str | None:
    return (dep.get("service") or {}).get("id")


def test_every_network_of_an_mx_counts(result):
    """Two OVH addresses and one AWS address: the AWS one is not outvoted (rule a)."""
    inbound = one(result, "multinet.test", "email.inbound")
    assert inbound["status"] == "self-managed" and inbound["reason"] == "mx-several-networks"
    assert service(inbound) == "ovhcloud-network"  # the network with most addresses names it
    assert inbound["foreign_access"] is True and "us-cloud-act" in inbound["foreign_laws"]
    assert {net["asn"] for net in inbound["networks"]} == {16276, 16509}
    assert "AS16509" in inbound["reason_params"]["networks"] and "AS16276" in inbound["reason_params"]["networks"]
    assert inbound["tier"] == "verified"


def test_every_network_under_a_named_service_counts(result):
    """Infomaniak (CH) MX with one address of its own and one on AWS: AWS's laws reach the mail too."""
    inbound = one(result, "infomulti.test", "email.inbound")
    assert service(inbound) == "infomaniak-mail" and inbound["controller"]["country"] == "CH"
    assert {net["asn"] for net in inbound["networks"]} == {29222, 16509}
    assert "us-cloud-act" in inbound["foreign_laws"] and inbound["foreign_access"] is True


def test_single_network_lists_it(result):
    inbound = one(result, "selfovh.test", "email.inbound")
    assert inbound["reason"] == "mx-self-managed" and inbound["foreign_access"] is False
    assert [net["asn"] for net in inbound["networks"]] == [16276]
    assert inbound["networks"][0]["role"] == "hosting" and inbound["transit_foreign_laws"] == []


def test_proxy_address_space_is_transit_not_the_mailbox_holder(result):
    """An MX on Cloudflare (Spectrum) address space: Cloudflare carries the mail, it does not hold it (rule b)."""
    inbound = one(result, "spectrum.test", "email.inbound")
    assert inbound["status"] == "unknown" and inbound["reason"] == "mx-transit"
    assert inbound["operator"] is None and inbound["foreign_access"] is None
    assert inbound["networks"][0]["role"] == "transit" and inbound["networks"][0]["service"]["id"] == "cloudflare-network"
    # exposure in transit is shown, apart from the (unknown) data at rest
    assert "us-cloud-act" in inbound["transit_foreign_laws"] and inbound["foreign_laws"] == []
    assert inbound["tier"] == "unknown"


def test_holder_behind_transit_comes_from_other_evidence(result):
    inbound = one(result, "spectrum365.test", "email.inbound")
    assert service(inbound) == "exchange-online" and inbound["tier"] == "inferred"
    assert inbound["confidence"] == "low" and inbound["reason"] == "behind-gateway"
    front = one(result, "spectrum365.test", "email.gateway")
    assert front["reason"] == "mx-transit-front" and front["networks"][0]["role"] == "transit"
    assert "us-cloud-act" in front["transit_foreign_laws"]


def test_colocation_address_space_is_not_the_holder(result):
    inbound = one(result, "colo.test", "email.inbound")
    assert inbound["status"] == "unknown" and inbound["reason"] == "mx-transit"
    assert inbound["reason_params"]["roles"] == "colocation"
    assert inbound["networks"][0]["controller"]["id"] == "digital-realty"


def test_gateway_on_a_hyperscaler_has_its_own_exposure_and_the_mailbox_is_inferred(result):
    """VIPRE's filter on AWS addresses; SPF include and tenant token agree on Microsoft 365 (rule c)."""
    gateway = one(result, "vipre365.test", "email.gateway")
    assert service(gateway) == "vipre-email-security"
    assert gateway["infrastructure"]["controller"]["id"] == "amazon"
    assert {net["asn"] for net in gateway["networks"]} == {16509}
    inbound = one(result, "vipre365.test", "email.inbound")
    assert service(inbound) == "exchange-online" and inbound["tier"] == "inferred"
    assert inbound["confidence"] == "low"
    assert inbound["reason_params"]["signals"] == "spf, token"


@pytest.mark.parametrize("domain", ["vipreconflict.test", "vipretoken.test"])
def test_no_mailbox_is_invented_where_signals_disagree_or_stand_alone(result, domain):
    inbound = one(result, domain, "email.inbound")
    assert inbound["status"] == "unknown" and inbound["reason"] == "gateway-hides-backend"
    assert inbound["tier"] == "unknown" and inbound["foreign_access"] is None


def test_hybrid_relay_in_front_of_microsoft_365(result):
    """A hosting provider's MX with autodiscover and DKIM of Microsoft 365 behind it (rule d)."""
    inbound = one(result, "hybrid.test", "email.inbound")
    assert service(inbound) == "exchange-online" and inbound["tier"] == "inferred"
    assert inbound["confidence"] == "medium"
    relay = one(result, "hybrid.test", "email.gateway")
    assert service(relay) == "infomaniak-mail" and relay["reason"] == "mx-relay"


@pytest.mark.parametrize("domain", ["hybridweak.test", "hybridmixed.test"])
def test_hosted_mailboxes_stay_without_a_clear_cloud_signal(result, domain):
    """Autodiscover alone is not enough; nor are cloud signals when the SPF names the MX's own provider."""
    inbound = one(result, domain, "email.inbound")
    assert service(inbound) == "infomaniak-mail" and inbound["reason"] == "mx-service"
    assert inbound["tier"] == "verified"


def test_mx_given_as_an_ip_literal(result):
    inbound = one(result, "iplit.test", "email.inbound")
    assert inbound["status"] == "self-managed" and inbound["reason"] == "mx-ip-literal"
    assert service(inbound) == "aws-network" and "us-cloud-act" in inbound["foreign_laws"]
    assert inbound["evidence"], "the MX answer is the evidence"
    assert not any(f.get("query", "").startswith("3.120.0.28") for f in result["failures"].get("iplit.test", []))
    assert not any(e["subject"] == "3.120.0.28" for e in result["evidence"]["iplit.test"]), "an address is not looked up"


def test_autodiscover_alone_never_reaches_high_confidence(result):
    inbound = one(result, "adonly.test", "email.inbound")
    assert service(inbound) == "exchange-online" and inbound["tier"] == "inferred"
    assert inbound["confidence"] == "low"
    both = one(result, "m365pp.test", "email.inbound")
    assert both["confidence"] == "medium" and both["tier"] == "inferred"
