"""Run a survey: scan every pending target with the same per-domain function as ``scan``.

Bounded everywhere: targets are read from the store a batch at a time, a fixed pool of workers
scans them, results are written in small batches. Killing the process loses at most the batch in
flight; ``--resume`` scans exactly what has no result yet, and the (run, domain) key makes any
replayed write a no-op.

Every executor takes ``stop``, a callable polled a few times a second (see ``survey.stop``):
once it is true, no new domain is started, the domains in flight are cancelled, and every
finished result is still written, in-process and from worker processes alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from souverain.assess.organisation import verdict as domain_verdict
from souverain.collect.dns import Answer, Resolver, answered
from souverain.model.survey import RowOutcome, SurveyRow, stored_columns
from souverain.scan import ScanOptions, collect_options, make_fetcher, make_rdap, scan_one
from souverain.store.surveys import SurveyStore, summarise_domain

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.ipasn import IPASNTable
    from souverain.model.survey import Outcome

@dataclasses.dataclass
class SurveyOptions(ScanOptions):
    """A scan's options with survey defaults, plus how the run commits; stored with the run."""

    timeout: float = 2.0
    concurrency: int = 200
    fetch_web: bool = False
    dkim: str = "fast"  # fast (lean collection, providers' selectors) | full (what `scan` asks)
    batch: int = 500
    commit_seconds: float = 2.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.lean = self.dkim == "fast"

    def as_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["at"] = self.at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SurveyOptions:
        data = dict(data)
        data["at"] = dt.date.fromisoformat(data["at"])
        data["functions"] = tuple(data["functions"])
        if data.get("nameservers"):
            data["nameservers"] = [tuple(ns) for ns in data["nameservers"]]
        return cls(**data)


async def scan_targets(kb: KnowledgeBase, ip_table: IPASNTable, domains: list[str], options: SurveyOptions,
                       emit: Callable[[SurveyRow], Any], resolver: Resolver | None = None,
                       stop: Callable[[], bool] | None = None) -> Counter:
    """Scan ``domains`` with a bounded worker pool; ``emit`` receives one summary row per domain.

    ``resolver`` may be shared between calls (its cache of provider hosts then carries over);
    without one, a resolver lives for this call only. When ``stop()`` turns true, the domains in
    flight are cancelled and the call returns what was emitted so far.
    """
    if resolver is None:
        async with _resolver(options) as own:
            return await scan_targets(kb, ip_table, domains, options, emit, own, stop)
    outcomes: Counter = Counter()
    sent_before, answered_before = resolver.stats["queries"], answered(resolver.stats)
    collect = collect_options(kb, options, make_fetcher(resolver, options, kb.indexes.tag_loaders),
                              make_rdap(resolver, options, kb))
    queue: asyncio.Queue = asyncio.Queue()
    for domain in domains:
        queue.put_nowait(domain)
    workers = max(1, min(len(domains), options.concurrency // 4 or 1))

    async def worker() -> None:
        while True:
            if stop is not None and stop():
                return
            try:
                domain = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            row = await scan_row(kb, resolver, domain, options, collect, ip_table)
            outcomes[row.status] += 1
            await emit(row) if asyncio.iscoroutinefunction(emit) else emit(row)

    await _until_done_or_stopped([asyncio.ensure_future(worker()) for _ in range(workers)], stop)
    outcomes["dns_queries"] += resolver.stats["queries"] - sent_before
    outcomes["dns_answered"] += answered(resolver.stats) - answered_before
    return outcomes


async def _until_done_or_stopped(tasks: list[asyncio.Future], stop: Callable[[], bool] | None) -> None:
    """Wait for ``tasks``; cancel the rest when one fails, when ``stop()`` turns true, or when we are cancelled."""
    pending = set(tasks)
    try:
        while pending and not (stop is not None and stop()):
            done, pending = await asyncio.wait(pending, timeout=None if stop is None else 0.1,
                                               return_when=asyncio.FIRST_EXCEPTION)
            failed = next((exc for t in done if not t.cancelled() and (exc := t.exception()) is not None), None)
            if failed is not None:
                raise failed
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)


def _resolver(options: SurveyOptions, known: Iterable[Answer] = ()) -> Resolver:
    return Resolver(options.nameservers, timeout=options.timeout, retries=options.retries,
                    concurrency=options.concurrency, qps=options.qps, known=known)


def run_async(coroutine):
    """asyncio.run, on uvloop when it is installed (the `fast` extra): same code, less loop overhead."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


# The parent's KB and IP table, for --workers processes forked from it (``inherited_state``).
_inherited: dict[str | None, tuple[KnowledgeBase, IPASNTable]] = {}


def _worker_state(kb_root: str | None):
    """The KB and the IP table, once per worker process: the parent's when it was forked from one
    that had them (no second copy, no load; even when the parent had scanned in-process before,
    e.g. under Dask with threads), else loaded here (spawned processes, Dask workers)."""
    inherited = _inherited.get(kb_root)
    return inherited if inherited is not None else _loaded_state(kb_root)


@functools.cache
def _loaded_state(kb_root: str | None):
    from souverain.kb.base import load_kb
    from souverain.kb.ipasn import IPASNTable

    return load_kb(kb_root), IPASNTable.load()


@contextlib.contextmanager
def inherited_state(kb: KnowledgeBase | None, kb_root: str | None) -> Iterator[None]:
    """While the pool's processes are forked: they take the parent's KB and IP table as they are.

    Forked workers found the parent's KB already (``load_kb`` keeps it), but each one's garbage
    collector walked its objects and so wrote to, and copied, every page holding them; and each
    loaded an IP table of its own. Here the parent's objects are moved out of the collector's
    reach first (``gc.freeze``) and the IP table is loaded once, so the pages stay shared: a
    third less memory per worker (PSS, see benchmarks/RESULTS.md). Only with the ``fork`` start
    method; otherwise the workers load their own.
    """
    if kb is None or multiprocessing.get_start_method() != "fork":
        yield
        return
    from souverain.kb.ipasn import IPASNTable

    _inherited[kb_root] = (kb, IPASNTable.load())
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        _inherited.pop(kb_root, None)


_stop_event = None  # in --workers processes: set by the parent to stop the partitions in flight


def _init_worker(parent: int, stop_event) -> None:
    """Process-pool initialiser: die with the parent, leave Ctrl-C to the parent, listen to its stop event."""
    global _stop_event
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C reaches the whole process group
    _stop_event = stop_event
    _die_with_parent(parent)


def _die_with_parent(parent: int) -> None:
    """A worker must not outlive a parent killed with SIGKILL (no cleanup runs then)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request above took effect
        os._exit(1)


# The shared DNS answers (names asked by more than one domain: provider hosts, SPF includes) of
# the last partition this process scanned, for the next partition of the same run (``run_token``):
# each partition's resolver then starts warm, as the local executor's single resolver is. Only
# the answers asked again are carried, not the whole cache (a copy of every answer per partition
# cost more than it saved, session 4), and only within one run.
_carried: dict[str, list[Answer]] = {}
_carried_lock = threading.Lock()


def new_run_token(survey_id: int) -> str:
    return f"{survey_id}-{uuid.uuid4().hex}"


def scan_partition(domains: list[str], options: dict, kb_root: str | None = None,
                   run_token: str | None = None) -> dict:
    """Worker task (process pool or Dask): scan one partition; its rows, and counters.

    In a --workers process, a stop from the parent ends the partition early with the rows
    finished so far. With ``run_token`` (one per run), the shared answers of this process's
    previous partition of the same run are known from the start (and never those of another run).
    """
    kb, ip_table = _worker_state(kb_root)
    rows: list[SurveyRow] = []
    stop = _stop_event.is_set if _stop_event is not None else None
    survey_options = SurveyOptions.from_dict(options)
    with _carried_lock:
        known = _carried.get(run_token, []) if run_token else []

    async def scan() -> tuple[Counter, list[Answer]]:
        async with _resolver(survey_options, known) as resolver:
            counts = await scan_targets(kb, ip_table, domains, survey_options, rows.append, resolver, stop)
            return counts, resolver.shared_answers() if run_token else []

    counts, shared = run_async(scan())
    if run_token:
        with _carried_lock:
            _carried.clear()  # one run at a time
            _carried[run_token] = shared
    return partition_result(rows, counts, kb.version)


def partition_result(rows: list[SurveyRow], counts: Counter, kb_version: str) -> dict:
    """What a worker sends back for a partition: its rows as the store takes them
    (``SurveyRow.values``: plain tuples, cheap to pickle, unpickle and insert, where the rows
    themselves cost the parent a Python call per row and per dependency to rebuild), how many
    ended with each (status, verdict), and its counters."""
    registration = any(row.registration for row in rows)
    return {"values": [row.values(registration) for row in rows], "registration": registration,
            "outcomes": Counter((row.status, row.verdict) for row in rows),
            "dns_queries": counts["dns_queries"], "dns_answered": counts["dns_answered"], "kb_version": kb_version}


def partitions(store: SurveyStore, survey_id: int, size: int) -> Iterator[list[str]]:
    """The run's pending domains, ``size`` at a time, read from the store lazily."""
    for batch in store.pending(survey_id, batch=size * 16):
        domains = [domain for domain, _ in batch]
        for start in range(0, len(domains), size):
            yield domains[start:start + size]


def run_window(parts: Iterator[list[str]], submit: Callable[[list[str]], Any],
               wait_first: Callable[[set], set], window: int, finished: Callable[[Any], None],
               stop: Callable[[], bool] | None = None, cancel: Callable[[set], None] | None = None) -> None:
    """Keep ``window`` partitions in flight, handing each result to ``finished`` as it arrives.

    A sliding window rather than batches: a worker never waits for the slowest partition of a
    batch, and at most ``window`` partitions are held in memory. Once ``stop()`` is true nothing
    more is submitted, ``cancel`` gets the partitions in flight (once), and whatever they still
    return is handed over; ``wait_first`` should return within a fraction of a second (an empty
    set when nothing finished) so that a stop is seen.
    """
    in_flight: set = set()
    exhausted = cancelled = False
    while True:
        stopping = stop is not None and stop()
        while not exhausted and not stopping and len(in_flight) < window:
            part = next(parts, None)
            if part is None:
                exhausted = True
            else:
                in_flight.add(submit(part))
        if stopping and not cancelled:
            cancelled = True
            if cancel is not None:
                cancel(in_flight)
        if not in_flight:
            return
        for future in wait_first(in_flight):
            in_flight.discard(future)
            if not future.cancelled():
                finished(future.result())


def shares(options: SurveyOptions, slots: int, *, concurrency: bool = True) -> dict:
    """The options of one of ``slots`` partitions scanned at once: each its share of the run's
    politeness limits (DNS ``--qps``, ``--rdap-qps``: they protect the servers asked, so they hold
    for the whole run, not per process) and, with ``concurrency``, of the queries in flight (one
    machine's budget; a Dask cluster's machines each have their own)."""
    return dataclasses.replace(options,
                               concurrency=max(8, options.concurrency // slots) if concurrency else options.concurrency,
                               qps=options.qps / slots if options.qps else options.qps,
                               rdap_qps=options.rdap_qps / slots).as_dict()


def run_processes(store: SurveyStore, survey_id: int, options: SurveyOptions, workers: int,
                  partition_size: int = 500, kb_root: str | None = None,
                  progress: Callable[[Outcome], Any] | None = None, stop: Callable[[], bool] | None = None,
                  kb: KnowledgeBase | None = None) -> Counter:
    """Spread partitions over ``workers`` processes (one event loop each); the parent writes rows.

    ``kb`` (loaded from ``kb_root``): forked workers share it instead of loading their own."""
    per_worker = shares(options, workers)
    totals: Counter = Counter()
    stop_event = multiprocessing.get_context().Event()
    token = new_run_token(survey_id)

    def cancel(futures: set) -> None:
        stop_event.set()  # partitions running return their finished rows at once
        for future in futures:
            future.cancel()  # those not started yet

    with (inherited_state(kb, kb_root),
          ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(os.getpid(), stop_event)) as pool):
        run_window(partitions(store, survey_id, partition_size),
                   lambda part: pool.submit(scan_partition, part, per_worker, kb_root, token),
                   lambda futures: wait(futures, timeout=0.2, return_when=FIRST_COMPLETED).done,
                   workers * 3, lambda part: store_partitions(store, survey_id, [part], totals, progress),
                   stop, cancel)
    return totals


def partition_rows(part: dict) -> list[SurveyRow]:
    """The rows of a ``partition_result`` back (as the store would return them, without attributes)."""
    columns = stored_columns(part["registration"])
    return [SurveyRow.from_record(dict(zip(columns, values, strict=True))) for values in part["values"]]


def store_partitions(store: SurveyStore, survey_id: int, parts, totals: Counter,
                     progress: Callable[[Outcome], Any] | None) -> None:
    """Write finished partitions (``partition_result``, from a process pool or Dask) as they arrive, and count them."""
    for part in parts:
        store.write_values(survey_id, part["values"], part["registration"])
        totals["dns_queries"] += part["dns_queries"]
        totals["dns_answered"] += part.get("dns_answered", 0)
        for (status, verdict), count in part["outcomes"].items():
            totals[status] += count
            if progress:
                outcome = RowOutcome(status, verdict)
                for _ in range(count):
                    progress(outcome)


async def scan_row(kb, resolver, domain, scan_options, collect, ip_table) -> SurveyRow:
    """One domain -> one stored row. A failure of any kind is a result with status unknown."""
    try:
        obs, deps = await scan_one(kb, resolver, domain, scan_options, collect, ip_table)
    except Exception as exc:  # noqa: BLE001 - one bad domain must never stop a population run
        return summarise_domain(domain, [], None, status="unknown", reason=f"{type(exc).__name__}: {exc}")
    verdict = domain_verdict(kb, deps)
    key = [d for d in deps if d.function in ("email.inbound", "dns.authoritative", "web.hosting")]
    failed = [f"{q}: {s}" for q, s in obs.failures]
    if key and all(d.status == "unknown" for d in key) and failed:
        return summarise_domain(domain, deps, verdict, status="unknown", reason="; ".join(failed[:3]))
    return summarise_domain(domain, deps, verdict)


async def run_local(kb: KnowledgeBase, ip_table: IPASNTable, store: SurveyStore, survey_id: int,
                    options: SurveyOptions, progress: Callable[[Outcome], Any] | None = None,
                    stop: Callable[[], bool] | None = None) -> Counter:
    """Scan every pending target of the run, committing a batch at a time (and whatever is finished on a stop)."""
    buffer: list[SurveyRow] = []
    last_commit = time.monotonic()
    totals: Counter = Counter()

    async def flush() -> None:
        nonlocal last_commit
        if buffer:
            rows = list(buffer)
            buffer.clear()
            # shielded: a stop that cancels the emitting worker must not drop rows already taken from the buffer
            await asyncio.shield(asyncio.to_thread(store.write, survey_id, rows))
        last_commit = time.monotonic()

    async def emit(row: SurveyRow) -> None:
        buffer.append(row)
        if progress:
            progress(row)
        if len(buffer) >= options.batch or time.monotonic() - last_commit > options.commit_seconds:
            await flush()

    try:
        async with _resolver(options) as resolver:  # one resolver (socket and cache) for the whole run
            for batch in store.pending(survey_id, batch=max(options.batch * 10, 1000)):
                totals += await scan_targets(kb, ip_table, [domain for domain, _ in batch], options, emit, resolver,
                                             stop)
                await flush()
                if stop is not None and stop():
                    break
    finally:
        if buffer:  # also when cancelled: what is finished is kept
            store.write(survey_id, buffer)
            buffer.clear()
    return totals
