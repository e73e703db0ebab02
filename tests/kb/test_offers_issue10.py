"""Issue #10 item 4: the eleven offers added in session 4 are in the KB, answer in the contract's
format (kind, confidence, sources; a judgement has its rationale, an unknown what was searched)
and assess end to end."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.kb.base import load_kb
from souverain.kb.schema import Assessment

OFFERS = {
    "scalingo-paas-offer": "scalingo",
    "cleura-public-cloud": "cleura",
    "cloudsigma-cloud": "cloudsigma",
    "elastx-cloud": "elastx",
    "aruba-cloud": "aruba",
    "orange-cloud-avenue": "orange-business",
    "jotelulu-cloud": "jotelulu",
    "ovhcloud-bare-metal": "ovh-sas",
    "scaleway-dedibox": "scaleway",
    "hetzner-dedicated": "hetzner",
    "infomaniak-ksuite-offer": "infomaniak",
}


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def test_at_least_forty_offers(kb):
    offers = [rid for rid, kind in kb.kinds.items() if kind == "assessments"]
    assert len(offers) >= 40
    assert set(OFFERS) <= set(offers)


@pytest.mark.parametrize(("offer", "provider"), sorted(OFFERS.items()))
def test_offer_answers_follow_the_contract(kb, offer, provider):
    record = kb.records[offer]
    assert isinstance(record, Assessment)
    assert record.provider == provider and provider in kb.entities
    assert record.answers or record.technology, "an offer with neither answers nor technology says nothing"
    for criterion, answer in record.answers.items():
        assert answer.kind != "derived", criterion
        assert answer.sources, f"{criterion}: an answer needs a source"
        if answer.kind == "assessor":
            assert (answer.rationale or "").strip(), f"{criterion}: a judgement needs its rationale"
        if answer.option is None:
            assert answer.searched, f"{criterion}: an unknown says what was searched"
        else:
            assert answer.evidence, criterion


def test_technology_of_cloud_avenue_drives_derived_criteria():
    result = CliRunner().invoke(cli, ["assess", "orange-cloud-avenue", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["provider"]["id"] == "orange-business"
    assert data["controller"]["id"] == "orange"
    [item] = data["technology"]
    assert (item["entity"], item["controller"]["id"], item["foreign"]) == ("vmware", "broadcom", True)


@pytest.mark.parametrize("offer", sorted(OFFERS))
def test_offer_assesses(offer):
    result = CliRunner().invoke(cli, ["assess", offer, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["provider"]["id"] == OFFERS[offer]
