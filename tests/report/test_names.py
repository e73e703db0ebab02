"""Display names in the report's language: laws, functions, regions (KB data), countries (CLDR)."""

from __future__ import annotations

import json

from souverain.kb.base import load_kb
from souverain.kb.display import display_names
from souverain.report.i18n import COUNTRIES, Translator


def test_every_law_and_region_has_a_french_name_and_every_law_a_short_one():
    kb = load_kb()
    assert all(law.name_fr and law.short_name and law.short_name_fr for law in kb.laws.values())
    assert all(region.name_fr for region in kb.regions.values())


def test_names_follow_the_language():
    names = display_names(load_kb())
    fr, en = Translator("fr", names), Translator("en", names)
    assert fr.law("eu-gdpr-art-48", short=True) == "RGPD art. 48" and en.law("eu-gdpr-art-48", short=True) == "GDPR art. 48"
    assert fr.function("email.inbound") == "Courriel entrant (boîtes aux lettres)"
    assert fr.region("eu").startswith("Union européenne") and en.region("eu").startswith("European Union")
    assert (fr.country("DE"), en.country("de"), fr.country("EU")) == ("Allemagne", "Germany", "Union européenne")
    assert fr.token("effect", "compels-access") == "impose l'accès"


def test_without_names_the_fallback_is_shown_never_a_crash():
    t = Translator("fr")
    assert t.law("us-cloud-act", fallback="CLOUD Act") == "CLOUD Act" and t.law("x-unknown") == "x-unknown"
    assert t.country("QQ") == "QQ" and t.country(None) == "?"
    assert t.token("effect", "new-effect") == "new-effect"


def test_french_elision_after_de():
    t = Translator("fr")
    line = t("assess.technology_line", component="hyperviseur", chain="Amazon Web Services", dependency="x",
             updates="oui", keys="non", support="non", laws="")
    assert "d'Amazon Web Services" in line and "de Amazon" not in line
    assert "de Broadcom" in t("assess.technology_line", chain="Broadcom")  # consonant: no elision
    english = Translator("en")("assess.technology_line", chain="Amazon")
    assert "from Amazon" in english


def test_country_names_are_bundled_with_their_licence():
    data = json.loads(COUNTRIES.read_text(encoding="utf-8"))
    assert "Unicode" in data["source"] and data["licence"].startswith("Unicode-3.0")
    assert "UNICODE LICENSE V3" in (COUNTRIES.parent / "NOTICE").read_text(encoding="utf-8")
    assert len(data["names"]) > 240 and all(set(v) == {"en", "fr"} for v in data["names"].values())
