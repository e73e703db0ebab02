"""Scan and survey jobs: persisted in the database (table ``web_jobs``), run by bounded pools of
workers inside the server (one pool for scans, one for surveys, so that a long survey never holds
up a scan); a job found ``running`` at start was interrupted and is queued again. A survey job
can be paused, cancelled and resumed: the survey store resumes a run without duplicates."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from souverain.errors import SouverainError, redact
from souverain.store.database import Store, metadata

log = logging.getLogger("souverain.web")

jobs = sa.Table(
    "web_jobs", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # see STATUSES
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
STATUSES = ("queued", "running", "paused", "cancelled", "done", "failed")
ENDED = ("cancelled", "done", "failed")
MAX_ATTEMPTS = 3  # a job that keeps killing the server is not resumed for ever


@dataclasses.dataclass
class ScanSettings:
    """How the server scans (from `souverain serve`'s options)."""

    nameservers: list[tuple[str, int]] | None = None
    timeout: float = 3.0
    fetch_web: bool = True
    allow_private_targets: bool = False


@dataclasses.dataclass
class SurveySettings:
    """How the server runs surveys (from `souverain serve`'s options)."""

    data_dir: Path = Path("souverain-data")  # uploads are written under data_dir/uploads only
    workers: int = 1  # surveys run at the same time (more wait in the queue)
    concurrency: int = 100  # DNS queries in flight per survey
    executor: str = "local"  # local | dask
    scheduler: str | Any | None = None  # --scheduler ADDRESS (or a dask Client, in tests)
    partition_size: int = 500
    max_upload: int = 20 * 1024 * 1024  # bytes


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Jobs:
    def __init__(self, store: Store, settings: ScanSettings, workers: int = 2,
                 scan: Callable[[list[str], tuple[str, ...], Callable[[str], Any]], Any] | None = None,
                 surveys: SurveySettings | None = None) -> None:
        self.store, self.settings, self.workers = store, settings, max(1, workers)
        self.survey_settings = surveys or SurveySettings()
        self.scan = scan or self._scan
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.survey_queue: asyncio.Queue[str] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []
        self.stops: dict[str, str] = {}  # survey job id -> what stops it: pause, cancel or shutdown
        self.live: dict[str, Any] = {}  # survey job id -> its progress in this process (rate, ETA)
        self.running: set[str] = set()  # survey jobs whose thread is working

    # -- the table ---------------------------------------------------------------------------
    def submit(self, domains: list[str], functions: tuple[str, ...]) -> str:
        job_id = uuid.uuid4().hex[:16]
        params = {"domains": domains, "functions": list(functions)}
        with self.store.engine.begin() as conn:
            conn.execute(jobs.insert().values(id=job_id, kind="scan", status="queued", params=json.dumps(params),
                                              created=now(), done=0, total=len(domains), attempts=0))
        self.queue.put_nowait(job_id)
        return job_id

    def submit_survey(self, params: dict[str, Any], total: int) -> str:
        """Queue a survey job over a run already registered in the survey store (params["survey_id"])."""
        job_id = uuid.uuid4().hex[:16]
        with self.store.engine.begin() as conn:
            conn.execute(jobs.insert().values(id=job_id, kind="survey", status="queued", params=json.dumps(params),
                                              created=now(), done=0, total=total, attempts=0))
        self.survey_queue.put_nowait(job_id)
        return job_id

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Every job of ``kind``, newest first."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(jobs).where(jobs.c.kind == kind).order_by(jobs.c.created.desc(),
                                                                                   jobs.c.id)).all()
        return [{**row._mapping, "params": json.loads(row.params)} for row in rows]

    # -- pause, cancel, resume (surveys) -------------------------------------------------------
    def pause(self, job_id: str) -> str:
        return self._halt(job_id, "pause", "paused")

    def cancel(self, job_id: str) -> str:
        return self._halt(job_id, "cancel", "cancelled")

    def _halt(self, job_id: str, request: str, status: str) -> str:
        """A running job is asked to stop (it saves what is finished, then takes ``status``); a queued
        or paused one takes it at once. The job's status afterwards (unchanged when it had ended)."""
        with self.store.engine.begin() as conn:
            changed = conn.execute(jobs.update().where(jobs.c.id == job_id, jobs.c.kind == "survey",
                                                       jobs.c.status.in_(("queued", "paused")))
                                   .values(status=status, finished=now() if status in ENDED else None)).rowcount
        if not changed and job_id in self.running:
            self.stops[job_id] = request
        job = self.get(job_id)
        return job["status"] if job else "failed"

    def resume(self, job_id: str, retry: str | None = None) -> bool:
        """Queue a paused, cancelled, failed or done survey job again; with ``retry`` ("unknown"),
        its results of that status are scanned again first. False when it is queued or running."""
        job = self.get(job_id)
        if job is None or job["kind"] != "survey" or job["status"] in ("queued", "running"):
            return False
        params = {**job["params"], "retry": retry}
        with self.store.engine.begin() as conn:
            changed = conn.execute(jobs.update().where(jobs.c.id == job_id, jobs.c.status == job["status"])
                                   .values(status="queued", params=json.dumps(params), attempts=0,
                                           error=None, finished=None)).rowcount
        if changed:
            self.survey_queue.put_nowait(job_id)
        return bool(changed)

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).first()
        if row is None:
            return None
        data = dict(row._mapping)
        data["params"] = json.loads(data["params"])
        return data

    def update(self, job_id: str, **values: Any) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(**values))

    # -- the pool ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Queue again what a stopped server left running or queued, then start the workers."""
        with self.store.engine.begin() as conn:
            conn.execute(jobs.update().where(jobs.c.status == "running").values(status="queued"))
            pending = conn.execute(sa.select(jobs.c.id, jobs.c.kind).where(jobs.c.status == "queued")
                                   .order_by(jobs.c.created)).all()
        for job_id, kind in pending:
            (self.survey_queue if kind == "survey" else self.queue).put_nowait(job_id)
        self.tasks = [asyncio.create_task(self._worker(self.queue, self.run)) for _ in range(self.workers)]
        self.tasks += [asyncio.create_task(self._worker(self.survey_queue, self.run_survey))
                       for _ in range(max(1, self.survey_settings.workers))]

    async def stop(self, wait: float = 30.0) -> None:
        """Stop the pools; a running survey saves its finished results and is queued for the next start."""
        for job_id in list(self.running):
            self.stops[job_id] = "shutdown"
        deadline = asyncio.get_running_loop().time() + wait
        while self.running and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []

    @staticmethod
    async def _worker(queue: asyncio.Queue[str], run: Callable[[str], None]) -> None:
        while True:
            job_id = await queue.get()
            try:
                # scans are CPU-bound in part (attribution): each runs in a thread with its own loop
                await asyncio.to_thread(run, job_id)
            finally:
                queue.task_done()

    def run_survey(self, job_id: str) -> None:
        from souverain.web.survey_jobs import run_survey_job

        self.running.add(job_id)
        try:
            run_survey_job(self, job_id)
        finally:
            self.running.discard(job_id)
            self.stops.pop(job_id, None)

    def run(self, job_id: str) -> None:
        job = self.get(job_id)
        if job is None or job["status"] != "queued" or job["kind"] != "scan":
            return
        if job["attempts"] >= MAX_ATTEMPTS:
            self.update(job_id, status="failed", finished=now(), error="interrupted too many times")
            return
        self.update(job_id, status="running", started=now(), done=0, attempts=job["attempts"] + 1)
        done = 0

        def advance(_domain: str) -> None:
            nonlocal done
            done += 1
            self.update(job_id, done=done)

        params = job["params"]
        try:
            result = self.scan(params["domains"], tuple(params["functions"]), advance)
            scan_id = self.store.save_scan(result)
        except Exception as exc:  # noqa: BLE001 - a boundary (Jobs.fail logs it): one crash must not stop the pool
            self.fail(job_id, exc)
            return
        self.update(job_id, status="done", finished=now(), done=len(params["domains"]), scan_id=scan_id)

    def fail(self, job_id: str, exc: Exception) -> None:
        """Mark a job failed: a SouverainError's message as it is, anything else logged with its traceback
        and shown as an internal error (credentials redacted in both)."""
        if isinstance(exc, SouverainError):
            error = str(exc)
        else:
            log.exception("job %s failed", job_id)
            error = f"internal error: {exc}"
        self.update(job_id, status="failed", finished=now(), error=redact(error))

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
