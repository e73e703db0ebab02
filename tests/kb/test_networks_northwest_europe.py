"""`souverain who` against the bundled knowledge base: networks and mail hosts of the Nordics,
Switzerland, Germany, France, Benelux, the UK, Ireland and the Baltics added for issue #9."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli


def _who(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["who", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["results"][0]


@pytest.mark.parametrize(
    ("asn", "operator", "controller"),
    [
        ("AS5607", "sky-uk", "comcast"),  # a UK broadband network controlled from the US
        ("AS5378", "vodafonethree", "vodafone"),
        ("AS206067", "vodafonethree", "vodafone"),
        ("AS44034", "hi3g-access", "ck-hutchison"),
        ("AS6848", "telenet", "liberty-global"),
        ("AS33915", "vodafoneziggo", "vodafoneziggo"),  # 50:50 joint venture: no controlling parent
        ("AS15796", "salt-mobile", "niel-family"),
        ("AS6677", "mila", "ardian"),
        ("AS12578", "tet", "latvian-state"),
        ("AS24921", "lmt", "lmt"),  # no holder with a majority
        ("AS12392", "voo", "orange"),
        ("AS33846", "dataport", "dataport"),
        ("AS2200", "renater", "renater"),
        ("AS58282", "statens-it", "statens-it"),
        ("AS47249", "ringsted-kommune", "ringsted-kommune"),
        ("AS13194", "bite", "providence-equity"),  # a Baltic operator controlled from the US
        ("AS12390", "kcom", "macquarie-group"),
        ("AS9145", "ewe", "ewe-verband"),
        ("AS12350", "vtx", "infravia"),
    ],
)
def test_networks_name_operator_and_controller(asn: str, operator: str, controller: str) -> None:
    item = _who(asn)
    assert item["status"] == "attributed"
    assert item["operator"]["id"] == operator
    assert item["controller"]["id"] == controller


def test_sky_before_comcast_is_its_own_controller() -> None:
    assert _who("AS5607", "--at", "2018-06-01")["controller"]["id"] == "sky-uk"


def test_vodafone_uk_joins_vodafonethree_on_31_may_2025() -> None:
    assert _who("AS5378", "--at", "2025-05-30")["controller"]["id"] == "vodafonethree"
    assert _who("AS5378", "--at", "2025-05-31")["controller"]["id"] == "vodafone"


@pytest.mark.parametrize(
    ("host", "operator"),
    [
        ("mx1.chur.ch", "stadt-chur"),
        ("mx2.thun.ch", "stadt-thun"),
        ("mail1.ur.ch", "canton-uri"),
        ("mx3.stadt-zuerich.ch", "stadt-zuerich"),
        ("mx.itcentrum.se", "tierps-kommun"),
        ("mx-biz-01.simnet.is", "siminn"),
    ],
)
def test_municipal_and_operator_mail_hosts(host: str, operator: str) -> None:
    item = _who(host)
    assert item["operator"]["id"] == operator
