"""The same storage on PostgreSQL (run when SOUVERAIN_TEST_POSTGRES holds a database URL; CI sets it)."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.kb.base import load_kb
from souverain.store.database import Store
from souverain.store.history import changes
from souverain.store.surveys import SurveyStore, summarise_domain
from souverain.survey.inputs import Target
from souverain.testing.dnsserver import DNSServer
from tests.scan.conftest import WORLD

URL = os.environ.get("SOUVERAIN_TEST_POSTGRES")
pytestmark = pytest.mark.skipif(not URL, reason="set SOUVERAIN_TEST_POSTGRES to a PostgreSQL URL")


@pytest.fixture
def pg_url():
    """A PostgreSQL URL whose tables live in a fresh schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = sa.engine.make_url(URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def store(pg_url):
    with Store.open(pg_url) as opened:
        yield opened


def test_scans_and_history(pg_url, tmp_path):
    """Two real scans of the loopback world stored in PostgreSQL: the MX moved between them."""
    zones = tmp_path / "zones"
    shutil.copytree(WORLD / "zones", zones)
    before = DNSServer(zones).start()
    moved_zones = tmp_path / "moved"
    shutil.copytree(WORLD / "zones", moved_zones)
    zone = moved_zones / "web.test.zone"
    zone.write_text(zone.read_text().replace("mx1.mail.ovh.net.", "m365-test.mail.protection.outlook.com."))
    after = DNSServer(moved_zones).start()
    try:
        for server in (before, after):
            result = CliRunner().invoke(cli, ["scan", "web.test", "--functions", "mail", "--nameserver",
                                              f"127.0.0.1:{server.port}", "--timeout", "0.3", "--db",
                                              pg_url, "--quiet", "--format", "json"])
            assert result.exit_code == 0, result.output
    finally:
        before.stop()
        after.stop()
    with Store.open(pg_url) as store:
        group_of = {fid: f.collected_by for fid, f in load_kb().functions.items()}
        scans, found = changes(store, "web.test", group_of)
    assert len(scans) == 2
    assert [(c.function, c.before, c.after) for c in found] == [
        ("email.inbound", ["OVHcloud E-mail (MX Plan, E-mail Pro, Hosted Exchange)"],
         ["Exchange Online (Microsoft 365)"])]


def test_survey_writes_are_idempotent(store):
    surveys = SurveyStore(store)
    run = surveys.create("pg", "x", {"functions": ["mail"]}, "test", [Target(1, "a.test", {}), Target(2, "b.test", {})], 0)
    row = summarise_domain("a.test", [], None)
    surveys.write(run, [row])
    surveys.write(run, [row, summarise_domain("b.test", [], None)])
    assert surveys.counts(run)["done"] == 2
    assert [r.domain for r in surveys.results(run)] == ["a.test", "b.test"]
    assert list(surveys.pending(run)) == []


def test_a_survey_table_without_the_registration_columns_gains_them(pg_url):
    """A database written before the registry/registrar columns: opening it adds them, its rows read back."""
    from souverain.model.dependency import Dependency, EntityRef
    from souverain.store.surveys import REGISTRATION_FUNCTIONS

    new = [f"{prefix}_{key}" for prefix in REGISTRATION_FUNCTIONS.values()
           for key in ("status", "service", "controller", "country", "foreign", "tier")]
    with Store.open(pg_url) as store:
        surveys = SurveyStore(store)
        run = surveys.create("old", "x", {"functions": ["registry"]}, "test",
                             [Target(1, "a.test", {}), Target(2, "b.com", {})], 0)
        surveys.write(run, [summarise_domain("a.test", [], None)])
        with store.engine.begin() as conn:
            for column in new:
                conn.execute(sa.text(f"ALTER TABLE survey_results DROP COLUMN {column}"))
    with Store.open(pg_url) as store:
        assert set(new) <= {c["name"] for c in sa.inspect(store.engine).get_columns("survey_results")}
        surveys = SurveyStore(store)
        verisign = EntityRef("verisign", "VeriSign, Inc.", "US")
        registry = Dependency("b.com", "domain.registry", "identified", "high", "registry-tld", subject="com",
                              operator=verisign, controller=verisign, foreign_laws=("us-cloud-act",))
        surveys.write(run, [summarise_domain("b.com", [registry], None)])
        rows = list(surveys.results(run))
    assert [(r.domain, r.registry_service, r.registry_foreign) for r in rows] == [
        ("a.test", None, None), ("b.com", "VeriSign, Inc.", True)]
