"""The assessment's sentences are messages (catalogue id + values): the JSON keeps the English text
beside them, unchanged, and reports render them in their language."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from souverain.assess.offer import assess_offer
from souverain.kb.base import load_kb
from souverain.kb.display import display_names
from souverain.report.i18n import Translator
from souverain.report.prose import localised, render

AT = dt.date(2026, 11, 28)


@pytest.fixture(scope="module")
def kb():
    return load_kb()


@pytest.fixture(scope="module")
def esc(kb):
    return assess_offer(kb, kb.records["aws-esc"], AT, "csf-2026")


def test_derived_evidence_is_a_message_whose_english_is_the_evidence(kb, esc):
    en, fr = Translator("en", display_names(kb)), Translator("fr", display_names(kb))
    derived = [c for c in esc.csf.criteria if c.source == "derived"]
    assert {c.id for c in derived} >= {"SOV-1.1", "SOV-2.1", "SOV-2.2", "SOV-2.3"}
    for item in derived:
        assert item.evidence_message is not None
        assert render(item.evidence_message, Translator("en")) == item.evidence  # the JSON text, unchanged
        assert render(item.evidence_message, fr) != item.evidence, item.id
    by_id = {c.id: c for c in derived}
    assert by_id["SOV-1.1"].evidence.startswith("ultimate controller outside the EU/EEA: AWS European Sovereign")
    assert render(by_id["SOV-1.1"].evidence_message, fr).startswith("contrôleur ultime hors de l'UE/EEE : AWS")
    # law names follow the language; the English text keeps the KB's English names
    assert "Clarifying Lawful Overseas Use of Data Act (CLOUD Act)" in by_id["SOV-2.3"].evidence
    assert render(by_id["SOV-2.3"].evidence_message, fr).endswith(
        "peuvent imposer l'accès (AWS European Sovereign Cloud GmbH <- Amazon.com, Inc. (US, 100 %))")
    assert render(by_id["SOV-2.3"].evidence_message, en) == by_id["SOV-2.3"].evidence


def test_secnumcloud_failures_are_messages_in_the_same_order(esc):
    snc = esc.secnumcloud_19_6
    assert snc is not None and snc.status == "fail"
    assert len(snc.failure_messages) == len(snc.failures) and len(snc.unknown_messages) == len(snc.unknowns)
    en = Translator("en")
    assert [render(m, en) for m in snc.failure_messages] == list(snc.failures)
    assert snc.failures[0] == ("Amazon.com, Inc. (US) holds 100 % of capital and 100 % of votes, over the 24 % "
                               "individual cap")
    french = [render(m, Translator("fr")) for m in snc.failure_messages + snc.unknown_messages]
    assert french[0] == ("Amazon.com, Inc. (US) détient 100 % du capital et 100 % des droits de vote, au-delà du "
                         "plafond individuel de 24 %")
    assert any(f.startswith("19.6 c) : AWS European Sovereign Cloud GmbH -> mises à jour livrées par Amazon Web")
               for f in french)
    assert all(row.reason_message is not None for row in snc.technology)


def test_json_carries_keys_params_and_english(esc):
    data = json.loads(json.dumps(esc.as_dict(), default=str))
    criterion = next(c for c in data["csf"]["criteria"] if c["id"] == "SOV-2.1")
    assert criterion["evidence"].startswith("the control chain spans jurisdictions: ")
    assert criterion["evidence_message"]["key"] == "assess.why.chain_mixed"
    assert set(criterion["evidence_message"]["params"]) == {"path"}
    assert "evidence_message" not in next(c for c in data["csf"]["criteria"] if c["source"] == "assessor")
    assert render(data["secnumcloud_19_6"]["failure_messages"][0], Translator("en")) == \
        data["secnumcloud_19_6"]["failures"][0]


def test_localised_copy_reads_french_and_quotes_kb_evidence(kb, esc):
    fr = localised(esc, Translator("fr", display_names(kb)))
    criteria = {c.id: c for c in fr.csf.criteria}
    assert criteria["SOV-1.1"].name == "Contrôle de l'entité juridique dans l'UE/EEE"
    assert criteria["SOV-1.1"].label == "Majoritairement hors de l'UE"
    assert criteria["SOV-1.1"].claimed == "Entièrement dans l'UE"  # the claimed option's label, not its id
    assert fr.csf.objectives[1].name == "Souveraineté juridique et juridictionnelle"
    assert fr.csf.profile.name == "Calculateur de la Commission (1er juin 2026)"
    judged = next(c for c in fr.csf.criteria if c.source == "assessor")
    assert judged.rationale.startswith("« ") and judged.rationale.endswith(" » (en anglais)")
    assert all(c.text.endswith("(en anglais)") for c in fr.claims)
    assert fr.technology[0].component == "plateforme cloud"
    en = localised(esc, Translator("en", display_names(kb)))
    assert {c.id: c for c in en.csf.criteria}["SOV-1.1"].name == "EU/EEA legal entity control"
    assert next(c for c in en.csf.criteria if c.source == "assessor").rationale == judged.rationale[2:-15]
