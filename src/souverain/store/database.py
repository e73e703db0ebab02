"""Scan storage with SQLAlchemy Core: SQLite by default (user data folder), PostgreSQL by URL.

A scan is kept whole (its JSON document, the contract) plus one row per dependency, so history
and change queries do not need to parse documents.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import sqlalchemy as sa

from souverain.errors import DataError, UsageError, redact, register_secret

if TYPE_CHECKING:
    from souverain.model.dependency import Dependency
    from souverain.model.scan import ScanResult

metadata = sa.MetaData()

scans = sa.Table(
    "scans", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("uid", sa.String(32), nullable=False, unique=True),
    sa.Column("started", sa.String(32), nullable=False),
    sa.Column("finished", sa.String(32), nullable=False),
    sa.Column("at_date", sa.String(10), nullable=False),
    sa.Column("kb_version", sa.String(64), nullable=False),
    sa.Column("schema_version", sa.String(16), nullable=False),
    sa.Column("domains", sa.Text, nullable=False),
    sa.Column("verdict", sa.String(32), nullable=False),
    sa.Column("document", sa.Text, nullable=False),
)
scan_domains = sa.Table(
    "scan_domains", metadata,
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("domain", sa.String(253), primary_key=True),
    sa.Index("ix_scan_domains_domain", "domain"),
)
dependencies = sa.Table(
    "dependencies", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("domain", sa.String(253), nullable=False),
    sa.Column("function", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("confidence", sa.String(8), nullable=False),
    sa.Column("tier", sa.String(16)),  # added with tiers: see ADDED_COLUMNS
    sa.Column("service_id", sa.String(80)),
    sa.Column("service_name", sa.String(200)),
    sa.Column("operator_id", sa.String(80)),
    sa.Column("controller_id", sa.String(80)),
    sa.Column("controller_country", sa.String(2)),
    sa.Column("foreign_access", sa.Boolean),
    sa.Column("subject", sa.Text),
)


# Nullable columns added after a table was first released: a database created before gets them
# (ALTER TABLE ... ADD COLUMN) when opened; its older rows hold NULL there.
ADDED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("dependencies", "tier"),
    ("survey_results", "mail_tier"), ("survey_results", "dns_tier"), ("survey_results", "web_tier"),
    *(("survey_results", f"{prefix}_{key}") for prefix in ("registry", "registrar")
      for key in ("status", "service", "controller", "country", "foreign", "tier")),
)


def add_new_columns(engine: sa.Engine) -> None:
    """Give a database created by an earlier version the columns of ``ADDED_COLUMNS`` it lacks."""
    inspector = sa.inspect(engine)
    tables = set(inspector.get_table_names())
    with engine.begin() as conn:
        for table, name in ADDED_COLUMNS:
            if table not in tables or name in {c["name"] for c in inspector.get_columns(table)}:
                continue
            column = metadata.tables[table].c[name]
            kind = column.type.compile(dialect=engine.dialect)
            conn.execute(sa.text(f'ALTER TABLE {table} ADD COLUMN "{name}" {kind}'))


def default_url() -> str:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "souverain"
    return f"sqlite:///{base / 'souverain.db'}"


SCHEMES = ("sqlite", "postgresql")
_SQLITE_HEADER = b"SQLite format 3\0"
_OUR_TABLES = frozenset({"scans", "surveys"})


def shown_url(url: str) -> str:
    """The URL as it may be printed: ``user:***@host``."""
    return redact(url)


def check_url(url: str, *, probe: bool = False) -> sa.URL:
    """Refuse, without creating anything, a URL souverain cannot use: unknown scheme, SQLite file
    in a missing folder, a file that is not a souverain SQLite database; with ``probe``, also a
    PostgreSQL server that cannot be reached or refuses the credentials."""
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise UsageError(f"{shown_url(url)} is not a database URL; use sqlite:///PATH or "
                         "postgresql://USER@HOST/DATABASE") from exc
    register_secret(parsed.password)  # whatever prints an error later hides it
    backend = parsed.get_backend_name()
    if backend not in SCHEMES:
        raise UsageError(f"{shown_url(url)}: unsupported database {backend!r}; use sqlite:///PATH or "
                         "postgresql://USER@HOST/DATABASE")
    try:
        parsed.get_dialect()
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        raise UsageError(f"{shown_url(url)}: unsupported database driver {parsed.drivername!r}") from exc
    if backend == "sqlite":
        _check_sqlite_file(parsed.database)
    elif probe:
        engine = _engine(url, parsed)
        try:
            with engine.connect():
                pass
        except sa.exc.SQLAlchemyError as exc:  # unreachable, bad credentials, no such database
            raise open_error(url, exc) from exc
        finally:
            engine.dispose()
    return parsed


def _check_sqlite_file(database: str | None) -> None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        raise UsageError(f"{path}: folder {path.parent} does not exist (create it first)")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise UsageError(f"{path}: folder {path.parent} is not writable")
    if not path.exists():
        return
    if not path.is_file():
        raise UsageError(f"{path} is not a file")
    with path.open("rb") as handle:
        header = handle.read(len(_SQLITE_HEADER))
    if not header:
        return  # an empty file is an empty SQLite database
    if header != _SQLITE_HEADER:
        raise DataError(f"{path} is not a SQLite file (not a souverain database)")
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as exc:
        raise DataError(f"{path} is not a usable SQLite database: {exc}") from exc
    if tables and not tables & _OUR_TABLES:
        raise DataError(f"{path} is not a souverain database (it holds {', '.join(sorted(tables)[:5])})")


def _engine(url: str, parsed: sa.URL) -> sa.Engine:
    connect_args = {}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = 10
    try:
        engine = sa.create_engine(parsed, future=True, connect_args=connect_args)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise UsageError(f"{shown_url(url)}: cannot load its database driver ({redact(str(exc))})") from exc
    return engine


def inserted_id(result: sa.CursorResult[Any]) -> int:
    """The primary key of the row a one-row INSERT added."""
    key = result.inserted_primary_key
    assert key is not None  # set for every single-row insert
    return int(key[0])


def open_error(url: str, exc: sa.exc.SQLAlchemyError) -> DataError:
    """A one-line DataError for a database that cannot be opened or used, with no password."""
    password = None
    with contextlib.suppress(sa.exc.ArgumentError, ValueError):
        password = sa.make_url(url).password
    cause = getattr(exc, "orig", None) or exc
    detail = " ".join(str(cause).split())
    return DataError(f"cannot use the database {shown_url(url)}: {redact(detail, password)}")


class Store:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None) -> Store:
        """Open (creating the tables when needed) the database at ``url``, else $SOUVERAIN_DB, else
        SQLite in the user data folder, the only folder created here."""
        url = url or os.environ.get("SOUVERAIN_DB")
        if url is None:
            url = default_url()
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        parsed = check_url(url)
        engine = _engine(url, parsed)
        if engine.dialect.name == "sqlite":
            @sa.event.listens_for(engine, "connect")
            def _pragmas(connection, _record) -> None:  # foreign keys and a sane journal for concurrent readers
                cursor = connection.cursor()
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL never corrupts; a power cut may drop the last commits, which a
                # --resume scans again (results are keyed by run and domain)
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()
        from souverain.store import surveys  # noqa: F401 - registers the survey tables

        try:
            metadata.create_all(engine)
            add_new_columns(engine)
        except sa.exc.SQLAlchemyError as exc:  # unreachable server, bad credentials, corrupt file
            engine.dispose()
            raise open_error(url, exc) from exc
        return cls(engine)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.engine.dispose()

    # -- scans ------------------------------------------------------------------------------
    def save_scan(self, result: ScanResult) -> int:
        meta = result.scan
        with self.engine.begin() as conn:
            scan_id = inserted_id(conn.execute(scans.insert().values(
                uid=meta.id, started=meta.started, finished=meta.finished, at_date=meta.at,
                kb_version=result.kb_version, schema_version=result.schema_version,
                domains=json.dumps(list(meta.domains)), verdict=result.summary.verdict,
                document=json.dumps(result.as_dict(), ensure_ascii=False, default=str),
            )))
            conn.execute(scan_domains.insert(), [{"scan_id": scan_id, "domain": d} for d in meta.domains])
            rows = [_dependency_row(scan_id, dep) for dep in result.dependencies]
            if rows:
                conn.execute(dependencies.insert(), rows)
        return int(scan_id)

    def scans_of(self, domain: str) -> list[dict[str, Any]]:
        query = (sa.select(scans.c.id, scans.c.uid, scans.c.started, scans.c.at_date, scans.c.verdict,
                           scans.c.kb_version)
                 .join(scan_domains, scan_domains.c.scan_id == scans.c.id)
                 .where(scan_domains.c.domain == domain).order_by(scans.c.started, scans.c.id))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def dependencies_of(self, scan_id: int, domain: str) -> list[dict[str, Any]]:
        query = sa.select(dependencies).where(dependencies.c.scan_id == scan_id, dependencies.c.domain == domain)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def document(self, scan_id: int) -> dict:
        with self.engine.connect() as conn:
            text = conn.execute(sa.select(scans.c.document).where(scans.c.id == scan_id)).scalar_one_or_none()
        if text is None:
            raise UsageError(f"no stored scan with id {scan_id}")
        return json.loads(text)


def _dependency_row(scan_id: int, dep: Dependency) -> dict[str, Any]:
    service, operator, controller = dep.service, dep.operator, dep.controller
    return {
        "scan_id": scan_id, "domain": dep.domain, "function": dep.function, "status": dep.status,
        "confidence": dep.confidence, "tier": dep.tier,
        "service_id": service.id if service else None, "service_name": service.name if service else None,
        "operator_id": operator.id if operator else None, "controller_id": controller.id if controller else None,
        "controller_country": controller.country if controller else None,
        "foreign_access": dep.foreign_access, "subject": dep.subject,
    }

