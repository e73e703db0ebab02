"""Ownership at a date, control chains and look-through holdings."""

from __future__ import annotations

import datetime as dt

from souverain.assess.exposure import laws_for_entity, render_path
from souverain.kb.base import load_kb
from souverain.kb.ownership import control_chain, look_through, ultimate_controller


def test_controller_changes_with_date(mini_kb_dir):
    kb = load_kb(mini_kb_dir)
    assert ultimate_controller(kb, "moving", dt.date(2019, 12, 31)).id == "frco"
    assert ultimate_controller(kb, "moving", dt.date(2020, 1, 1)).id == "usparent"


def test_chain_and_law_path(mini_kb_dir):
    kb = load_kb(mini_kb_dir)
    chain = control_chain(kb, "eusub", dt.date(2026, 1, 1))
    assert [link.entity.id for link in chain] == ["eusub", "usparent"]
    assert render_path(chain) == "EU Sub GmbH <- US Parent Inc. (US, 100 %)"
    exposures = laws_for_entity(kb, "eusub", dt.date(2026, 1, 1))
    assert [(e.law.id, e.via) for e in exposures] == [("us-law", "control")]
    assert exposures[0].path_text() == "EU Sub GmbH <- US Parent Inc. (US, 100 %)"


def test_law_not_yet_in_force(mini_kb_dir):
    kb = load_kb(mini_kb_dir)
    assert laws_for_entity(kb, "eusub", dt.date(2010, 1, 1)) == []


def test_eu_entity_without_us_parent_has_no_us_law(mini_kb_dir):
    kb = load_kb(mini_kb_dir)
    assert laws_for_entity(kb, "frco", dt.date(2026, 1, 1)) == []
    assert laws_for_entity(kb, "moving", dt.date(2019, 6, 1)) == []
    assert [e.law.id for e in laws_for_entity(kb, "moving", dt.date(2021, 6, 1))] == ["us-law"]


def test_look_through_multiplies_and_adds(tmp_path, mini_records):
    from tests.conftest import write_kb

    ents = mini_records["entities"]
    ents["target"] = dict(ents["frco"], id="target", name="Target SA", owners=[
        {"owner": "hold-a", "capital_pct": 30, "votes_pct": 30, "since": "2015-01-01"},
        {"owner": "hold-b", "capital_pct": 20, "since": "2015-01-01"},
    ])
    ents["hold-a"] = dict(ents["frco"], id="hold-a", name="Hold A", owners=[{"owner": "usparent", "capital_pct": 60, "since": "2015-01-01"}])
    ents["hold-b"] = dict(ents["frco"], id="hold-b", name="Hold B", owners=[{"owner": "usparent", "capital_pct": 25, "since": "2015-01-01"}])
    kb = load_kb(write_kb(tmp_path / "kb", mini_records))
    holdings = look_through(kb, "target", dt.date(2026, 1, 1))
    # capital: 30 % x 60 % + 20 % x 25 % = 18 + 5 = 23 %; votes: controls A (30) + 25 % of B's 20 = 35 %
    assert holdings["usparent"] == (23.0, 35.0)
    assert holdings["hold-a"] == (30.0, 30.0)
