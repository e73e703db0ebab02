"""Replay of Safespring's published CSF self-assessment (blog post of 6 Nov 2025, recorded in the
KB as the claims of ``safespring-cloud``): its objective SEALs 4/4/4/4/2/3/4/4 and its 86.25 %
score under the v1.2.1 weights. Replayed through the engine as self-declared answers, the same
objective SEALs and score come out; the KB's own evidenced record then shows where the published
figures are not carried by the facts we hold."""

from __future__ import annotations

import datetime as dt

import pytest

from souverain.assess.offer import assess_offer
from souverain.kb.base import load_kb
from souverain.kb.schema import Assessment

AT = dt.date(2026, 12, 7)
PUBLISHED = {"SOV-1": 4, "SOV-2": 4, "SOV-3": 4, "SOV-4": 4, "SOV-5": 2, "SOV-6": 3, "SOV-7": 4, "SOV-8": 4}
BLOG = "https://www.safespring.com/blogg/2025/2025-11-the-eu-just-defined-sovereign-cloud-here-is-our-score/"


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def replayed_answers(kb) -> dict:
    """Every typed criterion answered at the published SEAL of its objective: the best-scoring
    option at the lowest SEAL that reaches it (the self-assessment gives objective SEALs only)."""
    framework = kb.records["eu-csf"]
    source = kb.records["safespring-cloud"].sources[0].model_dump()
    answers = {}
    for objective in framework.objectives:
        target = PUBLISHED[objective.id]
        for criterion in objective.criteria:
            if criterion.derived in ("control", "jurisdiction", "extraterritorial", "compelled-access"):
                continue  # computed from the ownership graph: Safespring is Swedish-owned
            reaching = [o for o in criterion.options if (o.seal or 0) >= target]
            lowest = min(o.seal or 0 for o in reaching)
            option = max((o for o in reaching if (o.seal or 0) == lowest), key=lambda o: o.points)
            answers[criterion.id] = {"option": option.id, "kind": "self-declared", "sources": [source]}
    return answers


def test_the_record_carries_the_published_self_assessment(kb):
    record = kb.records["safespring-cloud"]
    assert str(record.sources[0].url) == BLOG and record.sources[0].published == dt.date(2025, 11, 6)
    overall = [c for c in record.claims if c.criterion is None]
    assert overall and "86.25" in overall[0].text and "4/4/4/4/2/3/4/4" in overall[0].text


def test_replay_gives_the_published_seals_and_score(kb):
    record = kb.records["safespring-cloud"]
    replay = Assessment.model_validate({**record.model_dump(), "answers": replayed_answers(kb)})
    result = assess_offer(kb, replay, AT, "csf-2025").csf
    # self-declared answers count in the floor as in the estimate: both give the published figures
    for reading in (result.estimate, result.floor):
        assert dict(reading.seal_by_objective) == PUBLISHED
        assert reading.score_pct == 86.25 and reading.seal == 2
    assert result.unknown == () and result.assessor == ()


def test_the_evidenced_record_does_not_carry_the_published_supply_chain_and_security_seals(kb):
    result = assess_offer(kb, kb.records["safespring-cloud"], AT, "csf-2025").csf
    estimate = result.estimate.seal_by_objective
    # our answers put SOV-5 at SEAL-1 (hardware origin not disclosed, a judgement) where Safespring says 2
    assert estimate["SOV-5"] == 1 and PUBLISHED["SOV-5"] == 2
    # the floor counts only what is documented or self-declared: far below the published 86.25 %
    assert result.floor.score_pct < 86.25 and result.estimate.score_pct < 86.25
