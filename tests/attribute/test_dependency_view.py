"""dependency.build reads operator, controller and laws from the KB view at the scan's date."""

from __future__ import annotations

import datetime as dt

from souverain.attribute import dependency
from souverain.kb.base import load_kb


def _mail(view, domain: str):
    return dependency.build(view, domain, "email.inbound", status="identified", confidence="high",
                            reason="mx-service", service_id="eusub-mail")


def test_laws_follow_the_view_date(mini_kb_dir):
    kb = load_kb(mini_kb_dir, validate=False)
    before_law = _mail(kb.at(dt.date(2016, 1, 1)), "a.test")
    after_law = _mail(kb.at(dt.date(2026, 1, 1)), "a.test")
    assert before_law.controller.id == after_law.controller.id == "usparent"
    # us-law is in force from 2018
    assert (before_law.foreign_laws, before_law.foreign_access) == ((), False)
    assert (after_law.foreign_laws, after_law.foreign_access) == (("us-law",), True)
    assert after_law.chain_text == "EU Sub GmbH <- US Parent Inc. (US, 100 %)"


def test_dependencies_share_the_views_answer(mini_kb_dir):
    """The survey hot path: a second dependency on the same operator builds no new description."""
    view = load_kb(mini_kb_dir, validate=False).at(dt.date(2026, 1, 1))
    one, two = _mail(view, "a.test"), _mail(view, "b.test")
    assert one.operator is two.operator and one.chain is two.chain and one.laws is two.laws


def test_entity_outside_the_kb_has_no_operator(mini_kb_dir):
    view = load_kb(mini_kb_dir, validate=False).at(dt.date(2026, 1, 1))
    dep = dependency.build(view, "a.test", "web.hosting", status="unknown", confidence="low",
                           reason="web-unrecognised", entity_id="nobody")
    assert (dep.operator, dep.controller, dep.foreign_access) == (None, None, None)
