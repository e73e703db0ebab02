"""Run a survey: scan every pending target with the same per-domain function as ``scan``.

Bounded everywhere: targets are read from the store a batch at a time, a fixed pool of workers
scans them, results are written in small batches. Killing the process loses at most the batch in
flight; ``--resume`` scans exactly what has no result yet, and the (run, domain) key makes any
replayed write a no-op.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import os
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from souverain.assess.organisation import verdict as domain_verdict
from souverain.collect.dns import Resolver
from souverain.scan import ScanOptions, collect_options, make_fetcher, scan_one
from souverain.store.surveys import SurveyStore, summarise_domain

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.ipasn import IPASNTable

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
                       emit: Callable[[dict], Any], resolver: Resolver | None = None) -> Counter:
    """Scan ``domains`` with a bounded worker pool; ``emit`` receives one summary row per domain.

    ``resolver`` may be shared between calls (its cache of provider hosts then carries over);
    without one, a resolver lives for this call only.
    """
    if resolver is None:
        async with _resolver(options) as own:
            return await scan_targets(kb, ip_table, domains, options, emit, own)
    outcomes: Counter = Counter()
    sent_before = resolver.stats["queries"]
    collect = collect_options(kb, options, make_fetcher(resolver, options))
    queue: asyncio.Queue = asyncio.Queue()
    for domain in domains:
        queue.put_nowait(domain)
    workers = max(1, min(len(domains), options.concurrency // 4 or 1))

    async def worker() -> None:
        while True:
            try:
                domain = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            row = await scan_row(kb, resolver, domain, options, collect, ip_table)
            outcomes[row["status"]] += 1
            await emit(row) if asyncio.iscoroutinefunction(emit) else emit(row)

    await asyncio.gather(*(worker() for _ in range(workers)))
    outcomes["dns_queries"] += resolver.stats["queries"] - sent_before
    return outcomes


def _resolver(options: SurveyOptions) -> Resolver:
    return Resolver(options.nameservers, timeout=options.timeout, retries=options.retries,
                    concurrency=options.concurrency, qps=options.qps)


def run_async(coroutine):
    """asyncio.run, on uvloop when it is installed (the `fast` extra): same code, less loop overhead."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


@functools.cache
def _worker_state(kb_root: str | None):
    """The KB and the IP table, loaded once per worker process."""
    from souverain.kb.base import load_kb
    from souverain.kb.ipasn import IPASNTable

    return load_kb(kb_root), IPASNTable.load()


def _die_with_parent(parent: int) -> None:
    """Worker initialiser: a worker must not outlive a parent killed with SIGKILL (no cleanup runs then)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request above took effect
        os._exit(1)


def scan_partition(domains: list[str], options: dict, kb_root: str | None = None) -> dict:
    """Worker task (process pool or Dask): scan one partition; rows as plain dicts, and counters."""
    kb, ip_table = _worker_state(kb_root)
    rows: list[dict] = []
    counts = run_async(scan_targets(kb, ip_table, domains, SurveyOptions.from_dict(options), rows.append))
    return {"rows": rows, "dns_queries": counts["dns_queries"]}


def partitions(store: SurveyStore, survey_id: int, size: int) -> Iterator[list[str]]:
    """The run's pending domains, ``size`` at a time, read from the store lazily."""
    for batch in store.pending(survey_id, batch=size * 16):
        domains = [domain for domain, _ in batch]
        for start in range(0, len(domains), size):
            yield domains[start:start + size]


def run_window(parts: Iterator[list[str]], submit: Callable[[list[str]], Any],
               wait_first: Callable[[set], set], window: int, finished: Callable[[Any], None]) -> None:
    """Keep ``window`` partitions in flight, handing each result to ``finished`` as it arrives.

    A sliding window rather than batches: a worker never waits for the slowest partition of a
    batch, and at most ``window`` partitions are held in memory.
    """
    in_flight: set = set()
    exhausted = False
    while True:
        while not exhausted and len(in_flight) < window:
            part = next(parts, None)
            if part is None:
                exhausted = True
            else:
                in_flight.add(submit(part))
        if not in_flight:
            return
        for future in wait_first(in_flight):
            in_flight.discard(future)
            finished(future.result())


def run_processes(store: SurveyStore, survey_id: int, options: SurveyOptions, workers: int,
                  partition_size: int = 500, kb_root: str | None = None,
                  progress: Callable[[dict], Any] | None = None) -> Counter:
    """Spread partitions over ``workers`` processes (one event loop each); the parent writes rows."""
    per_worker = dataclasses.replace(options, concurrency=max(8, options.concurrency // workers)).as_dict()
    totals: Counter = Counter()
    with ProcessPoolExecutor(workers, initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
        run_window(partitions(store, survey_id, partition_size),
                   lambda part: pool.submit(scan_partition, part, per_worker, kb_root),
                   lambda futures: wait(futures, return_when=FIRST_COMPLETED).done,
                   workers * 3, lambda part: store_partitions(store, survey_id, [part], totals, progress))
    return totals


def store_partitions(store: SurveyStore, survey_id: int, parts, totals: Counter,
                     progress: Callable[[dict], Any] | None) -> None:
    """Write finished partitions (from a process pool or Dask) as they arrive, and count them."""
    for part in parts:
        store.write(survey_id, part["rows"])
        totals["dns_queries"] += part["dns_queries"]
        for row in part["rows"]:
            totals[row["status"]] += 1
            if progress:
                progress(row)


async def scan_row(kb, resolver, domain, scan_options, collect, ip_table) -> dict:
    """One domain -> one stored row. A failure of any kind is a result with status unknown."""
    try:
        obs, deps = await scan_one(kb, resolver, domain, scan_options, collect, ip_table)
    except Exception as exc:  # noqa: BLE001 - one bad domain must never stop a population run
        return summarise_domain(domain, [], None, status="unknown", reason=f"{type(exc).__name__}: {exc}")
    dicts = [d.as_dict() for d in deps]
    verdict = domain_verdict(kb, deps)
    key = [d for d in dicts if d["function"] in ("email.inbound", "dns.authoritative", "web.hosting")]
    failed = [f"{q}: {s}" for q, s in obs.failures]
    if key and all(d["status"] == "unknown" for d in key) and failed:
        return summarise_domain(domain, dicts, verdict, status="unknown", reason="; ".join(failed[:3]))
    return summarise_domain(domain, dicts, verdict)


async def run_local(kb: KnowledgeBase, ip_table: IPASNTable, store: SurveyStore, survey_id: int,
                    options: SurveyOptions, progress: Callable[[dict], Any] | None = None) -> Counter:
    """Scan every pending target of the run, committing a batch at a time."""
    buffer: list[dict] = []
    last_commit = time.monotonic()
    totals: Counter = Counter()

    async def flush() -> None:
        nonlocal last_commit
        if buffer:
            rows = list(buffer)
            buffer.clear()
            await asyncio.to_thread(store.write, survey_id, rows)
        last_commit = time.monotonic()

    async def emit(row: dict) -> None:
        buffer.append(row)
        if progress:
            progress(row)
        if len(buffer) >= options.batch or time.monotonic() - last_commit > options.commit_seconds:
            await flush()

    async with _resolver(options) as resolver:  # one resolver (socket and cache) for the whole run
        for batch in store.pending(survey_id, batch=max(options.batch * 10, 1000)):
            totals += await scan_targets(kb, ip_table, [domain for domain, _ in batch], options, emit, resolver)
            await flush()
    await flush()
    return totals
