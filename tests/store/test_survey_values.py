"""Rows sent by workers as plain tuples (``SurveyRow.values``) and inserted by the driver: stored
exactly as the rows themselves were, idempotently, on SQLite and (when SOUVERAIN_TEST_POSTGRES is
set) PostgreSQL."""

from __future__ import annotations

import os
import pickle
import uuid
from collections import Counter

import pytest
import sqlalchemy as sa

from souverain.model.dependency import Dependency, EntityRef, ServiceRef
from souverain.model.survey import CompactDependency, SurveyRow
from souverain.store.database import Store
from souverain.store.surveys import SurveyStore, summarise_domain, survey_results
from souverain.survey.inputs import Target
from souverain.survey.runner import partition_result, partition_rows, store_partitions

PG_URL = os.environ.get("SOUVERAIN_TEST_POSTGRES")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        with Store.open(f"sqlite:///{tmp_path / 's.db'}") as opened:
            yield opened
        return
    if not PG_URL:
        pytest.skip("set SOUVERAIN_TEST_POSTGRES to a PostgreSQL URL")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = sa.engine.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        with Store.open(url.render_as_string(hide_password=False)) as opened:
            yield opened
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


MICROSOFT = EntityRef("microsoft", "Microsoft Corporation", "US")
FRCO = EntityRef("frco", "FR Co « SAS »", "FR")


def _rows() -> list[SurveyRow]:
    mail = Dependency("a.test", "email.inbound", "identified", "high", "mx-service", subject="a-test.mail.example",
                      service=ServiceRef("exchange-online", "Exchange Online", "mail-hosting"), operator=MICROSOFT,
                      controller=MICROSOFT, foreign_laws=("us-cloud-act", "us-fisa-702"))
    dns = Dependency("a.test", "dns.authoritative", "self-managed", "medium", "ns-self-managed",
                     subject="ns1.é.test", operator=FRCO, controller=FRCO)
    sending = Dependency("a.test", "email.sending", "unknown", "low", "spf-include-unknown", subject="spf.x.test")
    return [summarise_domain("a.test", [mail, dns, sending], "exposed"),
            summarise_domain("b.test", [dns], "not-exposed"),
            summarise_domain("c.test", [], None, status="unknown", reason="c.test MX: timeout")]


def _registered() -> SurveyRow:
    verisign = EntityRef("verisign", "VeriSign, Inc.", "US")
    registry = Dependency("d.com", "domain.registry", "identified", "high", "registry-tld", subject="com",
                          operator=verisign, controller=verisign, foreign_laws=("us-cloud-act",))
    return summarise_domain("d.com", [registry], None)


def _table(store: Store, survey_id: int) -> list[tuple]:
    """The stored rows as the database holds them (all columns but the run's id), by domain."""
    columns = [c for c in survey_results.columns if c.name != "survey_id"]
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(*columns).where(survey_results.c.survey_id == survey_id)
                                                   .order_by(survey_results.c.domain))]


def _reference_write(store: Store, survey_id: int, rows: list[SurveyRow]) -> None:
    """How rows were stored before ``values``: a dict of columns per row through SQLAlchemy Core."""
    import json

    from souverain.model.survey import COLUMNS

    values = [{"survey_id": survey_id, **{name: getattr(row, name) for name in COLUMNS},
               "dependencies": json.dumps([d.as_dict() for d in row.dependencies], ensure_ascii=False,
                                          separators=(",", ":"))} for row in rows]
    with store.engine.begin() as conn:
        conn.execute(survey_results.insert(), values)


def _run(surveys: SurveyStore, name: str, domains: list[str]) -> int:
    return surveys.create(name, "x", {}, "test", [Target(n, d, {}) for n, d in enumerate(domains, 1)])


def test_values_are_stored_exactly_as_the_rows_were(store):
    rows = [*_rows(), _registered()]
    domains = [row.domain for row in rows]
    surveys = SurveyStore(store)
    reference, by_values, mixed = _run(surveys, "ref", domains), _run(surveys, "values", domains), _run(
        surveys, "mixed", domains)
    _reference_write(store, reference, rows)
    assert surveys.write(by_values, rows) == 4
    # a batch without registration columns, then one with them
    assert surveys.write_values(mixed, [row.values(False) for row in rows[:3]], False) == 3
    assert surveys.write_values(mixed, [rows[3].values(True)], True) == 1
    assert _table(store, by_values) == _table(store, reference) == _table(store, mixed)
    assert [row for row in surveys.results(by_values)] == [row for row in surveys.results(reference)]
    stored = {row.domain: row for row in surveys.results(by_values)}
    assert stored["a.test"] == rows[0] and stored["d.com"].registry_service == "VeriSign, Inc."


def test_values_written_again_are_ignored_and_counted_as_such(store):
    surveys = SurveyStore(store)
    rows = _rows()
    run = _run(surveys, "again", [row.domain for row in rows])
    assert surveys.write_values(run, [rows[0].values(False)], False) == 1
    assert surveys.write_values(run, [row.values(False) for row in rows], False) == 2  # a replayed partition
    assert surveys.write(run, rows) == 0
    assert surveys.counts(run) == {"done": 3, "ok": 2, "unknown": 1}
    assert list(surveys.pending(run)) == []
    other = _run(surveys, "other", ["a.test"])  # the same domain in another run is another result
    assert surveys.write(other, rows[:1]) == 1


def test_a_partition_travels_as_plain_values_and_is_stored_whole(store):
    """What a worker sends holds no row object (nothing for the parent to rebuild), and the parent
    stores, counts and reports every row of it."""
    rows = _rows()
    part = partition_result(rows, Counter({"dns_queries": 12, "dns_answered": 11}), "kb-1")
    sent = pickle.loads(pickle.dumps(part))
    assert all(type(values) is tuple for values in sent["values"])
    assert not any(isinstance(item, SurveyRow | CompactDependency) for values in sent["values"] for item in values)
    assert partition_rows(sent) == rows
    surveys = SurveyStore(store)
    run = _run(surveys, "part", [row.domain for row in rows])
    totals: Counter = Counter()
    seen: list = []
    store_partitions(surveys, run, [sent], totals, seen.append)
    assert totals == Counter({"ok": 2, "unknown": 1, "dns_queries": 12, "dns_answered": 11})
    assert sorted((o.status, o.verdict) for o in seen) == [("ok", "exposed"), ("ok", "not-exposed"), ("unknown", None)]
    assert list(surveys.results(run)) == rows


def test_a_partition_with_registration_rows_binds_their_columns():
    rows = [*_rows(), _registered()]
    part = partition_result(rows, Counter(), "kb-1")
    assert part["registration"] is True and len(part["values"][0]) == len(part["values"][3])
    assert partition_rows(part)[3].registry_controller == "VeriSign, Inc."
    without = partition_result(rows[:3], Counter(), "kb-1")
    assert without["registration"] is False and len(without["values"][0]) < len(part["values"][0])
    assert partition_rows(without) == rows[:3]


def test_pending_targets_are_read_in_input_order_through_an_index(store):
    """``pending`` reads from where it stopped, in input order: through an index, not by sorting
    every target of the run again for each batch; a database created before it gains it."""
    surveys = SurveyStore(store)
    domains = [f"d{n}.test" for n in range(30)]
    run = _run(surveys, "order", domains[::-1])  # line 1 is d29.test
    surveys.write(run, [summarise_domain(d, [], None) for d in domains[::3]])
    batches = list(surveys.pending(run, batch=7))
    assert [len(batch) for batch in batches] == [7, 7, 6]
    assert [domain for batch in batches for domain, _ in batch] == [d for d in domains[::-1] if d not in domains[::3]]
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX ix_survey_targets_line"))
    reopened = SurveyStore(store)
    assert "ix_survey_targets_line" in {i["name"] for i in sa.inspect(store.engine).get_indexes("survey_targets")}
    assert [d for batch in reopened.pending(run, batch=7) for d, _ in batch] == [
        d for batch in batches for d, _ in batch]
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            plan = " ".join(str(step[-1]) for step in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT domain FROM survey_targets WHERE survey_id = 1 AND line > 3 "
                "ORDER BY line LIMIT 7"))
        assert "ix_survey_targets_line" in plan and "TEMP B-TREE" not in plan
