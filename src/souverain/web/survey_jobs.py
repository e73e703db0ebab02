"""Survey jobs in the server: register an uploaded population as a survey run, then scan it in a
worker thread with the CLI's executors (local or Dask), holding the run's lease; pause, cancel and
a server stop save what is finished, and the survey store resumes without duplicates."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from souverain.errors import UsageError
from souverain.store.surveys import SurveyStore, summarise_domain

if TYPE_CHECKING:
    from souverain.model.survey import Outcome, SurveyRow
    from souverain.web.jobs import Jobs

MAX_ATTEMPTS = 3


@dataclasses.dataclass
class Live:
    """A running survey job's progress in this process: what rate and ETA are computed from."""

    started: float = dataclasses.field(default_factory=time.monotonic)
    done: int = 0  # rows this session
    persisted: float = 0.0  # when ``done`` was last written to the jobs table

    def rate(self) -> float:
        return self.done / max(time.monotonic() - self.started, 1e-6)


@dataclasses.dataclass
class Registered:
    job_id: str
    survey_id: int
    total: int
    bad_rows: int
    bad_lines: list[str]


def register(jobs: Jobs, path: Path, *, fmt: str | None, domain_column: str | None, name: str,
             functions: tuple[str, ...], group_column: str | None = None,
             name_column: str | None = None) -> Registered:
    """Read ``path`` into a new survey run (targets stored, nothing scanned) and queue its job.

    UsageError when the input has no domain column or no valid domain (nothing is stored then)."""
    from souverain.kb.base import load_kb
    from souverain.survey.runner import SurveyOptions
    from souverain.survey.session import BadRows, create_run

    settings, survey = jobs.settings, jobs.survey_settings
    options = SurveyOptions(functions=functions, nameservers=settings.nameservers, timeout=settings.timeout,
                            concurrency=survey.concurrency, fetch_web=False)
    lines: list[str] = []
    bad = BadRows(path, lines.append)
    surveys = SurveyStore(jobs.store)
    run, lease, _read = create_run(surveys, path, fmt, domain_column, name, options, load_kb().version, bad)
    surveys.release_lease(run["id"], lease.token)  # the job takes it when a worker starts on it
    surveys.finish(run["id"], "interrupted")  # resumable, not running: the job resumes it
    params = {"survey_id": run["id"], "name": run["name"], "functions": list(functions), "domain_column": domain_column,
              "group_column": group_column, "name_column": name_column, "retry": None}
    job_id = jobs.submit_survey(params, run["total"])
    return Registered(job_id, run["id"], run["total"], bad.count,
                      [line.replace(str(path), "input") for line in lines])


def run_survey_job(jobs: Jobs, job_id: str) -> None:
    from souverain.web.jobs import now

    job = jobs.get(job_id)
    if job is None or job["status"] != "queued" or job["kind"] != "survey":
        return
    if job["attempts"] >= MAX_ATTEMPTS:
        jobs.update(job_id, status="failed", finished=now(), error="interrupted too many times")
        return
    jobs.update(job_id, status="running", started=now(), attempts=job["attempts"] + 1)
    try:
        complete = _scan(jobs, job_id, job["params"])
    except Exception as exc:  # noqa: BLE001 - a boundary (Jobs.fail logs it): one crash must not stop the pool
        jobs.fail(job_id, exc)
        return
    finally:
        jobs.live.pop(job_id, None)
    request = jobs.stops.get(job_id)
    if request == "pause":
        jobs.update(job_id, status="paused")
    elif request == "shutdown":  # queued again: the next start resumes it
        jobs.update(job_id, status="queued", attempts=job["attempts"])
    else:
        jobs.update(job_id, status="cancelled" if request == "cancel" and not complete else "done",
                    finished=now())


def _scan(jobs: Jobs, job_id: str, params: dict[str, Any]) -> bool:
    """Scan what the run still needs under its lease; True when every target has a result."""
    import json

    from souverain.kb.base import load_kb
    from souverain.survey.runner import SurveyOptions
    from souverain.survey.session import Executor, Lease, execute

    kb = load_kb()
    surveys = SurveyStore(jobs.store)
    run = surveys.find(str(params["survey_id"]))
    settings = jobs.survey_settings
    options = SurveyOptions.from_dict(json.loads(run["options"]))
    options.nameservers = jobs.settings.nameservers  # the server's resolver now, not the one it had then
    executor = Executor(settings.executor, 1, settings.scheduler, settings.partition_size)

    def stop() -> bool:
        return job_id in jobs.stops

    live = jobs.live[job_id] = Live()

    def progress(_row: Outcome) -> None:
        live.done += 1
        now = time.monotonic()
        if now - live.persisted > 1.0:
            live.persisted = now
            jobs.update(job_id, done=surveys.counts(run["id"])["done"])

    def lost() -> None:  # another process took the run over: stop here
        jobs.stops.setdefault(job_id, "cancel")

    with Lease.acquire(surveys, run, on_lost=lost):
        surveys.finish(run["id"], "running")
        if params.get("retry"):
            surveys.forget(run["id"], params["retry"])
            jobs.update(job_id, params=json.dumps({**params, "retry": None}))
        if not jobs.settings.allow_private_targets:
            refused = asyncio.run(refuse_private(surveys, run["id"], jobs.settings.nameservers,
                                                 jobs.settings.timeout, settings.concurrency, stop))
            live.done += refused
        if not stop():
            execute(kb, surveys, run["id"], options, executor, progress, stop)
        counts = surveys.counts(run["id"])
        complete = counts["done"] >= run["total"]
        resumable = jobs.stops.get(job_id) in ("pause", "shutdown")
        surveys.finish(run["id"], "complete" if complete else "interrupted" if resumable else "partial")
    jobs.update(job_id, done=counts["done"])
    return complete


REFUSED = "refused: "  # the reason of a target the SSRF guard refused (a result with status unknown)


async def refuse_private(surveys: SurveyStore, survey_id: int, nameservers: list[tuple[str, int]] | None,
                         timeout: float, concurrency: int, stop: Any = None) -> int:
    """Store a result "unknown, refused" for every pending target that (or whose www host) resolves to a
    loopback, private, link-local, CGNAT, multicast or reserved address; the scan then skips them.
    The number refused."""
    from souverain.collect.dns import Resolver
    from souverain.collect.domain import send_host
    from souverain.web.security import TargetRefused, check_addresses

    refused = 0
    gate = asyncio.Semaphore(max(1, concurrency // 4))
    async with Resolver(nameservers, timeout=timeout, retries=1) as resolver:

        async def check(domain: str) -> SurveyRow | None:
            async with gate:
                try:
                    for host in (domain, f"www.{domain}"):
                        a_sent, aaaa_sent = send_host(resolver, host)
                        a, aaaa = await asyncio.gather(a_sent, aaaa_sent)
                        check_addresses(host, a.values("A") + aaaa.values("AAAA"))
                except TargetRefused as exc:
                    return summarise_domain(domain, [], None, status="unknown",
                                            reason=f"{REFUSED}{exc.host} resolves to {exc.address} ({exc.kind} address)")
            return None

        for batch in surveys.pending(survey_id, batch=2000):
            if stop is not None and stop():
                break
            rows = [row for row in await asyncio.gather(*(check(domain) for domain, _ in batch)) if row]
            surveys.write(survey_id, rows)
            refused += len(rows)
    return refused


def counts_of(surveys: SurveyStore, survey_id: int) -> dict[str, Any]:
    """Results so far by status (ok, unknown, of which refused) and by verdict."""
    import sqlalchemy as sa

    from souverain.store.surveys import survey_results as results

    status = surveys.counts(survey_id)
    with surveys.engine.connect() as conn:
        verdicts = Counter({str(v or "unknown"): int(n) for v, n in conn.execute(
            sa.select(results.c.verdict, sa.func.count()).where(results.c.survey_id == survey_id)
            .group_by(results.c.verdict)).all()})
        refused = conn.execute(sa.select(sa.func.count()).select_from(results).where(
            results.c.survey_id == survey_id, results.c.reason.like(f"{REFUSED}%"))).scalar_one()
    return {"done": status["done"], "by_status": {k: v for k, v in status.items() if k != "done"},
            "refused": int(refused), "by_verdict": dict(verdicts)}


def check_name(name: str) -> str:
    text = " ".join(name.split())[:120]
    if not text:
        raise UsageError("the survey needs a name")
    return text
