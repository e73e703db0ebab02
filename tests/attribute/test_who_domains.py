"""`who DOMAIN` names the entity holding the domain, apart from any service fingerprint (real KB)."""

from __future__ import annotations

import datetime as dt

import pytest

from souverain.attribute.who import who
from souverain.cli.who import render_who
from souverain.kb.base import load_kb
from souverain.report.i18n import Translator

AT = dt.date(2026, 12, 7)


@pytest.fixture(scope="module")
def kb():
    return load_kb()


@pytest.mark.parametrize(("target", "holder", "controller"), [
    ("skype.com", "skype", "microsoft"),
    ("shazam.com", "shazam", "apple"),
    ("www.ovhcloud.com", "ovh-sas", "klaba-family"),
    ("https://www.shazam.com/charts", "shazam", "apple"),
])
def test_domain_holder_and_its_controller(kb, target, holder, controller):
    data = who(kb, target, AT).data
    assert data["domain"]["holder"]["id"] == holder
    assert data["domain"]["controller"]["id"] == controller
    assert f"entities/{holder}.yaml domains:" in data["domain"]["rule"]
    assert any(source["record"] == holder for source in data["sources"])


def test_holder_is_dated_like_the_rest(kb):
    # Skype was eBay's in 2006: the domain's holder is walked up at the asked date
    data = who(kb, "skype.com", dt.date(2006, 6, 1)).data
    assert data["domain"]["controller"]["id"] == "ebay"


def test_domain_is_separate_from_the_service(kb):
    data = who(kb, "spool.mail.gandi.net", AT).data
    assert data["service"]["id"] == "gandi-mail"
    assert data["domain"] == {**data["domain"], "domain": "gandi.net"}
    assert data["domain"]["holder"]["id"] == "gandi"
    # a host without fingerprint keeps its status: the domain does not make it a service
    data = who(kb, "skype.com", AT).data
    assert data["status"] == "unattributed" and "service" not in data and "operator" not in data


def test_no_domain_for_unlisted_names(kb):
    assert "domain" not in who(kb, "unknown-domain-zz9.example", AT).data
    assert "domain" not in who(kb, "skype", AT).data  # a KB id, not a host


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_rendered_line(kb, lang):
    text = render_who(who(kb, "skype.com", AT).data, Translator(lang))
    assert "skype.com — " in text and "Skype Global" in text and "Microsoft Corporation (US)" in text
