"""One process working on one survey run: create or reopen it, hold its lease, run an executor.

The lease makes "one process per run" a fact of the store rather than a hope: a second process
that tries to resume a run whose owner is alive is refused, and a run whose owner died (its lease
expired, or its pid is gone on this host) shows as ``interrupted`` and may be resumed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shlex
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self

import sqlalchemy as sa

from souverain.errors import UsageError
from souverain.kb.base import KnowledgeBase
from souverain.kb.loader import DATA_DIR
from souverain.store.surveys import EmptyRun, SurveyStore
from souverain.survey.inputs import BadRow, Target, iter_population
from souverain.survey.runner import SurveyOptions
from souverain.survey.stop import StopRequest
from souverain.version import build_kind

Echo = Callable[[str], Any]  # one line for the person running the survey (stderr in the CLI)
LEASE_LOST = "error: another process took over this run's lease: stopping"

if TYPE_CHECKING:
    from souverain.model.survey import Outcome

LEASE_SECONDS = 60.0  # a lease not renewed for this long belongs to a dead process
RENEW_SECONDS = 10.0
OWNED_STATUSES = ("creating", "running")  # statuses that need a live owner


class LeaseHeld(UsageError):
    """Another live process is working on the run."""


def lease_alive(lease: dict | None, now: float | None = None) -> bool:
    """Whether the lease's owner may still be working: not expired, and its pid alive when it is on this host."""
    if lease is None or lease["expires"] < (time.time() if now is None else now):
        return False
    if lease["host"] == socket.gethostname() and os.name == "posix":
        try:
            os.kill(lease["pid"], 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # someone else's process: alive
            return True
    return True


def shown_status(run: dict, lease: dict | None) -> str:
    """The status to show: a run left "running" by a dead process is ``interrupted``."""
    if run["status"] in OWNED_STATUSES and not lease_alive(lease):
        return "interrupted"
    return run["status"]


def _lease_fields() -> dict:
    return {"token": uuid.uuid4().hex, "host": socket.gethostname(), "pid": os.getpid(),
            "expires": time.time() + LEASE_SECONDS}


class Lease:
    """This process's claim on a run, renewed in the background until released."""

    def __init__(self, surveys: SurveyStore, survey_id: int, fields: dict,
                 on_lost: Callable[[], None] | None = None) -> None:
        self.surveys, self.survey_id, self.token = surveys, survey_id, fields["token"]
        self.on_lost = on_lost
        self.lost = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="survey-lease", daemon=True)

    @classmethod
    def acquire(cls, surveys: SurveyStore, run: dict, on_lost: Callable[[], None] | None = None) -> Lease:
        """Take the run's lease, replacing a dead owner's; ``LeaseHeld`` when a live process holds it."""
        for _ in range(5):  # only a race with another taker loops
            fields = _lease_fields()
            if surveys.take_lease(run["id"], fields):
                return cls(surveys, run["id"], fields, on_lost)
            held = surveys.lease(run["id"])
            if held is None:
                continue
            if lease_alive(held):
                until = (dt.datetime.fromtimestamp(held["expires"], dt.UTC).isoformat(timespec="seconds")
                         .replace("+00:00", "Z"))
                raise LeaseHeld(f"survey {run['name']!r} is being run by process {held['pid']} on {held['host']} "
                                f"(lease renewed until {until}): wait for it to finish, or stop it first")
            if surveys.take_lease(run["id"], fields, replacing=held["token"]):
                return cls(surveys, run["id"], fields, on_lost)
        raise LeaseHeld(f"survey {run['name']!r} is being taken by another process")

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join()
        try:
            self.surveys.release_lease(self.survey_id, self.token)
        except sa.exc.SQLAlchemyError:  # the lease then simply expires
            pass

    def _renew(self) -> None:
        while not self._stopped.wait(RENEW_SECONDS):
            try:
                kept = self.surveys.renew_lease(self.survey_id, self.token, time.time() + LEASE_SECONDS)
            except sa.exc.SQLAlchemyError:  # a busy or briefly unreachable database: try again next time
                continue
            if not kept:
                self.lost = True
                if self.on_lost is not None:
                    self.on_lost()
                return


class BadRows:
    """Report the first bad rows with their line numbers, count them all (nothing is kept)."""

    shown = 20

    def __init__(self, path: Path, echo: Callable[[str], Any]) -> None:
        self.path, self.echo, self.count = path, echo, 0

    def __call__(self, row: BadRow) -> None:
        self.count += 1
        if self.count <= self.shown:
            self.echo(f"{self.path}: {row}")
        elif self.count == self.shown + 1:
            self.echo(f"{self.path}: more bad rows (counted, not shown)")


def create_run(surveys: SurveyStore, input_path: Path, input_format: str | None, domain_column: str | None,
               name: str, options: SurveyOptions, kb_version: str, bad: BadRows,
               on_lost: Callable[[], None] | None = None, sheet: str | None = None) -> tuple[dict, Lease, int]:
    """Register a new run with its targets, holding its lease; (run, lease, rows read).

    Input without a single valid domain stores nothing and raises UsageError with the count.
    """
    read = 0

    def targets() -> Iterator[Target]:
        nonlocal read
        for item in iter_population(input_path, input_format, domain_column, sheet):
            if isinstance(item, BadRow):
                bad(item)
            else:
                read += 1
                yield item

    fields = _lease_fields()
    try:
        survey_id = surveys.create(name, str(input_path), options.as_dict(), kb_version, targets(), lease=fields)
    except EmptyRun:
        raise UsageError(f"{input_path}: no valid domain ({bad.count} bad row(s)); nothing was stored") from None
    surveys.set_bad_rows(survey_id, bad.count)
    return surveys.find(str(survey_id)), Lease(surveys, survey_id, fields, on_lost), read


def reopen_run(surveys: SurveyStore, ref: str, on_lost: Callable[[], None] | None = None) -> tuple[dict, Lease]:
    """An existing run (id or name) and its lease, for --resume and --retry."""
    run = surveys.find(ref)
    if run["status"] == "creating":
        raise UsageError(f"survey {run['name']!r} stopped while its input was being registered: "
                         "nothing was scanned; start it again with another --name")
    return run, Lease.acquire(surveys, run, on_lost)


def last_run_of(surveys: SurveyStore, input_path: Path) -> str:
    runs = [r for r in surveys.runs() if Path(r["input"]).resolve() == input_path.resolve()]
    if not runs:
        raise UsageError(f"no survey of {input_path} to resume; give --name")
    return str(runs[-1]["id"])


def open_run(surveys: SurveyStore, input_path: Path, options: SurveyOptions, kb_version: str, *,
             name: str | None, resume: bool, retry: str | None, input_format: str | None,
             domain_column: str | None, echo: Echo, on_lost: Callable[[], None] | None = None,
             sheet: str | None = None) -> tuple[dict, Lease, SurveyOptions]:
    """The run ``survey run`` works on, its lease (not yet entered) and its options: a new run of
    ``input_path``, or with ``resume`` or ``retry`` the run named ``name`` (default: the last run
    of ``input_path``) with the options it was created with."""
    if resume or retry:
        run, lease = reopen_run(surveys, name or last_run_of(surveys, input_path), on_lost)
        echo(f"{'retrying' if retry else 'resuming'} survey {run['name']!r} (id {run['id']})")
        return run, lease, SurveyOptions.from_dict(json.loads(run["options"]))
    name = name or f"{input_path.stem}-{time.strftime('%Y%m%dT%H%M%S')}"
    bad = BadRows(input_path, echo)
    run, lease, read = create_run(surveys, input_path, input_format, domain_column, name, options,
                                  kb_version, bad, on_lost, sheet)
    if bad.count or read != run["total"]:
        echo(f"{bad.count} bad row(s) skipped, {read - run['total']} duplicate(s)")
    echo(f"survey {name!r} (id {run['id']}): {run['total']} domains")
    return run, lease, options


class Progress(Protocol):
    """What ``scan_run`` reports to: called with each result row, closed at the end."""

    started: float  # time.monotonic() when the progress began

    def __call__(self, row: Outcome) -> None: ...

    def close(self) -> None: ...


def scan_run(kb: KnowledgeBase, surveys: SurveyStore, run: dict, lease: Lease,
             options: SurveyOptions, executor: Executor, *, retry: str | None, stop: StopRequest,
             progress: Callable[[int], Progress], db_url: str | None, echo: Echo) -> bool:
    """Scan what the run still needs, once its lease is held: with ``retry``, the results with
    that status again. Stopped (``stop``) or failed, the run is marked interrupted and the
    command that resumes it is shown; True when the run went to its end."""
    survey_id, total = run["id"], run["total"]
    surveys.finish(survey_id, "running")
    if retry:
        echo(f"{surveys.forget(survey_id, retry)} {retry} result(s) to scan again")
    done_before = surveys.counts(survey_id)["done"]
    shown = progress(total - done_before)
    finished = False
    try:
        with stop.on_sigint():
            outcomes = execute(kb, surveys, survey_id, options, executor, shown, stop)
        finished = not stop.requested
    finally:
        shown.close()
        if not finished:
            done = surveys.counts(survey_id)["done"]
            if not lease.lost:
                surveys.finish(survey_id, "interrupted")
            echo(f"saved {done - done_before} finished result(s) this session, "
                 f"{done}/{total} done; resume with:")
            echo("  " + resume_command(run, db_url, kb, executor))
    if not finished:
        return False
    elapsed = time.monotonic() - shown.started
    counts = surveys.counts(survey_id)
    surveys.finish(survey_id, "complete" if counts["done"] >= total else "partial")
    queries = outcomes.pop("dns_queries", 0)
    if queries and not outcomes.get("dns_answered"):
        servers = ", ".join(f"{h}:{p}" for h, p in options.nameservers or []) or "the system resolver"
        echo(f"warning: no answer from {servers} for any of {queries} queries: the unknown rows are "
             "the resolver's, not the domains'; check the network or --nameserver, then re-scan them "
             "with:")
        echo("  " + resume_command(run, db_url, kb, executor, ("--retry", "unknown")))
    outcomes.pop("dns_answered", None)
    scanned = sum(outcomes.values())
    echo(f"done: {counts['done']}/{total} domains ({', '.join(f'{k} {v}' for k, v in sorted(outcomes.items()))} this session); "
         f"{scanned} domains in {elapsed:.1f} s = {scanned / max(elapsed, 1e-9):.0f} domains/s, "
         f"{queries} DNS queries = {queries / max(elapsed, 1e-9):.0f} queries/s; {build_kind()}")
    return True


@dataclasses.dataclass
class Executor:
    """Where the partitions run: this process (one event loop), a pool of processes, or a Dask cluster."""

    kind: str = "local"  # local | dask
    workers: int = 1
    scheduler: str | Any | None = None
    partition_size: int = 500


def execute(kb: KnowledgeBase, surveys: SurveyStore, survey_id: int, options: SurveyOptions, executor: Executor,
            progress: Callable[[Outcome], Any] | None = None, stop: Callable[[], bool] | None = None) -> Counter:
    """Scan the run's pending targets with the chosen executor; workers load the same KB as ``kb``."""
    if executor.kind == "dask":
        from souverain.survey.dask_backend import run_dask

        return run_dask(surveys, survey_id, options, executor.scheduler, executor.partition_size,
                        kb_root=str(kb.root), progress=progress, stop=stop, kb_version=kb.version)
    if executor.workers > 1:
        from souverain.survey.runner import run_processes

        return run_processes(surveys, survey_id, options, executor.workers, executor.partition_size,
                             kb_root=str(kb.root), progress=progress, stop=stop, kb=kb)
    from souverain.kb.ipasn import IPASNTable
    from souverain.survey.runner import run_async, run_local

    return run_async(run_local(kb, IPASNTable.load(), surveys, survey_id, options, progress, stop))


def resume_command(run: dict, db_url: str | None, kb: KnowledgeBase, executor: Executor,
                   how: tuple[str, ...] = ("--resume",)) -> str:
    """The command that continues ``run`` (``how``: or ``--retry unknown``), shell-quoted; a database
    password is shown as ***."""
    words = ["souverain"]
    if Path(kb.root).resolve() != DATA_DIR.resolve():
        words += ["--kb", str(kb.root)]
    words += ["survey", "run", run["input"], "--name", run["name"], *how]
    if db_url:
        words += ["--db", redact_url(db_url)]
    if executor.kind == "dask" and isinstance(executor.scheduler, str):
        words += ["--executor", "dask", "--scheduler", executor.scheduler]
    return shlex.join(words)


def redact_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url
