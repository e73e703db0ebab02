"""`who` on the bundled KB: host names, URLs, IPv4 and IPv6 addresses, ASNs."""

from __future__ import annotations

import datetime as dt

import pytest

from souverain.attribute.who import who
from souverain.kb.base import load_kb
from souverain.kb.ipasn import IPASNTable

AT = dt.date(2026, 11, 28)


@pytest.fixture(scope="module")
def kb():
    return load_kb()


@pytest.fixture(scope="module")
def table():
    return IPASNTable.load()


@pytest.mark.parametrize(
    ("target", "operator_controller"),
    [
        ("example-fr.mail.protection.outlook.com", "microsoft"),
        ("https://fonts.googleapis.com/css2?family=Roboto", "alphabet"),
        ("aspmx.l.google.com", "alphabet"),
    ],
)
def test_hosts(kb, table, target, operator_controller):
    result = who(kb, target, AT, table)
    assert result.status == "attributed", result.data
    assert result.data["controller"]["id"] == operator_controller


def test_label_boundary_on_real_kb(kb, table):
    assert who(kb, "evilgoogle.com", AT, table).status == "unattributed"
    assert who(kb, "outlook.com.evil.test", AT, table).status == "unattributed"


@pytest.mark.parametrize(
    ("address", "asn", "controller_country"),
    [
        ("52.95.110.1", 16509, "US"),  # AWS, IPv4
        ("2600:1f18::1", 14618, "US"),  # AWS, IPv6
        ("5.9.1.1", 24940, "DE"),  # Hetzner, IPv4
        ("2a01:4f8::1", 24940, "DE"),  # Hetzner, IPv6
        ("1.1.1.1", 13335, "US"),  # Cloudflare
    ],
)
def test_ip_addresses(kb, table, address, asn, controller_country):
    result = who(kb, address, AT, table)
    assert result.data["network"]["asn"] == asn
    assert result.status == "attributed", result.data
    assert result.data["controller"]["country"] == controller_country


def test_private_address_unattributed(kb, table):
    result = who(kb, "10.1.2.3", AT, table)
    assert result.status == "unattributed" and result.reason == "no-route"


def test_asn_target(kb, table):
    result = who(kb, "AS16276", AT, table)
    assert result.status == "attributed"
    assert result.data["controller"]["country"] == "FR"
