"""Laws scoped to the services they bind (``Law.applies_to``, ``Entity.provides``)."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from souverain.attribute.who import who
from souverain.cli.main import cli
from souverain.kb.base import load_kb
from souverain.kb.laws import entity_roles, foreign_access_laws, laws_for_entity

AT = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def _applying(kb, entity_id, roles):
    return {e.law.id for e in foreign_access_laws(kb, laws_for_entity(kb, entity_id, AT, roles=roles))}


def test_us_controlled_manufacturer_is_not_reached_by_provider_laws(kb):
    # Latécoère (aerostructures) is controlled by Searchlight (US) but provides no communication service
    assert entity_roles(kb, "latecoere", AT) == frozenset()
    exposures = {e.law.id: e for e in laws_for_entity(kb, "latecoere", AT, roles=frozenset())}
    assert not exposures["us-cloud-act"].applies
    assert exposures["us-cloud-act"].requires == ("electronic-communication", "remote-computing")
    assert _applying(kb, "latecoere", frozenset()) == set()


def test_provider_context_keeps_every_law(kb):
    # a scan finds the entity as the provider of a service: the role is the service's
    assert {"us-cloud-act", "us-fisa-702"} <= _applying(kb, "latecoere", None)


def test_roles_come_from_the_services_an_entity_or_its_subsidiaries_operate(kb):
    # Alphabet operates nothing itself; Google, which it controls, operates Gmail
    assert "electronic-communication" in entity_roles(kb, "alphabet", AT)
    assert {"us-cloud-act", "us-fisa-702"} <= _applying(kb, "alphabet", entity_roles(kb, "alphabet", AT))


def test_colocation_operator_is_reached_only_by_the_equipment_provision(kb):
    roles = entity_roles(kb, "digital-realty", AT)
    assert roles == frozenset({"equipment-access"})
    assert _applying(kb, "digital-realty", roles) == {"us-fisa-702"}


def test_unscoped_law_reaches_every_organisation(kb):
    law = kb.laws["cn-national-intelligence-law"]
    assert law.applies_to == []


def test_who_entity_json_and_text(kb):
    data = who(kb, "latecoere", AT, None).data
    cloud_act = next(law for law in data["laws"] if law["id"] == "us-cloud-act")
    assert cloud_act["applies"] is False
    assert cloud_act["applies_to"] == ["electronic-communication", "remote-computing"]
    skype = who(kb, "skype", AT, None).data
    assert next(law for law in skype["laws"] if law["id"] == "us-cloud-act")["applies"] is True


@pytest.mark.parametrize(("lang", "phrase"), [("en", "provides none"), ("fr", "n'en fournit pas")])
def test_who_text_says_when_the_laws_would_reach(lang, phrase):
    result = CliRunner().invoke(cli, ["who", "latecoere", "--lang", lang, "--at", "2026-12-01"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert phrase in out
    assert "CLOUD Act" in out


def test_who_says_a_record_is_retired():
    result = CliRunner().invoke(cli, ["who", "microsoft-deutschland-mcio", "--lang", "en"])
    assert result.exit_code == 0 and "retired record" in result.output
