"""Run survey partitions on an existing Dask cluster (``--executor dask --scheduler ADDRESS``).

Workers run the very same per-domain function as the local executor and return rows; the client
writes them to the store with the (run, domain) key, so a partition retried by Dask after a
worker failure cannot create duplicates. No home-made cluster code: Dask schedules, retries
and moves the work.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from souverain.errors import UsageError
from souverain.store.surveys import SurveyStore
from souverain.survey.runner import SurveyOptions, scan_partition, store_partitions


def run_dask(store: SurveyStore, survey_id: int, options: SurveyOptions, scheduler: str | Any,
             partition_size: int = 500, kb_root: str | None = None,
             progress: Callable[[dict], Any] | None = None) -> Counter:
    try:
        from dask.distributed import Client, as_completed
    except ImportError as exc:
        raise UsageError("--executor dask needs the dask extra: pip install 'souverain[dask]'") from exc
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    totals: Counter = Counter()
    try:
        for batch in store.pending(survey_id, batch=partition_size * 20):
            domains = [domain for domain, _ in batch]
            parts = [domains[i:i + partition_size] for i in range(0, len(domains), partition_size)]
            futures = client.map(scan_partition, parts, options=options.as_dict(), kb_root=kb_root, pure=False)
            store_partitions(store, survey_id, (f.result() for f in as_completed(futures)), totals, progress)
    finally:
        if client is not scheduler:
            client.close()
    return totals
