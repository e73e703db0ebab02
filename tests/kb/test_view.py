"""kb.at(date): one memoising view per date, answering for the KB it was made from."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from souverain.kb import base
from souverain.kb import view as view_module
from souverain.kb.base import load_kb
from souverain.kb.laws import laws_for_entity

# "moving" passes from frco to usparent in 2020
BEFORE, AFTER = dt.date(2019, 6, 1), dt.date(2021, 6, 1)


@pytest.fixture
def kb(mini_kb_dir):
    return load_kb(mini_kb_dir, validate=False)  # a fresh KB per test (validated ones are cached)


def test_same_date_same_view(kb):
    view = kb.at(AFTER)
    assert kb.at(AFTER) is view
    assert kb.at(BEFORE) is not view
    assert (view.kb, view.at) == (kb, AFTER)


def test_entity_at_each_date(kb):
    before, after = kb.at(BEFORE).entity("moving"), kb.at(AFTER).entity("moving")
    assert before.controller.as_dict() == {"id": "frco", "name": "FR Co SAS", "country": "FR"}
    assert before.foreign_laws == () and before.laws == ()
    assert after.controller.id == "usparent"
    assert after.chain_text == "Moving Ltd <- US Parent Inc. (US, 100 %)"
    assert [c.id for c in after.chain] == ["moving", "usparent"]
    assert after.foreign_laws == ("us-law",)
    assert [(law.id, law.via) for law in after.laws] == [("us-law", "control")]
    assert kb.at(AFTER).laws("moving") == tuple(laws_for_entity(kb, "moving", AFTER))


def test_entity_is_worked_out_once_per_view(kb, monkeypatch):
    calls = []
    walk = view_module.control_chain
    monkeypatch.setattr(view_module, "control_chain", lambda *a: calls.append(a[1:]) or walk(*a))
    view = kb.at(AFTER)
    first = view.entity("eusub")
    assert view.entity("eusub") is first  # a hit returns the stored object, nothing is rebuilt
    assert view.control_chain("eusub") is view.control_chain("eusub")
    assert calls == [("eusub", AFTER)]
    kb.at(BEFORE).entity("eusub")
    assert calls == [("eusub", AFTER), ("eusub", BEFORE)]


def test_unknown_entity(kb):
    with pytest.raises(KeyError):
        kb.at(AFTER).entity("nobody")
    assert kb.at(AFTER).control_chain("nobody") == ()
    assert kb.at(AFTER).laws("nobody") == ()


def test_copy_gets_views_of_its_own(kb):
    """assess/offer.py adds an inline provider to a shallow copy: its views must see that copy."""
    kb.at(AFTER).entity("frco")
    clone = copy.copy(kb)
    inline = kb.entities["eusub"].model_copy(update={"id": "inline"})
    clone.entities = {**kb.entities, "inline": inline}
    assert clone.at(AFTER) is not kb.at(AFTER)
    assert clone.at(AFTER).kb is clone
    assert clone.at(AFTER).entity("inline").controller.id == "usparent"
    with pytest.raises(KeyError):
        kb.at(AFTER).entity("inline")


def test_views_kept_are_bounded(kb):
    first = kb.at(dt.date(2000, 1, 1))
    for day in range(1, base.MAX_VIEWS + 1):
        kb.at(dt.date(2000, 1, 1) + dt.timedelta(days=day))
    assert len(kb.views) == base.MAX_VIEWS
    assert kb.at(dt.date(2000, 1, 1)) is not first  # the oldest was dropped, then made anew
