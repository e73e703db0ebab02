"""`who --at` before a `since_before` bound says the earlier ownership is not documented (real KB)."""

from __future__ import annotations

import datetime as dt

import pytest

from souverain.attribute.who import who
from souverain.cli.who import render_who
from souverain.kb.base import load_kb
from souverain.report.i18n import Translator
from souverain.report.terminal import WIDE

TODAY = dt.date(2026, 12, 7)


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def _gce_bound(kb) -> dt.date:
    edge = kb.entities["google-cloud-emea"].owners[0]
    assert edge.owner == "google" and edge.since is None and edge.since_before is not None
    return edge.since_before


def test_before_a_bound_the_gap_is_reported(kb):
    bound = _gce_bound(kb)
    data = who(kb, "google-cloud-emea", bound - dt.timedelta(days=1), today=TODAY).data
    # the walk stops at the Irish company for want of a source...
    assert data["controller"]["id"] == "google-cloud-emea"
    # ...and the result says so instead of presenting it as independent
    assert data["undocumented_ownership"] == [{
        "entity": "google-cloud-emea", "entity_name": "Google Cloud EMEA Limited",
        "owner": "google", "owner_name": kb.entities["google"].name, "since_before": bound.isoformat(),
    }]


def test_from_the_bound_on_there_is_no_gap(kb):
    data = who(kb, "google-cloud-emea", _gce_bound(kb), today=TODAY).data
    assert data["controller"]["id"] == "alphabet"
    assert "undocumented_ownership" not in data


def test_gap_names_the_next_documented_holding_not_todays(kb):
    # Swisscom: today's edge to the Confederation is bounded at 2024-12-31, but an earlier edge
    # (bounded at 2005-12-20) documents the holding from then on
    earlier = min(e.start for e in kb.entities["swisscom"].owners if e.owner == "swiss-confederation")
    data = who(kb, "swisscom", dt.date(2000, 1, 1), today=TODAY).data
    assert [(g["entity"], g["owner"], g["since_before"]) for g in data["undocumented_ownership"]] == [
        ("swisscom", "swiss-confederation", earlier.isoformat())]
    assert "undocumented_ownership" not in who(kb, "swisscom", dt.date(2020, 1, 1), today=TODAY).data


def test_exact_start_is_not_reported_as_a_gap(kb):
    # SFR's holding by Altice France starts on a known day (since: 2014-11-27): before it SFR
    # belonged to someone else the KB does not model, which is not a since_before gap
    data = who(kb, "sfr", dt.date(2010, 1, 1), today=TODAY).data
    assert "sfr" not in {gap["entity"] for gap in data.get("undocumented_ownership", [])}


@pytest.mark.parametrize(("lang", "line"), [
    ("en", "Ownership of Google Cloud EMEA Limited before {d} is not documented: {o} is its owner from that date at the latest."),
    ("fr", "La détention de Google Cloud EMEA Limited avant le {d} n'est pas documentée : {o} en est propriétaire depuis cette date au plus tard."),
])
def test_gap_line_in_the_table_output(kb, lang, line):
    bound = _gce_bound(kb)
    data = who(kb, "google-cloud-emea", bound - dt.timedelta(days=1), today=TODAY).data
    expected = line.format(d=bound.isoformat(), o=kb.entities["google"].name)
    assert expected in render_who(data, Translator(lang), width=WIDE).splitlines()  # one line when not wrapped
    after = render_who(who(kb, "google-cloud-emea", bound, today=TODAY).data, Translator(lang), width=WIDE)
    assert line.split("{d}")[0] not in after
