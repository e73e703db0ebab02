"""Scan jobs: persisted in the database (table ``web_jobs``), run by a bounded pool of workers
inside the server; a job found ``running`` at start was interrupted and is queued again."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from souverain.errors import SouverainError, redact
from souverain.store.database import Store, metadata

log = logging.getLogger("souverain.web")

jobs = sa.Table(
    "web_jobs", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # queued, running, done, failed
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("created", sa.String(32), nullable=False),
    sa.Column("started", sa.String(32)),
    sa.Column("finished", sa.String(32)),
    sa.Column("done", sa.Integer, nullable=False, default=0),
    sa.Column("total", sa.Integer, nullable=False, default=0),
    sa.Column("scan_id", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
)
STATUSES = ("queued", "running", "done", "failed")
MAX_ATTEMPTS = 3  # a job that keeps killing the server is not resumed for ever


@dataclasses.dataclass
class ScanSettings:
    """How the server scans (from `souverain serve`'s options)."""

    nameservers: list[tuple[str, int]] | None = None
    timeout: float = 3.0
    fetch_web: bool = True
    allow_private_targets: bool = False


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Jobs:
    def __init__(self, store: Store, settings: ScanSettings, workers: int = 2,
                 scan: Callable[[list[str], tuple[str, ...], Callable[[str], Any]], Any] | None = None) -> None:
        self.store, self.settings, self.workers = store, settings, max(1, workers)
        self.scan = scan or self._scan
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []

    # -- the table ---------------------------------------------------------------------------
    def submit(self, domains: list[str], functions: tuple[str, ...]) -> str:
        job_id = uuid.uuid4().hex[:16]
        params = {"domains": domains, "functions": list(functions)}
        with self.store.engine.begin() as conn:
            conn.execute(jobs.insert().values(id=job_id, kind="scan", status="queued", params=json.dumps(params),
                                              created=_now(), done=0, total=len(domains), attempts=0))
        self.queue.put_nowait(job_id)
        return job_id

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).first()
        if row is None:
            return None
        data = dict(row._mapping)
        data["params"] = json.loads(data["params"])
        return data

    def _update(self, job_id: str, **values: Any) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(**values))

    # -- the pool ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Queue again what a stopped server left running or queued, then start the workers."""
        with self.store.engine.begin() as conn:
            conn.execute(jobs.update().where(jobs.c.status == "running").values(status="queued"))
            pending = conn.execute(sa.select(jobs.c.id).where(jobs.c.status == "queued")
                                   .order_by(jobs.c.created)).scalars().all()
        for job_id in pending:
            self.queue.put_nowait(job_id)
        self.tasks = [asyncio.create_task(self._worker()) for _ in range(self.workers)]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []

    async def _worker(self) -> None:
        while True:
            job_id = await self.queue.get()
            try:
                # scans are CPU-bound in part (attribution): each runs in a thread with its own loop
                await asyncio.to_thread(self.run, job_id)
            finally:
                self.queue.task_done()

    def run(self, job_id: str) -> None:
        job = self.get(job_id)
        if job is None or job["status"] != "queued":
            return
        if job["attempts"] >= MAX_ATTEMPTS:
            self._update(job_id, status="failed", finished=_now(), error="interrupted too many times")
            return
        self._update(job_id, status="running", started=_now(), done=0, attempts=job["attempts"] + 1)
        done = 0

        def advance(_domain: str) -> None:
            nonlocal done
            done += 1
            self._update(job_id, done=done)

        params = job["params"]
        try:
            result = self.scan(params["domains"], tuple(params["functions"]), advance)
            scan_id = self.store.save_scan(result)
        except SouverainError as exc:
            self._update(job_id, status="failed", finished=_now(), error=redact(str(exc)))
            return
        except Exception as exc:  # a boundary: one job's crash must not stop the worker pool
            log.exception("job %s failed", job_id)
            self._update(job_id, status="failed", finished=_now(), error=redact(f"internal error: {exc}"))
            return
        self._update(job_id, status="done", finished=_now(), done=len(params["domains"]), scan_id=scan_id)

    def _scan(self, domains: list[str], functions: tuple[str, ...], advance: Callable[[str], Any]) -> Any:
        from souverain.kb.base import load_kb
        from souverain.kb.ipasn import IPASNTable
        from souverain.scan import ScanOptions, scan_domains
        from souverain.web.security import allowed_address

        settings = self.settings
        options = ScanOptions(functions=functions, nameservers=settings.nameservers, timeout=settings.timeout,
                              fetch_web=settings.fetch_web,
                              address_allowed=None if settings.allow_private_targets else allowed_address)
        return asyncio.run(scan_domains(load_kb(), domains, options, IPASNTable.load(), advance))
