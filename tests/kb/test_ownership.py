"""Ownership at a date, control chains and look-through holdings."""

from __future__ import annotations

import datetime as dt

import pytest

from souverain.kb.base import load_kb
from souverain.kb.laws import laws_for_entity, render_path
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


# --- every edge is dated: `since`, or a `since_before` bound before which nothing is asserted ---

def _problems(tmp_path, records) -> list[str]:
    from souverain.errors import KBValidationError
    from tests.conftest import write_kb

    with pytest.raises(KBValidationError) as info:
        load_kb(write_kb(tmp_path / "bad", records))
    return [str(problem) for problem in info.value.problems]


def test_undated_edge_fails_validation_in_plain_words(tmp_path, mini_records):
    mini_records["entities"]["frco"]["owners"] = [
        {"owner": "usparent", "capital_pct": 10, "since": "2015-01-01"},
        {"owner": "eusub", "capital_pct": 5, "since": "2016-01-01"},
        {"owner": "moving", "capital_pct": 20},
    ]
    found = _problems(tmp_path, mini_records)
    assert any(p.endswith("frco.yaml:16: owners[2]: give `since` (the date the holding started) or "
                          "`since_before` with a note") for p in found), found


def test_bound_needs_a_note_and_excludes_since(tmp_path, mini_records):
    mini_records["entities"]["frco"]["owners"] = [
        {"owner": "usparent", "capital_pct": 10, "since_before": "2015-01-01"},
        {"owner": "eusub", "capital_pct": 5, "since": "2016-01-01", "since_before": "2017-01-01", "note": "x"},
    ]
    found = _problems(tmp_path, mini_records)
    assert any("owners[0]: `since_before` needs a `note`" in p for p in found), found
    assert any("owners[1]: give either `since` or `since_before`, not both" in p for p in found), found


def test_edge_with_a_bound_is_not_asserted_before_it(tmp_path, mini_records):
    from tests.conftest import write_kb

    mini_records["entities"]["frco"]["owners"] = [
        {"owner": "usparent", "capital_pct": 100, "since_before": "2018-06-30",
         "note": "annual report 2018 shows the holding; the start was not found"},
    ]
    kb = load_kb(write_kb(tmp_path / "kb", mini_records))
    assert ultimate_controller(kb, "frco", dt.date(2018, 6, 29)).id == "frco"  # not invented before the bound
    assert ultimate_controller(kb, "frco", dt.date(2018, 6, 30)).id == "usparent"
    assert ultimate_controller(kb, "frco", dt.date(2026, 1, 1)).id == "usparent"


# --- the bundled KB ---

@pytest.fixture(scope="module")
def real_kb():
    return load_kb()


@pytest.mark.parametrize(
    ("target", "at", "controller"),
    [
        ("strato", dt.date(2005, 6, 1), "freenet"),
        ("strato", dt.date(2015, 1, 1), "deutsche-telekom"),
        ("strato", dt.date(2018, 1, 1), "united-internet"),
        ("iliad", dt.date(2015, 1, 1), "niel-family"),
        ("iliad", dt.date(2020, 1, 1), "niel-family"),
        ("dailymotion", dt.date(2014, 1, 1), "orange"),
        ("dailymotion", dt.date(2016, 1, 1), "vivendi"),
        ("vodafone-italia", dt.date(2020, 1, 1), "vodafone"),
    ],
)
def test_who_follows_dated_owners_on_the_real_kb(real_kb, target, at, controller):
    from souverain.attribute.who import who

    result = who(real_kb, target, at)
    assert result.data["controller"]["id"] == controller, result.data["chain_text"]


def test_strato_chain_at_2015_names_deutsche_telekom(real_kb):
    from souverain.attribute.who import who

    data = who(real_kb, "strato", dt.date(2015, 1, 1)).data
    assert [link["id"] for link in data["chain"]] == ["strato", "deutsche-telekom"]


def test_every_bound_says_what_was_searched(real_kb):
    """The schema makes every edge dated (since, or since_before with a note: see above); that a
    bound also carries its ``unverified`` entry, which ``who`` shows, is checked here."""
    bounds = [(entity, i) for entity in real_kb.entities.values()
              for i, edge in enumerate(entity.owners) if edge.since_before]
    assert len(bounds) >= 50
    for entity, i in bounds:
        why = entity.unverified.get(f"owners[{i}].since", "")
        assert len(why) >= 10, f"{entity.id}.owners[{i}] has a bound but no unverified owners[{i}].since"


def test_who_before_a_bound_shows_that_the_start_is_undocumented(real_kb):
    from souverain.attribute.who import who

    data = who(real_kb, "iliad", dt.date(2010, 1, 1)).data
    assert data["controller"]["id"] == "iliad"  # Niel's earlier majority is not invented
    assert "iliad.owners[0].since" in data["unverified"]
