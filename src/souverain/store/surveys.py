"""Survey storage: runs, their targets, and one result per (run, domain), written idempotently.

The targets of a run are stored before any scanning starts, so a resumed run knows exactly what
is left; results are inserted with "on conflict do nothing" on (run, domain), so a batch
replayed after a crash, or written twice by two Dask workers, never duplicates a row.

A run being worked on holds a lease: one row naming the process (pid, host) with an expiry that
the process keeps pushing forward. Taking a lease is a single conditional statement (insert if
absent, or replace the very lease that was seen), so two processes can never both hold one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from souverain.errors import UsageError
from souverain.model.dependency import TIERS
from souverain.model.survey import CompactDependency, SurveyRow, stored_columns
from souverain.store.database import Store, inserted_id, metadata

if TYPE_CHECKING:
    from souverain.model.dependency import Dependency

SUMMARY_FUNCTIONS = {"email.inbound": "mail", "dns.authoritative": "dns", "web.hosting": "web"}
# functions with columns of their own, filled only when the run asked for them (--functions
# registry,registrar); their laws stay out of the row's foreign_laws (the key functions' laws)
REGISTRATION_FUNCTIONS = {"domain.registry": "registry", "domain.registrar": "registrar"}

surveys = sa.Table(
    "surveys", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("input", sa.Text, nullable=False),
    sa.Column("created", sa.String(32), nullable=False),
    sa.Column("options", sa.Text, nullable=False),
    sa.Column("kb_version", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("bad_rows", sa.Integer, nullable=False),
)
survey_targets = sa.Table(
    "survey_targets", metadata,
    sa.Column("survey_id", sa.Integer, sa.ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("domain", sa.String(253), primary_key=True),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column("attrs", sa.Text, nullable=False),
    # ``pending`` reads the targets in input order from where it stopped: without this index each
    # batch sorted every target of the run again (a cost per domain growing with the run's size)
    sa.Index("ix_survey_targets_line", "survey_id", "line"),
)
survey_leases = sa.Table(
    "survey_leases", metadata,
    sa.Column("survey_id", sa.Integer, sa.ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("token", sa.String(32), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("expires", sa.Float, nullable=False),  # Unix time
)
_summary_columns: list[sa.Column[Any]] = []
for _prefix in (*SUMMARY_FUNCTIONS.values(), *REGISTRATION_FUNCTIONS.values()):
    _summary_columns += [
        sa.Column(f"{_prefix}_status", sa.String(16)),
        sa.Column(f"{_prefix}_service", sa.String(400)),
        sa.Column(f"{_prefix}_controller", sa.String(400)),
        sa.Column(f"{_prefix}_country", sa.String(40)),
        sa.Column(f"{_prefix}_foreign", sa.Boolean),
        sa.Column(f"{_prefix}_tier", sa.String(16)),  # added later: see database.ADDED_COLUMNS
    ]
survey_results = sa.Table(
    "survey_results", metadata,
    sa.Column("survey_id", sa.Integer, sa.ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("domain", sa.String(253), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # ok | unknown
    sa.Column("reason", sa.Text),
    sa.Column("verdict", sa.String(32)),
    sa.Column("foreign_laws", sa.Text),
    *_summary_columns,
    sa.Column("dependencies", sa.Text),
    sa.Column("finished", sa.String(32), nullable=False),
)


_RESULT_COLUMNS = [c.name for c in survey_results.columns if c.name != "survey_id"]


def summarise_domain(domain: str, deps: Sequence[Dependency], verdict: str | None, status: str = "ok",
                     reason: str | None = None) -> SurveyRow:
    """The flat row stored per domain: one status/service/controller/country/foreign group per key function."""
    by_function: dict[str, list[Dependency]] = {}  # one pass: a survey summarises millions of rows
    for d in deps:
        by_function.setdefault(d.function, []).append(d)
    columns: dict[str, Any] = {}  # a function without dependencies keeps the row's None defaults
    laws: set[str] = set()
    for function, prefix in SUMMARY_FUNCTIONS.items():
        items = by_function.get(function)
        if not items:
            continue
        known = [(d, d.controller) for d in items if d.controller]
        columns[f"{prefix}_status"] = known[0][0].status if known else items[0].status
        columns[f"{prefix}_service"] = "; ".join(sorted({d.service.name for d, _ in known if d.service})) or None
        columns[f"{prefix}_controller"] = "; ".join(sorted({c.name for _, c in known})) or None
        columns[f"{prefix}_country"] = ";".join(sorted({c.country for _, c in known})) or None
        columns[f"{prefix}_foreign"] = any(d.foreign_laws for d, _ in known) if known else None
        columns[f"{prefix}_tier"] = _weakest(d.tier for d, _ in known) if known else items[0].tier
        for d in items:
            laws.update(d.foreign_laws)
    for function, prefix in REGISTRATION_FUNCTIONS.items():
        if function in by_function:
            columns.update(_registration_columns(prefix, by_function[function]))
    finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return SurveyRow(domain, status, reason, verdict, " ".join(sorted(laws)) or None,  # type: ignore[arg-type]
                     finished=finished, dependencies=tuple(_compact(d) for d in deps), **columns)


def _registration_columns(prefix: str, items: list[Dependency]) -> dict[str, Any]:
    """The registry/registrar columns (only when the run asked for these functions). These
    dependencies have no KB service: the ``service`` column names the operator, or the registrar
    as RDAP names it (tier ``registered``)."""
    known = [d for d in items if d.status != "unknown"]
    controlled = [(d, d.controller) for d in known if d.controller]
    return {
        f"{prefix}_status": (known or items)[0].status,
        f"{prefix}_service": "; ".join(sorted({name for d in known
                                               if (name := d.operator.name if d.operator else d.subject)})) or None,
        f"{prefix}_controller": "; ".join(sorted({c.name for _, c in controlled})) or None,
        f"{prefix}_country": ";".join(sorted({c.country for _, c in controlled})) or None,
        f"{prefix}_foreign": any(d.foreign_laws for d, _ in controlled) if controlled else None,
        f"{prefix}_tier": _weakest(d.tier for d in known) if known else items[0].tier,
    }


def _weakest(tiers: Iterable[str]) -> str:
    """The weakest tier among the answers a row's columns summarise (what the row rests on)."""
    return max(tiers, key=TIERS.index)  # type: ignore[arg-type]


def _compact(dep: Dependency) -> CompactDependency:
    service, controller = dep.service, dep.controller
    return CompactDependency(dep.function, dep.status, dep.confidence, dep.tier, service.id if service else None,
                             controller.id if controller else None, controller.country if controller else None,
                             dep.foreign_laws, dep.reason, dep.subject)


class EmptyRun(UsageError):
    """A run would have no target: nothing is stored."""


class SurveyStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine
        self._statements: dict[tuple[int, bool], str] = {}  # see write_values
        for index in survey_targets.indexes:  # a database created before the index gains it
            index.create(self.engine, checkfirst=True)

    def create(self, name: str, input_path: str, options: dict, kb_version: str, targets: Iterable,
               bad_rows: int = 0, lease: dict | None = None) -> int:
        """Register a run and its targets, streamed in chunks; a repeated domain is kept once.

        ``lease`` (token, host, pid, expires) is taken in the same transaction, so the new run is
        never seen without its owner. Without any target nothing is stored and ``EmptyRun`` is
        raised.
        """
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        with self.engine.begin() as conn:
            if conn.execute(sa.select(surveys.c.id).where(surveys.c.name == name)).first():
                raise UsageError(f"a survey named {name!r} exists already: use --resume, or another --name")
            survey_id = inserted_id(conn.execute(surveys.insert().values(
                name=name, input=input_path, created=created, options=json.dumps(options, default=str),
                kb_version=kb_version, status="creating", total=0, bad_rows=bad_rows,
            )))
            insert = self._insert_ignore(survey_targets)
            chunk: list[dict] = []
            for target in targets:
                chunk.append({"survey_id": survey_id, "domain": target.domain, "line": target.line,
                              "attrs": json.dumps(target.attrs, ensure_ascii=False)})
                if len(chunk) >= 5000:
                    conn.execute(insert, chunk)
                    chunk = []
            if chunk:
                conn.execute(insert, chunk)
            total = conn.execute(sa.select(sa.func.count()).select_from(survey_targets)
                                 .where(survey_targets.c.survey_id == survey_id)).scalar_one()
            if not total:
                raise EmptyRun(f"survey {name!r} has no valid domain")  # rolls the whole run back
            conn.execute(surveys.update().where(surveys.c.id == survey_id).values(status="running", total=total))
            if lease is not None:
                conn.execute(survey_leases.insert().values(survey_id=survey_id, **lease))
        return int(survey_id)

    def set_bad_rows(self, survey_id: int, count: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(surveys.update().where(surveys.c.id == survey_id).values(bad_rows=count))

    def find(self, ref: str) -> dict:
        """A run by id or by name."""
        query = sa.select(surveys)
        query = query.where(surveys.c.id == int(ref)) if str(ref).isdigit() else query.where(surveys.c.name == ref)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise UsageError(f"no survey run {ref!r} in this database")
        return dict(row._mapping)

    def runs(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(surveys).order_by(surveys.c.id))]

    def pending(self, survey_id: int, batch: int = 10_000) -> Iterator[list[tuple[str, dict]]]:
        """Targets without a result, in input order, a batch at a time (bounded memory)."""
        last_line = -1
        while True:
            query = (sa.select(survey_targets.c.domain, survey_targets.c.line, survey_targets.c.attrs)
                     .outerjoin(survey_results, sa.and_(survey_results.c.survey_id == survey_targets.c.survey_id,
                                                        survey_results.c.domain == survey_targets.c.domain))
                     .where(survey_targets.c.survey_id == survey_id, survey_results.c.domain.is_(None),
                            survey_targets.c.line > last_line)
                     .order_by(survey_targets.c.line).limit(batch))
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            last_line = rows[-1].line
            yield [(r.domain, json.loads(r.attrs)) for r in rows]

    def write(self, survey_id: int, rows: Sequence[SurveyRow]) -> int:
        """Store the rows not stored yet; how many were."""
        # one set of columns for the whole batch: the registration ones only when a row has them
        registration = any(row.registration for row in rows)
        return self.write_values(survey_id, [row.values(registration) for row in rows], registration)

    def write_values(self, survey_id: int, values: Sequence[tuple[Any, ...]], registration: bool) -> int:
        """Store rows given as ``SurveyRow.values(registration)`` (as workers send them); how many
        were new. One prepared statement executed for all of them by the driver itself
        (executemany on the DB-API cursor), without SQLAlchemy's per-row parameter handling: with
        the rows sent as tuples, the parent's CPU per row fell from 84 to 15 µs
        (benchmarks/survey/parent_rows.py)."""
        if not values:
            return 0
        with self.engine.begin() as conn:
            statement = self._statements.get((survey_id, registration))
            if statement is None:
                statement = self._statements[survey_id, registration] = self._insert_values(survey_id, registration)
            result = conn.exec_driver_sql(statement, values)
            return max(result.rowcount, 0)

    def _insert_values(self, survey_id: int, registration: bool) -> str:
        """INSERT ... ON CONFLICT DO NOTHING (SQLite and PostgreSQL alike) of ``stored_columns``,
        with the run's id inline (an int) so that each row binds only its own values."""
        self._dialect()  # refuses other databases
        dialect = self.engine.dialect
        marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}[dialect.paramstyle]
        names = ", ".join(dialect.identifier_preparer.quote(name) for name in ("survey_id", *stored_columns(registration)))
        markers = ", ".join([marker] * len(stored_columns(registration)))
        return (f"INSERT INTO {survey_results.name} ({names}) VALUES ({int(survey_id)}, {markers}) "
                "ON CONFLICT DO NOTHING")

    def _insert_ignore(self, table: sa.Table):
        insert = postgresql.insert if self._dialect() == "postgresql" else sqlite.insert
        return insert(table).on_conflict_do_nothing()

    def _dialect(self) -> str:
        """The database's dialect name; a usage error for any but SQLite and PostgreSQL."""
        dialect = self.engine.dialect.name
        if dialect not in ("postgresql", "sqlite"):
            raise UsageError(f"survey storage supports SQLite and PostgreSQL, not {dialect}")
        return dialect

    def forget(self, survey_id: int, status: str) -> int:
        """Delete the run's results with ``status``; their targets are pending again."""
        with self.engine.begin() as conn:
            return conn.execute(survey_results.delete().where(survey_results.c.survey_id == survey_id,
                                                              survey_results.c.status == status)).rowcount

    # -- leases ------------------------------------------------------------------------------
    def leases(self) -> dict[int, dict]:
        with self.engine.connect() as conn:
            return {row.survey_id: dict(row._mapping) for row in conn.execute(sa.select(survey_leases))}

    def lease(self, survey_id: int) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(survey_leases).where(survey_leases.c.survey_id == survey_id)).first()
        return dict(row._mapping) if row else None

    def take_lease(self, survey_id: int, lease: dict, replacing: str | None = None) -> bool:
        """Take the run's lease if it has none, or if its holder is still ``replacing`` (a token seen dead)."""
        with self.engine.begin() as conn:
            if replacing is None:  # the rowcount of an ignored insert is not reliable everywhere: read it back
                conn.execute(self._insert_ignore(survey_leases), {"survey_id": survey_id, **lease})
                holder = conn.execute(sa.select(survey_leases.c.token)
                                      .where(survey_leases.c.survey_id == survey_id)).scalar_one_or_none()
                taken = int(holder == lease["token"])
            else:
                taken = conn.execute(survey_leases.update().where(survey_leases.c.survey_id == survey_id,
                                                                  survey_leases.c.token == replacing)
                                     .values(**lease)).rowcount
        return taken == 1

    def renew_lease(self, survey_id: int, token: str, expires: float) -> bool:
        """Push the lease's expiry forward; False when the lease is no longer ours."""
        with self.engine.begin() as conn:
            return conn.execute(survey_leases.update().where(survey_leases.c.survey_id == survey_id,
                                                             survey_leases.c.token == token)
                                .values(expires=expires)).rowcount == 1

    def release_lease(self, survey_id: int, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(survey_leases.delete().where(survey_leases.c.survey_id == survey_id,
                                                      survey_leases.c.token == token))

    def finish(self, survey_id: int, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(surveys.update().where(surveys.c.id == survey_id).values(status=status))

    def counts(self, survey_id: int) -> dict[str, int]:
        with self.engine.connect() as conn:
            done = conn.execute(sa.select(sa.func.count()).select_from(survey_results)
                                .where(survey_results.c.survey_id == survey_id)).scalar_one()
            by_status: dict[str, int] = dict(conn.execute(sa.select(survey_results.c.status, sa.func.count())
                                          .where(survey_results.c.survey_id == survey_id)
                                          .group_by(survey_results.c.status)).all())
        return {"done": int(done), **{k: int(v) for k, v in by_status.items()}}

    def attributes(self, survey_id: int) -> list[str]:
        """The input attributes of a run's targets, in the order they first appear (a target does
        not keep its empty cells: the first one alone may lack some)."""
        names: dict[str, None] = {}
        query = (sa.select(survey_targets.c.attrs).where(survey_targets.c.survey_id == survey_id)
                 .order_by(survey_targets.c.line))
        with self.engine.connect() as conn:
            for (attrs,) in conn.execution_options(stream_results=True, yield_per=5000).execute(query):
                if attrs != "{}":
                    names.update(dict.fromkeys(json.loads(attrs)))
        return list(names)

    def results(self, survey_id: int, batch: int = 5000) -> Iterator[SurveyRow]:
        """Results joined with the targets' attributes, streamed in input order."""
        query = (sa.select(survey_results, survey_targets.c.line, survey_targets.c.attrs)
                 .join(survey_targets, sa.and_(survey_targets.c.survey_id == survey_results.c.survey_id,
                                               survey_targets.c.domain == survey_results.c.domain))
                 .where(survey_results.c.survey_id == survey_id).order_by(survey_targets.c.line))
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
            for row in result:
                data = dict(row._mapping)
                data["attrs"] = json.loads(data["attrs"])
                yield SurveyRow.from_record(data)

