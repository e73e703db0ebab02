"""`souverain who ASN` against the bundled knowledge base: networks added from the held-out check."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli


def _who(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["who", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["results"][0]


def test_fastweb_asn_names_fastweb_and_its_swiss_controller() -> None:
    item = _who("AS12874")
    assert item["status"] == "attributed"
    assert item["operator"]["id"] == "fastweb"
    assert [link["id"] for link in item["chain"]][:2] == ["fastweb", "swisscom"]
    assert item["controller"]["id"] == "swiss-confederation"


def test_fastweb_chain_is_dated() -> None:
    before = _who("AS12874", "--at", "2006-06-01")
    assert before["operator"]["id"] == "fastweb" and before["controller"]["id"] == "fastweb"
    during = _who("AS12874", "--at", "2009-06-01")
    assert during["chain"][0]["holding"] == "82.082 %"


@pytest.mark.parametrize(
    ("asn", "operator", "controller"),
    [
        ("AS3269", "telecom-italia", "telecom-italia"),
        ("AS20746", "telecom-italia", "telecom-italia"),
        ("AS31638", "lepida", "regione-emilia-romagna"),
        ("AS44831", "insiel", "regione-friuli-venezia-giulia"),
        ("AS2594", "csi-piemonte", "csi-piemonte"),
        ("AS5602", "retelit", "asterion-industrial-partners"),
        ("AS28716", "retelit", "asterion-industrial-partners"),
        ("AS15589", "retelit", "asterion-industrial-partners"),
        ("AS12637", "seeweb", "dhh"),
        ("AS39729", "register-it", "team-blue"),
    ],
)
def test_italian_networks(asn: str, operator: str, controller: str) -> None:
    item = _who(asn)
    assert item["operator"]["id"] == operator
    assert item["controller"]["id"] == controller


@pytest.mark.parametrize(
    ("asn", "operator", "controller"),
    [
        ("AS46606", "newfold-digital", "clearlake-capital"),
        ("AS19871", "network-solutions", "clearlake-capital"),
        ("AS7181", "tierpoint", "apollo-global"),
        ("AS22612", "namecheap", "namecheap"),
    ],
)
def test_us_controlled_hosters(asn: str, operator: str, controller: str) -> None:
    item = _who(asn)
    assert item["operator"]["id"] == operator
    assert item["controller"]["id"] == controller
    assert item["controller"]["country"] == "US"
    assert any(law["country"] == "US" for law in item["laws"])


@pytest.mark.parametrize(
    ("asn", "operator", "controller", "country"),
    [
        ("AS6834", "kmd", "nec", "JP"),
        ("AS16086", "dna", "norwegian-state", "NO"),
        ("AS1257", "tele2", "tele2", "SE"),
        ("AS5483", "magyar-telekom", "deutsche-telekom", "DE"),
        ("AS12301", "invitech", "gellert-jaszai", "HU"),
    ],
)
def test_nordic_and_hungarian_networks(asn: str, operator: str, controller: str, country: str) -> None:
    item = _who(asn)
    assert item["operator"]["id"] == operator
    assert (item["controller"]["id"], item["controller"]["country"]) == (controller, country)


def test_one_hungary_was_vodafone_before_2023() -> None:
    assert _who("AS21334", "--at", "2022-06-01")["controller"]["id"] != "gellert-jaszai"
    assert _who("AS21334", "--at", "2024-06-01")["controller"]["id"] == "gellert-jaszai"
