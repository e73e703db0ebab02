"""Issue #10 items 5 and 9 on the bundled KB: weak sources replaced, ownership backed by a primary
source or two independent ones, bounds moved from the day a record was read to a dated source."""

from __future__ import annotations

import datetime as dt

import pytest

from souverain.attribute.who import who
from souverain.kb.base import load_kb
from souverain.kb.sources import ownership_problems, weak_sources

TODAY = dt.date(2026, 12, 7)

# records that cited a document mirror or an aggregator (docslib, fdocumenti, particle.news,
# singaporeinfomap, savedelete) before their sources were replaced or removed
FORMERLY_WEAK = {"alibaba", "altice", "asana", "aws", "cisco-domain-protection", "drahi-family",
                 "dustin-moskovitz", "francisco-partners", "lepida", "open-telekom-cloud-offer",
                 "register-it", "teamviewer"}
# entities whose ownership rested on one secondary site before a primary or second source was added
FORMERLY_SHORT = {"actalis", "esterline", "forcepoint", "gandi", "globalsign", "google", "hid-global",
                  "network-solutions", "oebag", "sophos", "swiss-post", "team-blue", "vade"}


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def test_no_replaced_record_cites_a_weak_source(kb):
    assert not {p.record for p in weak_sources(kb)} & FORMERLY_WEAK


def test_fixed_entities_have_enough_ownership_evidence(kb):
    assert not {p.record for p in ownership_problems(kb)} & FORMERLY_SHORT


def test_swiss_post_is_the_confederations_since_it_became_a_company(kb):
    edge = next(e for e in kb.entities["swiss-post"].owners if e.owner == "swiss-confederation")
    assert edge.since == dt.date(2013, 6, 26)
    data = who(kb, "swiss-post", dt.date(2015, 1, 1), today=TODAY).data
    assert data["controller"]["id"] == "swiss-confederation"
    assert "undocumented_ownership" not in data


def test_gimd_bound_rests_on_a_2018_source_not_the_read_date(kb):
    edge = kb.entities["gimd"].owners[0]
    assert edge.since_before == dt.date(2018, 12, 31)
    data = who(kb, "gimd", dt.date(2020, 1, 1), today=TODAY).data
    assert data["controller"]["id"] == "dassault-family"
    assert "undocumented_ownership" not in data
