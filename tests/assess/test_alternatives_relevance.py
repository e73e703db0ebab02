"""Alternatives match the service found (its category or an explicit ``replaces``), not just the function."""

from __future__ import annotations

import datetime as dt

import pytest

from souverain.assess.organisation import alternatives_for
from souverain.kb.base import load_kb
from souverain.model.dependency import Dependency, EntityRef, ServiceRef

AT = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def _dep(kb, service_id, function="web.third_party"):
    service = kb.services[service_id]
    controller = EntityRef("alphabet", "Alphabet Inc.", "US")
    return Dependency("example.fr", function, "identified", "high", reason="identified",
                      service=ServiceRef(service.id, service.name, service.category),
                      operator=controller, controller=controller, foreign_laws=("us-cloud-act",))


def test_fonts_and_tag_manager_get_fonts_and_analytics_never_payment(kb):
    alts = alternatives_for(kb, [_dep(kb, "google-fonts"), _dep(kb, "google-tag-manager")], AT)["web.third_party"]
    for alt in alts:  # each one hosts fonts or measures audiences (a tag and consent suite may do both)
        categories = set(kb.alternatives[alt.id].categories)
        assert categories & {"fonts-cdn", "analytics"} and "payment" not in categories, (alt.name, categories)
    assert any("Google Fonts" in alt.replaces_found for alt in alts)
    assert any("Google Tag Manager" in alt.replaces_found for alt in alts)


def test_a_payment_script_gets_payment_alternatives(kb):
    alts = alternatives_for(kb, [_dep(kb, "stripe-js")], AT)["web.third_party"]
    assert alts and all("payment" in kb.alternatives[alt.id].categories for alt in alts)
    assert alts[0].replaces_current  # Adyen names Stripe in `replaces`


def test_alternative_carries_its_own_laws_and_qualifications(kb):
    alts = alternatives_for(kb, [_dep(kb, "google-workspace-mail", "email.inbound")], AT)["email.inbound"]
    by_vendor_country = {alt.country: alt for alt in alts}
    assert "CH" in by_vendor_country and "ch-buepf" in by_vendor_country["CH"].foreign_laws
    assert all(isinstance(alt.secnumcloud, bool) for alt in alts)
