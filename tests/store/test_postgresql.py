"""The same storage on PostgreSQL (run when SOUVERAIN_TEST_POSTGRES holds a database URL; CI sets it)."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from souverain.store.database import Store
from souverain.store.history import changes
from souverain.store.surveys import SurveyStore, summarise_domain
from souverain.survey.inputs import Target

URL = os.environ.get("SOUVERAIN_TEST_POSTGRES")
pytestmark = pytest.mark.skipif(not URL, reason="set SOUVERAIN_TEST_POSTGRES to a PostgreSQL URL")


@pytest.fixture
def store():
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = sa.engine.make_url(URL).update_query_dict({"options": f"-csearch_path={schema}"})
    with Store.open(url.render_as_string(hide_password=False)) as opened:
        yield opened
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _scan(uid: str, started: str, service: str) -> dict:
    dep = {"domain": "ville.test", "function": "email.inbound", "status": "identified", "confidence": "high",
           "service": {"id": service, "name": service}, "operator": None, "controller": {"id": "x", "country": "FR"},
           "foreign_access": False, "foreign_laws": [], "subject": "mx.ville.test", "reason": "mx-service"}
    return {"schema_version": "1.0", "kb_version": "test", "scan": {"id": uid, "started": started,
            "finished": started, "at": started[:10], "domains": ["ville.test"]},
            "summary": {"verdict": "not-exposed"}, "dependencies": [dep]}


def test_scans_and_history(store):
    store.save_scan(_scan("a1", "2026-03-01T10:00:00Z", "ovhcloud-mail"))
    store.save_scan(_scan("a2", "2026-11-28T10:00:00Z", "exchange-online"))
    scans, found = changes(store, "ville.test")
    assert len(scans) == 2
    assert (found[0].before, found[0].after, found[0].since, found[0].until) == (
        ["ovhcloud-mail"], ["exchange-online"], "2026-03-01", "2026-11-28")


def test_survey_writes_are_idempotent(store):
    surveys = SurveyStore(store)
    run = surveys.create("pg", "x", {"functions": ["mail"]}, "test", [Target(1, "a.test", {}), Target(2, "b.test", {})], 0)
    row = summarise_domain("a.test", [], None)
    surveys.write(run, [row])
    surveys.write(run, [row, summarise_domain("b.test", [], None)])
    assert surveys.counts(run)["done"] == 2
    assert [r.domain for r in surveys.results(run)] == ["a.test", "b.test"]
    assert list(surveys.pending(run)) == []
