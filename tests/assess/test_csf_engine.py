"""The CSF and §19.6 engines on a synthetic knowledge base (numbers checked by hand)."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from souverain.assess.csf import objective_score
from souverain.assess.offer import assess_offer
from souverain.assess.secnumcloud import ownership_test
from souverain.kb.base import load_kb
from souverain.kb.schema import Assessment, OwnershipTest
from tests.conftest import SOURCE, write_kb

DOC_WEIGHTS = {"SOV-1": 15, "SOV-2": 10, "SOV-3": 10, "SOV-4": 15, "SOV-5": 20, "SOV-6": 15, "SOV-7": 10, "SOV-8": 5}
AT = dt.date(2026, 11, 28)


def test_safespring_vector():
    seals = dict(zip(DOC_WEIGHTS, (4, 4, 4, 4, 2, 3, 4, 4), strict=True))
    assert objective_score(seals, DOC_WEIGHTS) == 86.25


def _opts(*specs):
    return [{"id": i, "label": f"option {i}", "points": p, "seal": s} for i, p, s in specs]


def _framework():
    derived = {
        "SOV-1.1": ("control", _opts(("outside-eu", 0, 1), ("mostly-outside-eu", 300, 1), ("mostly-eu", 600, 3), ("entirely-eu", 1000.4, 4))),
        "SOV-2.1": ("jurisdiction", _opts(("non-eu", 0, 1), ("mixed", 100, 1), ("exclusively-eu", 334, 4))),
        "SOV-2.2": ("extraterritorial", _opts(("fully-exposed", 0, 1), ("mitigation-clauses", 50, 1),
                                               ("eu-subsidiary-contractual", 100, 1), ("legal-shielding", 200, 2),
                                               ("verified-immunity", 333, 4))),
        "SOV-2.3": ("compelled-access", _opts(("compelled-access", 0, 1), ("disputed-or-notified", 100, 1),
                                              ("always-rejected", 333.4, 4))),
    }
    objectives = []
    for n in range(1, 9):
        criteria = []
        for cid, (rule, options) in derived.items():
            if cid.startswith(f"SOV-{n}."):
                criteria.append({"id": cid, "name": f"criterion {cid}", "derived": rule, "options": options})
        if not criteria:
            criteria.append({"id": f"SOV-{n}.1", "name": f"criterion {n}.1",
                             "options": _opts(("bad", 0, 0), ("mid", 500, 2), ("good", 1000.2, 4))})
        objectives.append({"id": f"SOV-{n}", "name": f"objective {n}", "criteria": criteria})
    return {"id": "eu-csf", "name": "CSF (test)", "version": "test", "score_cap_pct": 100,
            "ownership_test": {"home_region": "eea", "individual_max_pct": 24, "collective_max_pct": 39},
            "profiles": {"csf-2025": {"name": "doc", "method": "objective-seal", "weights": DOC_WEIGHTS},
                         "csf-2026": {"name": "calc", "method": "criterion-points",
                                      "weights": {"SOV-1": 20, "SOV-2": 10, "SOV-3": 10, "SOV-4": 15, "SOV-5": 10,
                                                  "SOV-6": 15, "SOV-7": 15, "SOV-8": 5}}},
            "objectives": objectives, "sources": copy.deepcopy(SOURCE), "as_of": "2026-11-28"}


def _snc():
    return {"id": "secnumcloud", "name": "SecNumCloud 3.2", "version": "3.2", "sources": copy.deepcopy(SOURCE),
            "as_of": "2026-11-28", "ownership_test": {"home_region": "eu", "individual_max_pct": 24,
                                                      "collective_max_pct": 39}}


@pytest.fixture
def kb(tmp_path, mini_records):
    records = copy.deepcopy(mini_records)
    ents = records["entities"]
    base = {k: v for k, v in ents["frco"].items() if k not in ("id", "name", "country", "owners")}
    ents["usfund"] = dict(base, id="usfund", name="US Fund LP", country="US")
    ents["usfund2"] = dict(base, id="usfund2", name="US Fund Two LP", country="US")
    ents["eu-hold"] = dict(base, id="eu-hold", name="EU Hold SA", country="FR",
                           owners=[{"owner": "usfund2", "capital_pct": 60, "votes_pct": 60, "since": "2015-01-01"}])
    ents["eu-cloud"] = dict(base, id="eu-cloud", name="EU Cloud SE", country="DE",
                            owners=[{"owner": "frco", "capital_pct": 63.8, "since": "2015-01-01"}, {"owner": "usfund", "capital_pct": 21.2, "since": "2015-01-01"}])
    ents["mixed-cloud"] = dict(base, id="mixed-cloud", name="Mixed Cloud SAS", country="FR",
                               owners=[{"owner": "usfund", "capital_pct": 20, "votes_pct": 20, "since": "2015-01-01"},
                                       {"owner": "eu-hold", "capital_pct": 20, "votes_pct": 20, "since": "2015-01-01"},
                                       {"owner": "frco", "capital_pct": 60, "votes_pct": 60, "since": "2015-01-01"}])
    records["frameworks"] = {"eu-csf": _framework(), "secnumcloud": _snc()}
    records["regions"]["eea"] = dict(records["regions"]["eu"], id="eea", name="EEA")
    return load_kb(write_kb(tmp_path / "kb", records))


def offer(provider: str, answers: dict | None = None, claims: list | None = None) -> Assessment:
    return Assessment(id="offer", name="Offer", provider=provider, category="iaas", sources=SOURCE, as_of=AT,
                      answers=answers or {}, claims=claims or [])


ALL_GOOD = {f"SOV-{n}.1": {"option": "good", "kind": "documented", "sources": SOURCE} for n in range(3, 9)}


def test_us_controlled_subsidiary_capped_at_seal_1(kb):
    result = assess_offer(kb, offer("eusub", ALL_GOOD), AT, "csf-2026")
    assert result.csf.floor.seal == 1
    derived = {c.id: c.option for c in result.csf.criteria if c.source == "derived"}
    assert derived == {"SOV-1.1": "mostly-outside-eu", "SOV-2.1": "mixed", "SOV-2.2": "eu-subsidiary-contractual",
                       "SOV-2.3": "compelled-access"}
    assert result.secnumcloud_19_6.status == "fail"


def test_claim_contradicting_computed_answer_is_flagged(kb):
    claims = [{"text": "Fully immune from non-EU laws", "criterion": "SOV-2.2", "option": "verified-immunity",
               "sources": SOURCE}]
    result = assess_offer(kb, offer("eusub", ALL_GOOD, claims), AT, "csf-2026")
    flagged = result.csf.contradictions
    assert [c.id for c in flagged] == ["SOV-2.2"]
    assert flagged[0].claimed == "verified-immunity" and flagged[0].option == "eu-subsidiary-contractual"


def test_unknown_answers_count_as_worst_case(kb):
    result = assess_offer(kb, offer("frco"), AT, "csf-2026")
    assert set(result.csf.unknown) == {f"SOV-{n}.1" for n in range(3, 9)}
    assert result.csf.floor.seal == 0
    good = assess_offer(kb, offer("frco", ALL_GOOD), AT, "csf-2026")
    assert good.csf.floor.seal == 4 and good.csf.floor.score_pct > result.csf.floor.score_pct


def test_score_clamped_at_100(kb):
    result = assess_offer(kb, offer("frco", ALL_GOOD), AT, "csf-2026")
    assert result.csf.floor.score_raw_pct > 100 and result.csf.floor.score_pct == 100


def test_doc_profile_uses_objective_seals(kb):
    result = assess_offer(kb, offer("frco", ALL_GOOD), AT, "csf-2025")
    assert result.csf.floor.score_pct == 100
    capped = assess_offer(kb, offer("eusub", ALL_GOOD), AT, "csf-2025")
    # SOV-1 and SOV-2 at SEAL-1: 15/4 + 10/4 + the other 75 points
    assert capped.csf.floor.score_pct == pytest.approx(15 / 4 + 10 / 4 + 75)


def test_gate(kb):
    result = assess_offer(kb, offer("eusub", ALL_GOOD), AT, "csf-2026", 2)
    assert result.csf.gate.passed is False and set(result.csf.gate.failing) == {"SOV-1", "SOV-2"}
    per_objective = assess_offer(kb, offer("eusub", ALL_GOOD), AT, "csf-2026", {"SOV-3": 3, "SOV-4": 4})
    assert per_objective.csf.gate.passed is True


def test_ionos_like_21_percent_passes_individual_cap(kb):
    test = OwnershipTest(home_region="eu", individual_max_pct=24, collective_max_pct=39)
    result = ownership_test(kb, kb.entities["eu-cloud"], test, AT)
    assert result.status == "pass" and result.holdings[0].capital_pct == 21.2


def test_two_level_indirect_holding_breaches_collective_cap(kb):
    test = OwnershipTest(home_region="eu", individual_max_pct=24, collective_max_pct=39)
    result = ownership_test(kb, kb.entities["mixed-cloud"], test, AT)
    # usfund 20 % directly; usfund2 controls eu-hold (60 %) which holds 20 %: 12 % capital, 20 % votes
    by_id = {h.holder: h for h in result.holdings}
    assert by_id["usfund2"].capital_pct == 12 and by_id["usfund2"].votes_pct == 20
    assert result.collective_capital == 32 and result.collective_votes == 40
    assert result.status == "fail" and any("together" in f for f in result.failures)
    assert not any("individual cap" in f for f in result.failures)


def test_change_of_controller_changes_result_at_date(kb):
    before = assess_offer(kb, offer("moving", ALL_GOOD), dt.date(2019, 6, 1), "csf-2026")
    after = assess_offer(kb, offer("moving", ALL_GOOD), dt.date(2021, 6, 1), "csf-2026")
    assert before.csf.floor.seal == 4 and before.secnumcloud_19_6.status == "pass"
    assert after.csf.floor.seal == 1 and after.secnumcloud_19_6.status == "fail"


def test_claim_on_an_unknown_answer_is_unsupported_not_contradicted(kb):
    claims = [{"text": "Top-grade security", "criterion": "SOV-3.1", "option": "good", "sources": SOURCE}]
    result = assess_offer(kb, offer("frco", {}, claims), AT, "csf-2026")
    assert result.csf.contradictions == ()
    assert [c.id for c in result.csf.unsupported_claims] == ["SOV-3.1"]
