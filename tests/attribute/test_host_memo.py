"""Host-level answers worked out once per KB view and IP table (``hosts.HostMemo``, issue 16):
a second domain naming the same provider hosts gets the same dependencies, and another view or
table never reads the first one's answers."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from souverain.attribute.dns_hosting import attribute_dns
from souverain.attribute.hosts import HostMemo, attribute_host, host_memo
from souverain.attribute.mail import attribute_mail
from souverain.kb.base import load_kb
from souverain.kb.ipasn import IPASNTable
from souverain.kb.view import KBView
from souverain.model.observation import DomainObservation, HostAddresses

NOW, BEFORE_CLOUD_ACT = dt.date(2026, 1, 1), dt.date(2016, 1, 1)
OVH, AWS = "51.38.234.180", "52.95.110.1"


@pytest.fixture(scope="module")
def kb():
    return load_kb()


@pytest.fixture(scope="module")
def ip_table():
    return IPASNTable.load()


def _host(name: str, *addresses: str, ids: tuple[str, ...] = ()) -> HostAddresses:
    return HostAddresses(name, (), tuple(addresses), (), ids, "NOERROR")


def _observation(domain: str, first_id: int) -> DomainObservation:
    """Google MX, an unnamed MX on AWS, name servers on OVH: each domain with its own evidence ids."""
    ids = [f"e{first_id + n}" for n in range(6)]
    mx = ((10, "aspmx.l.google.com"), (10, "mx.shared-host.test"))
    return DomainObservation(
        domain, ("mail", "dns"), mx=mx, mx_status="NOERROR",
        mx_hosts={"aspmx.l.google.com": _host("aspmx.l.google.com", "142.250.1.27", ids=(ids[1],)),
                  "mx.shared-host.test": _host("mx.shared-host.test", AWS, ids=(ids[2],))},
        ns=("ns1.dns-host.test", "ns2.dns-host.test"), ns_status="NOERROR",
        ns_hosts={"ns1.dns-host.test": _host("ns1.dns-host.test", OVH, ids=(ids[3],)),
                  "ns2.dns-host.test": _host("ns2.dns-host.test", OVH, ids=(ids[4],))},
        ids={f"{domain} MX": ids[0], f"{domain} NS": ids[5]})


def _attribute(view, obs, ip_table):
    return attribute_mail(view, obs, ip_table) + attribute_dns(view, obs, ip_table)


def test_a_second_domain_reuses_the_hosts_answers(kb, ip_table):
    view = kb.at(NOW)
    view.memos.clear()
    first = _attribute(view, _observation("a.test", 1), ip_table)
    memo = host_memo(view, ip_table)
    entries = len(memo)
    assert entries > 0
    second = _attribute(view, _observation("b.test", 101), ip_table)
    assert len(memo) == entries  # nothing new worked out: every host was known
    # the same dependencies as a new view (an empty memo) gives, with b.test's own evidence
    fresh = _attribute(KBView(kb, NOW), _observation("b.test", 101), ip_table)
    assert second == fresh
    assert [d.evidence for d in second] != [d.evidence for d in first]
    inbound = [d for d in second if d.function == "email.inbound"]
    assert {d.service.id for d in inbound if d.service} == {"google-workspace-mail", "aws-network"}
    assert {d.service.id for d in second if d.function == "dns.authoritative"} == {"ovhcloud-network"}


def test_the_answer_is_shared_and_frozen(kb, ip_table):
    memo = HostMemo(kb.at(NOW), ip_table)
    resolved = _host("ns1.dns-host.test", OVH)
    one = memo.attribute_host("ns1.dns-host.test", resolved, ("ns",))
    assert memo.attribute_host("ns1.dns-host.test", _host("ns1.dns-host.test", OVH, ids=("e9",)), ("ns",)) is one
    assert one == attribute_host(kb, ip_table, "ns1.dns-host.test", resolved, ("ns",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.service_id = "other"  # type: ignore[misc]


def test_other_addresses_or_kinds_are_worked_out_again(kb, ip_table):
    memo = HostMemo(kb.at(NOW), ip_table)
    on_ovh = memo.attribute_host("mx.moved.test", _host("mx.moved.test", OVH), ("mx",))
    on_aws = memo.attribute_host("mx.moved.test", _host("mx.moved.test", AWS), ("mx",))
    assert (on_ovh.service_id, on_aws.service_id) == ("ovhcloud-network", "aws-network")
    google = _host("aspmx.l.google.com", "142.250.1.27")
    assert memo.attribute_host("aspmx.l.google.com", google, ("mx",)).via == "name"
    assert memo.attribute_host("aspmx.l.google.com", google, ("dkim",)).via != "name"  # no dkim fingerprint
    assert memo.network_uses((OVH,))[0].asn == 16276 and memo.network_uses((AWS,))[0].asn == 16509


def test_another_date_never_reads_the_first_views_answers(kb, ip_table):
    """The CLOUD Act (2018) reaches an AWS-hosted MX in 2026, not in 2016: the 2016 view must not
    take the 2026 view's networks."""
    obs = _observation("a.test", 1)
    now, before = kb.at(NOW), kb.at(BEFORE_CLOUD_ACT)
    assert host_memo(now, ip_table) is not host_memo(before, ip_table)
    on_aws_now = [d for d in _attribute(now, obs, ip_table) if d.subject == "mx.shared-host.test"]
    on_aws_before = [d for d in _attribute(before, obs, ip_table) if d.subject == "mx.shared-host.test"]
    assert "us-cloud-act" in on_aws_now[0].foreign_laws
    assert "us-cloud-act" not in on_aws_before[0].foreign_laws
    assert "us-cloud-act" not in on_aws_before[0].networks[0].foreign_laws
    assert on_aws_before == [d for d in _attribute(KBView(kb, BEFORE_CLOUD_ACT), obs, ip_table)
                             if d.subject == "mx.shared-host.test"]


def test_another_ip_table_replaces_the_memo(kb, ip_table):
    view = kb.at(NOW)
    memo = host_memo(view, ip_table)
    assert host_memo(view, ip_table) is memo
    other = IPASNTable.load()
    replaced = host_memo(view, other)
    assert replaced is not memo and replaced.ip_table is other and len(replaced) == 0


def test_the_memo_is_bounded(kb, ip_table):
    memo = HostMemo(kb.at(NOW), ip_table, size=3)
    for n in range(10):
        memo.attribute_host(f"mx{n}.bounded.test", _host(f"mx{n}.bounded.test", OVH), ("mx",))
        memo.attribute_addresses(f"198.51.100.{n}", (f"198.51.100.{n}",))
        memo.network_uses((OVH,) * (n + 1))
    assert len(memo) == 9  # three tables of three
    # the oldest went first: the newest is still there, worked out once
    last = memo.attribute_host("mx9.bounded.test", _host("mx9.bounded.test", OVH), ("mx",))
    assert memo.attribute_host("mx9.bounded.test", _host("mx9.bounded.test", OVH), ("mx",)) is last
    assert len(memo) == 9
