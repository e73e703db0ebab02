"""Technology providers of an offer: modelled as data, judged through their control chain and laws."""

from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from souverain.assess.answers import load_answers
from souverain.assess.offer import assess_offer
from souverain.errors import KBValidationError
from souverain.kb.base import load_kb
from souverain.kb.schema import Assessment, TechnologyDependency
from souverain.report.assessment import assessment_html, assessment_table, comparison_table
from tests.assess.test_csf_engine import _framework, _snc
from tests.conftest import SOURCE, write_kb

DATA = Path(__file__).parents[2] / "src" / "souverain" / "kb" / "data"
REAL_CSF = yaml.safe_load((DATA / "frameworks" / "eu-csf.yaml").read_text(encoding="utf-8"))
REAL_SNC = yaml.safe_load((DATA / "frameworks" / "secnumcloud.yaml").read_text(encoding="utf-8"))
AT = dt.date(2026, 11, 28)
BEFORE, AFTER = dt.date(2023, 6, 1), dt.date(2024, 6, 1)  # the synthetic acquisition closes on 2024-01-01


def _real_criteria(*ids: str) -> list[dict]:
    return [c for o in REAL_CSF["objectives"] for c in o["criteria"] if c["id"] in ids]


def _framework_with_technology() -> dict:
    """The engine test's framework, with the real SOV-5.5/5.6/6.3 ladders and the real technology rules."""
    framework = _framework()
    for objective in framework["objectives"]:
        if objective["id"] == "SOV-5":
            objective["criteria"] = _real_criteria("SOV-5.5", "SOV-5.6")
        if objective["id"] == "SOV-6":
            objective["criteria"] = [*objective["criteria"], *_real_criteria("SOV-6.3")]
    framework["technology_test"] = copy.deepcopy(REAL_CSF["technology_test"])
    return framework


@pytest.fixture
def kb(tmp_path, mini_records):
    records = copy.deepcopy(mini_records)
    ents = records["entities"]
    base = {k: v for k, v in ents["frco"].items() if k not in ("id", "name", "country", "owners")}
    # a European hypervisor maker bought by a US company on 2024-01-01
    ents["euvirt"] = dict(base, id="euvirt", name="Euro Virt SE", country="DE", owners=[
        {"owner": "frco", "capital_pct": 100, "since": "2010-01-01", "until": "2024-01-01"},
        {"owner": "usparent", "capital_pct": 100, "since": "2024-01-01"},
    ])
    ents["frhost"] = dict(base, id="frhost", name="FR Host SAS", country="FR")
    records["frameworks"] = {"eu-csf": _framework_with_technology(),
                             "secnumcloud": dict(_snc(), technology_test=copy.deepcopy(REAL_SNC["technology_test"]))}
    records["regions"]["eea"] = dict(records["regions"]["eu"], id="eea", name="EEA")
    return load_kb(write_kb(tmp_path / "kb", records))


def item(entity: str, **facts) -> dict:
    return {"entity": entity, "component": "hypervisor", "product": "EuroVisor",
            "dependency": "licensed-stack-operated-locally", "open_source": False, "updates_from_provider": True,
            "sources": SOURCE, "as_of": "2026-11-28", **facts}


def offer(technology: list[dict] | None = None, answers: dict | None = None, claims: list | None = None,
          provider: str = "frhost") -> Assessment:
    good = {f"SOV-{n}.1": {"option": "good", "kind": "documented", "sources": SOURCE} for n in (3, 4, 6, 7, 8)}
    return Assessment(id="offer", name="Offer", provider=provider, category="private-cloud", sources=SOURCE,
                      as_of=AT, answers={**good, **(answers or {})}, claims=claims or [],
                      technology=technology or [])


def criteria(result: dict) -> dict[str, dict]:
    return {c.id: c for c in result.csf.criteria}


def test_controller_change_of_the_technology_provider_changes_the_answers(kb):
    before = assess_offer(kb, offer([item("euvirt")]), BEFORE, "csf-2026")
    after = assess_offer(kb, offer([item("euvirt")]), AFTER, "csf-2026")
    assert criteria(before)["SOV-5.6"].source == "unknown"  # an EU provider: nothing derived, nothing credited
    assert before.secnumcloud_19_6.status == "pass" and before.technology[0].foreign is False
    got = criteria(after)
    assert got["SOV-5.6"].option == "few-non-eu-critical" and got["SOV-5.6"].source == "derived"
    assert got["SOV-5.5"].option == "non-eu-control-eu-execution"
    assert got["SOV-6.3"].option == "closed-source"
    assert got["SOV-5.6"].evidence == (
        "FR Host SAS -> licensed stack from Euro Virt SE <- US Parent Inc. (US, 100 %) [hypervisor: EuroVisor]"
        " -> US Test Act")
    assert after.technology[0].controller.as_dict() == {"id": "usparent", "name": "US Parent Inc.", "country": "US"}
    snc = after.secnumcloud_19_6
    assert snc.status == "unknown" and snc.unknowns[0].startswith("19.6 c): FR Host SAS -> updates shipped by")
    assert after.csf.estimate.seal == 2 and before.csf.estimate.seal == 4


def test_offer_without_a_foreign_technology_provider_keeps_its_score(kb):
    typed = {"SOV-5.6": {"option": "none", "kind": "documented", "sources": SOURCE}}
    plain = assess_offer(kb, offer(answers=typed), AT, "csf-2026")
    eu_only = assess_offer(kb, offer([item("frco")], answers=typed), AT, "csf-2026")
    assert eu_only.csf == plain.csf
    assert eu_only.secnumcloud_19_6.status == plain.secnumcloud_19_6.status == "pass"
    assert eu_only.technology[0].foreign is False


def test_derived_answer_is_a_ceiling_for_typed_answers(kb):
    above = assess_offer(kb, offer([item("usparent")], {"SOV-5.6": {"option": "none", "kind": "self-declared", "sources": SOURCE}}),
                         AT, "csf-2026")
    flagged = {c.id: c for c in above.csf.contradictions}
    assert flagged["SOV-5.6"].claimed == "none" and flagged["SOV-5.6"].option == "few-non-eu-critical"
    below = assess_offer(kb, offer([item("usparent")], {"SOV-5.6": {"option": "only-non-eu", "kind": "documented",
                                                                    "evidence": "audit found more", "sources": SOURCE}}),
                         AT, "csf-2026")
    kept = criteria(below)["SOV-5.6"]
    assert kept.option == "only-non-eu" and kept.source == "documented" and not kept.contradiction
    assert "audit found more" in kept.evidence and "at most few-non-eu-critical" in kept.evidence


def test_marketing_claim_against_a_technology_derivation_is_a_contradiction(kb):
    claims = [{"text": "No dependency on non-EU vendors", "criterion": "SOV-5.6", "option": "none",
               "sources": SOURCE}]
    result = assess_offer(kb, offer([item("usparent")], claims=claims), AT, "csf-2026")
    assert [c.id for c in result.csf.contradictions] == ["SOV-5.6"]


def test_vendor_operated_stack_fails_19_6_c(kb):
    result = assess_offer(kb, offer([item("usparent", dependency="vendor-operated", keys_from_provider=False,
                                          support_from_provider=True)]), AT, "csf-2026")
    got = criteria(result)
    assert got["SOV-5.6"].option == "only-non-eu" and got["SOV-5.5"].option == "non-eu-control-execution"
    snc = result.secnumcloud_19_6
    assert snc.status == "fail" and any(f.startswith("19.6 c): FR Host SAS -> stack run by US Parent")
                                           for f in snc.failures)


def test_open_source_fork_with_no_channel_passes_and_derives_nothing(kb):
    fork = item("usparent", dependency="open-source-fork", open_source=True, updates_from_provider=False,
                keys_from_provider=False, support_from_provider=False)
    result = assess_offer(kb, offer([fork]), AT, "csf-2026")
    assert {c.id for c in result.csf.criteria if c.source == "derived"} == {
        "SOV-1.1", "SOV-2.1", "SOV-2.2", "SOV-2.3"}
    assert result.secnumcloud_19_6.status == "pass"
    assert result.secnumcloud_19_6.technology[0].status == "pass"


def test_technology_item_outside_its_dates_is_ignored(kb):
    ended = item("usparent", until="2020-01-01")
    assert assess_offer(kb, offer([ended]), AT, "csf-2026").technology == ()


def test_kb_validate_catches_a_dangling_technology_entity(tmp_path, mini_records):
    records = copy.deepcopy(mini_records)
    records["frameworks"] = {"eu-csf": _framework_with_technology()}
    records["regions"]["eea"] = dict(records["regions"]["eu"], id="eea", name="EEA")
    records["assessments"] = {"dangling": offer([item("nobody-corp")]).model_dump(mode="json", exclude_defaults=True)}
    records["assessments"]["dangling"]["id"] = "dangling"
    root = write_kb(tmp_path / "bad", records)
    with pytest.raises(KBValidationError) as info:
        load_kb(root)
    found = [str(p) for p in info.value.problems]
    hit = [p for p in found if "dangling.yaml" in p and "technology[0].entity" in p]
    assert hit and "unknown entity 'nobody-corp'" in hit[0], found
    line = int(hit[0].split(":")[1])
    assert "nobody-corp" in (root / "assessments" / "dangling.yaml").read_text().splitlines()[line - 1]


def test_answers_file_with_a_dangling_technology_entity_is_refused(tmp_path):
    kb = load_kb()
    data = offer([item("nobody-corp")], provider="ovh-sas").model_dump(mode="json", exclude_defaults=True)
    data["answers"] = {}
    path = tmp_path / "tender.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(KBValidationError) as info:
        load_answers(path, kb)
    assert any("technology[0].entity: unknown entity 'nobody-corp'" in str(p) for p in info.value.problems)


def test_every_technology_field_is_documented():
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    section = readme.split("`technology`:", 1)[1]
    for field in TechnologyDependency.model_fields:
        assert f"`{field}`" in section, field
    for level in ("vendor-operated", "licensed-stack-operated-locally", "open-source-fork"):
        assert f"`{level}`" in section, level


# --- the bundled knowledge base -------------------------------------------------------------


@pytest.fixture(scope="module")
def real_kb():
    return load_kb()


def test_bleu_depends_on_a_us_technology_provider(real_kb):
    result = assess_offer(real_kb, real_kb.records["bleu-cloud"], AT, "csf-2026")
    assert result.controller.country == "FR"  # ownership alone looks European
    providers = {(i.entity, i.controller.country) for i in result.technology}
    assert providers == {("microsoft", "US")}
    got = criteria(result)
    assert got["SOV-5.6"].source == "derived" and got["SOV-5.6"].option == "few-non-eu-critical"
    evidence = got["SOV-5.6"].evidence
    assert evidence.startswith("Bleu SAS -> licensed stack from Microsoft Corporation (US)")
    assert "CLOUD Act" in evidence and "Section 702" in evidence
    assert got["SOV-6.3"].option == "closed-source"
    assert result.secnumcloud_19_6.status == "unknown"
    assert any(u.startswith("19.6 c): Bleu SAS -> updates shipped by Microsoft Corporation")
               for u in result.secnumcloud_19_6.unknowns)
    assert result.csf.estimate.seal <= 2


@pytest.mark.parametrize(("offer_id", "controller"), [
    ("bleu-cloud", "microsoft"), ("delos-cloud-offer", "microsoft"), ("s3ns-premi3ns", "alphabet"),
    ("t-systems-sovereign-google", "alphabet"), ("aws-esc", "amazon"), ("azure", "microsoft"),
    ("microsoft-365-edb", "microsoft"), ("google-workspace", "alphabet"), ("oracle-eu-sovereign-cloud", "oracle"),
    ("ibm-cloud", "ibm"), ("ovhcloud-secnumcloud", "broadcom"), ("cloud-temple-secnumcloud", "broadcom"),
])
def test_offers_on_us_technology_have_it_recorded_and_derived(real_kb, offer_id, controller):
    result = assess_offer(real_kb, real_kb.records[offer_id], AT, "csf-2026")
    assert controller in {i.controller.id for i in result.technology}
    assert criteria(result)["SOV-5.6"].source == "derived", offer_id
    assert result.secnumcloud_19_6.status in ("fail", "unknown")


def test_vmware_dependency_follows_the_broadcom_acquisition(real_kb):
    record = real_kb.records["ovhcloud-secnumcloud"]
    after = assess_offer(real_kb, record, AT, "csf-2026").technology[0]
    before = assess_offer(real_kb, record, dt.date(2023, 11, 21), "csf-2026").technology[0]
    assert after.chain_text == "VMware LLC <- Broadcom Inc. (US, 100 %)"
    assert before.controller.id == "vmware"  # a US company either way, but not yet Broadcom's


def test_t_systems_google_fails_19_6_c_and_aws_esc_claim_is_contradicted(real_kb):
    tsi = assess_offer(real_kb, real_kb.records["t-systems-sovereign-google"], AT, "csf-2026")
    assert any(f.startswith("19.6 c): T-Systems International GmbH -> stack run by Google LLC")
               for f in tsi.secnumcloud_19_6.failures)
    esc = assess_offer(real_kb, real_kb.records["aws-esc"], AT, "csf-2026")
    flagged = {c.id: c for c in esc.csf.contradictions}
    assert flagged["SOV-5.6"].claimed == "none" and flagged["SOV-5.6"].option == "only-non-eu"


def test_reports_show_technology_next_to_the_ownership_chain(real_kb):
    result = assess_offer(real_kb, real_kb.records["bleu-cloud"], AT, "csf-2026")
    text = assessment_table(result, "en")
    head = text.split("\n\n", 1)[0]
    assert re.search(r"ultimate controller Bleu SAS \(FR\)\.\n.*\nTechnology: cloud platform: Microsoft Azure", head)
    assert "Technology providers (" in text
    assert "Technologie : plateforme cloud: « Microsoft Azure" in assessment_table(result, "fr", width=200)
    html = assessment_html([result], "fr")
    assert "Fournisseurs de technologie" in html and "pile sous licence exploitée par l&#39;opérateur" in html
    plain = assess_offer(real_kb, real_kb.records["ovhcloud-public-cloud-offer"], AT, "csf-2026")
    assert "No technology provider is recorded" in assessment_table(plain, "en")
    assert "Microsoft Corporation (US)" in comparison_table([result, plain], "en")
