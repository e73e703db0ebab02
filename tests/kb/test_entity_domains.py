"""Entities list the domains they hold (`domains:`): validated, indexed on label boundaries."""

from __future__ import annotations

import pytest

from souverain.errors import KBValidationError
from souverain.kb.base import load_kb
from tests.conftest import write_kb


def _problems(tmp_path, records) -> list[str]:
    root = write_kb(tmp_path / "bad", records)
    with pytest.raises(KBValidationError) as info:
        load_kb(root)
    return [str(problem) for problem in info.value.problems]


def test_a_domain_held_by_two_entities_is_a_clash(tmp_path, mini_records):
    mini_records["entities"]["usparent"]["domains"] = ["parent.example"]
    mini_records["entities"]["eusub"]["domains"] = ["sub.example", "parent.example"]
    found = _problems(tmp_path, mini_records)
    clash = [p for p in found if "domain 'parent.example' is also held by" in p]
    assert len(clash) == 1, found
    assert ("eusub.yaml" in clash[0] and "domains[1]" in clash[0] and "entities/usparent.yaml" in clash[0]) or (
        "usparent.yaml" in clash[0] and "domains[0]" in clash[0] and "entities/eusub.yaml" in clash[0])


def test_a_domain_listed_twice_by_one_entity(tmp_path, mini_records):
    mini_records["entities"]["frco"]["domains"] = ["frco.example", "frco.example"]
    found = _problems(tmp_path, mini_records)
    assert any("frco.yaml" in p and "listed twice" in p for p in found), found


@pytest.mark.parametrize("bad", ["Frco.example", "frco.example.", "https://frco.example", "example"])
def test_domains_are_lower_case_names(tmp_path, mini_records, bad):
    mini_records["entities"]["frco"]["domains"] = [bad]
    found = _problems(tmp_path, mini_records)
    assert any("frco.yaml" in p and "domains" in p for p in found), found


@pytest.mark.parametrize("bad", ["co.uk", "www.frco.fr"])
def test_domains_are_registrable_domains(tmp_path, mini_records, bad):
    mini_records["entities"]["frco"]["domains"] = [bad]
    found = _problems(tmp_path, mini_records)
    assert any("frco.yaml" in p and "not a registrable domain" in p for p in found), found


def test_index_matches_on_label_boundaries(tmp_path, mini_records):
    mini_records["entities"]["frco"]["domains"] = ["frco.fr"]
    kb = load_kb(write_kb(tmp_path / "kb", mini_records))
    assert kb.indexes.domain_holder("frco.fr") == ("frco.fr", "frco")
    assert kb.indexes.domain_holder("WWW.Frco.FR.") == ("frco.fr", "frco")
    assert kb.indexes.domain_holder("notfrco.fr") is None
    assert kb.indexes.domain_holder("frco.fr.evil.example") is None


def test_bundled_kb_lists_domains_for_many_entities():
    kb = load_kb()
    holders = [entity for entity in kb.entities.values() if entity.domains]
    assert len(holders) >= 150
    assert kb.indexes.domain_holder("skype.com") == ("skype.com", "skype")
