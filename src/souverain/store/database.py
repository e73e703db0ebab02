"""Scan storage with SQLAlchemy Core: SQLite by default (user data folder), PostgreSQL by URL.

A scan is kept whole (its JSON document, the contract) plus one row per dependency, so history
and change queries do not need to parse documents.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from souverain.errors import DataError, UsageError

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
    sa.Column("service_id", sa.String(80)),
    sa.Column("service_name", sa.String(200)),
    sa.Column("operator_id", sa.String(80)),
    sa.Column("controller_id", sa.String(80)),
    sa.Column("controller_country", sa.String(2)),
    sa.Column("foreign_access", sa.Boolean),
    sa.Column("subject", sa.Text),
)


def default_url() -> str:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "souverain"
    return f"sqlite:///{base / 'souverain.db'}"


class Store:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None) -> Store:
        url = url or os.environ.get("SOUVERAIN_DB") or default_url()
        if url.startswith("sqlite:///"):
            path = Path(url[len("sqlite:///"):])
            if str(path) not in ("", ":memory:"):
                path.parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = sa.create_engine(url, future=True)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
            raise UsageError(f"--db {url!r}: {exc}") from exc
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
        except sa.exc.OperationalError as exc:
            raise DataError(f"cannot open the database {url!r}: {exc.orig}") from exc
        return cls(engine)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.engine.dispose()

    # -- scans ------------------------------------------------------------------------------
    def save_scan(self, result: dict) -> int:
        meta = result["scan"]
        with self.engine.begin() as conn:
            scan_id = conn.execute(scans.insert().values(
                uid=meta["id"], started=meta["started"], finished=meta["finished"], at_date=meta["at"],
                kb_version=result["kb_version"], schema_version=result["schema_version"],
                domains=json.dumps(meta["domains"]), verdict=result["summary"]["verdict"],
                document=json.dumps(result, ensure_ascii=False, default=str),
            )).inserted_primary_key[0]
            conn.execute(scan_domains.insert(), [{"scan_id": scan_id, "domain": d} for d in meta["domains"]])
            rows = [_dependency_row(scan_id, dep) for dep in result["dependencies"]]
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


def _dependency_row(scan_id: int, dep: dict) -> dict:
    return {
        "scan_id": scan_id, "domain": dep["domain"], "function": dep["function"], "status": dep["status"],
        "confidence": dep["confidence"],
        "service_id": (dep.get("service") or {}).get("id"), "service_name": (dep.get("service") or {}).get("name"),
        "operator_id": (dep.get("operator") or {}).get("id"), "controller_id": (dep.get("controller") or {}).get("id"),
        "controller_country": (dep.get("controller") or {}).get("country"),
        "foreign_access": dep.get("foreign_access"), "subject": dep.get("subject"),
    }

