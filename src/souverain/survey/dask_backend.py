"""Run survey partitions on an existing Dask cluster (``--executor dask --scheduler ADDRESS``).

Workers run the very same per-domain function as the local executor and return rows; the client
writes them to the store with the (run, domain) key, so a partition retried by Dask after a
worker failure cannot create duplicates. No home-made cluster code: Dask schedules, retries
and moves the work.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from souverain.errors import DataError, UsageError
from souverain.store.surveys import SurveyStore
from souverain.survey.runner import (
    SurveyOptions,
    new_run_token,
    partitions,
    run_window,
    scan_partition,
    shares,
    store_partitions,
)

if TYPE_CHECKING:
    from souverain.model.survey import Outcome


def run_dask(store: SurveyStore, survey_id: int, options: SurveyOptions, scheduler: str | Any,
             partition_size: int = 500, kb_root: str | None = None,
             progress: Callable[[Outcome], Any] | None = None, stop: Callable[[], bool] | None = None,
             kb_version: str | None = None) -> Counter:
    """Run the pending partitions on the cluster; workers load the KB at ``kb_root`` (a path they can read).

    With ``kb_version``, a partition scanned with any other KB is refused rather than stored.
    On ``stop()``, finished partitions are written and the ones in flight are cancelled (their
    finished domains are scanned again by --resume: a smaller --partition-size loses less).
    """
    try:
        from dask.distributed import Client, wait
    except ImportError as exc:
        raise UsageError("--executor dask needs the dask extra: pip install 'souverain[dask]'") from exc
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    totals: Counter = Counter()
    slots = max(1, sum(client.nthreads().values()))  # partitions scanned at once across the cluster
    per_task = shares(options, slots, concurrency=False)
    token = new_run_token(survey_id)

    def wait_first(futures: set) -> set:
        cancelled = {future for future in futures if future.cancelled()}
        if cancelled:  # after a stop: dropped, and Dask's wait would raise on them
            return cancelled
        try:
            return wait(futures, timeout=0.5, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            return set()

    def finished(part: dict) -> None:
        if kb_version is not None and part["kb_version"] != kb_version:
            raise DataError(f"a Dask worker scanned with knowledge base {part['kb_version']}, this run uses "
                            f"{kb_version}: give --kb a directory every worker can read ({kb_root})")
        store_partitions(store, survey_id, [part], totals, progress)

    try:
        window = 3 * slots
        run_window(partitions(store, survey_id, partition_size),
                   lambda part: client.submit(scan_partition, part, per_task, kb_root, token, pure=False),
                   wait_first, window, finished, stop, lambda futures: client.cancel(list(futures)))
    finally:
        if client is not scheduler:
            client.close()
    return totals
