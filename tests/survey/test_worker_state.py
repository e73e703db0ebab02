"""What crosses between a survey's processes: pickled rows, and the KB forked workers inherit."""

from __future__ import annotations

import gc
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

from souverain.kb.base import load_kb
from souverain.model.dependency import Dependency, ServiceRef
from souverain.model.survey import CompactDependency, SurveyRow
from souverain.survey import runner


def test_models_pickle_by_field_values():
    compact = CompactDependency("email.inbound", "identified", "high", "verified", "m365", "microsoft", "US",
                                ("us-fisa-702",), "mx-service", "mx.example.fr")
    row = SurveyRow("example.fr", "ok", None, "exposed", "us-fisa-702", mail_status="identified",
                    mail_tier="verified", finished="2026-12-07T00:00:00Z", attrs={"insee": "75056"},
                    dependencies=(compact,))
    again = pickle.loads(pickle.dumps(row))
    assert again == row and again.dependencies[0] == compact and type(again) is SurveyRow
    # a keyword-only field (tier) and a default one survive too
    dep = Dependency("example.fr", "email.inbound", "identified", "high", "mx-service", {"host": "mx"},
                     "mx.example.fr", ServiceRef("m365", "Microsoft 365", "mail-hosting"), tier="inferred")
    assert pickle.loads(pickle.dumps(dep)) == dep
    assert pickle.loads(pickle.dumps(dep)).tier == "inferred"


def _worker_view(kb_root: str) -> tuple[int, int, int]:
    kb, table = runner._worker_state(kb_root)
    return id(kb), id(table), gc.get_freeze_count()


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="workers share the KB only when forked")
def test_forked_workers_share_the_parents_kb_and_ip_table():
    kb = load_kb()
    root = str(kb.root)
    with runner.inherited_state(kb, root), ProcessPoolExecutor(1) as pool:
        table = runner._inherited[root][1]
        kb_id, table_id, frozen = pool.submit(_worker_view, root).result()
    assert (kb_id, table_id) == (id(kb), id(table))  # the parent's objects, not reloads
    assert frozen > 0  # out of the collector's reach: its pages are not copied by the child's GC
    assert root not in runner._inherited and gc.get_freeze_count() == 0  # only while the pool runs


def test_each_partition_scanned_at_once_gets_its_share_of_the_politeness_limits():
    options = runner.SurveyOptions(concurrency=200, qps=50.0, rdap_qps=1.0)
    local = runner.shares(options, 4)
    assert (local["concurrency"], local["qps"], local["rdap_qps"]) == (50, 12.5, 0.25)
    cluster = runner.shares(options, 4, concurrency=False)  # each Dask machine has its own resolver budget
    assert (cluster["concurrency"], cluster["qps"], cluster["rdap_qps"]) == (200, 12.5, 0.25)
    assert runner.shares(runner.SurveyOptions(), 2)["qps"] is None  # no limit stays no limit


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="workers share the KB only when forked")
def test_forked_workers_take_the_inherited_state_even_after_the_parent_scanned_itself():
    """A process that scanned in-process before (Dask with threads, tests) has a state of its own
    loaded: the workers it forks for --workers still take the KB and table it hands them."""
    kb = load_kb()
    root = str(kb.root)
    own = runner._worker_state(root)  # loaded here, as a scan_partition in this process would
    with runner.inherited_state(kb, root), ProcessPoolExecutor(1) as pool:
        table = runner._inherited[root][1]
        kb_id, table_id, _ = pool.submit(_worker_view, root).result()
    assert (kb_id, table_id) == (id(kb), id(table)) and table is not own[1]
