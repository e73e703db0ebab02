"""CPU a survey's parent process spends per domain on the rows its workers send (``--workers``, Dask).

    PYTHONPATH=src python benchmarks/survey/parent_rows.py [--rows 20000] [--jsonl FILE] [--src DIR]

A worker (``scan_partition``) returns each partition of 500 rows to the parent, pickled; the
parent unpickles it and hands it to ``store_partitions``, which writes the rows to the store,
counts them and tells the progress indicator. This runs that path on ``--rows`` rows without any
scanning: the rows are made as ``summarise_domain`` makes them, either copied from a
``survey export --format jsonl`` file (``--jsonl``) or from a few realistic templates (the
realistic benchmark world's mix: 3 to 6 dependencies a domain, foreign laws on most). It reports
CPU time (``time.process_time``, not wall clock) per row on both sides: the worker's (its rows
made ready and pickled) and the parent's (unpickled, stored in a fresh SQLite file, counted,
progress as ``survey run`` shows it without a terminal). ``--src`` imports another source tree
(e.g. an older checkout's ``src``) to compare the two.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

_LAWS = ["us-cloud-act", "us-ecpa-sca-2703", "us-fisa-702"]


def _dep(function, status, confidence, tier, service, controller, country, laws, reason, subject):
    return {"function": function, "status": status, "confidence": confidence, "tier": tier, "service": service,
            "controller": controller, "country": country, "laws": laws, "reason": reason, "subject": subject}


def templates() -> list[dict]:
    """Rows shaped like the realistic world's (``benchmarks/survey/gen_real_world.py``)."""
    empty = {f"{p}_{k}": None for p in ("mail", "dns", "web", "registry", "registrar")
             for k in ("status", "service", "controller", "country", "foreign", "tier")}
    microsoft = {**empty, "status": "ok", "reason": None, "verdict": "exposed", "foreign_laws": " ".join(_LAWS),
                 "mail_status": "identified", "mail_service": "Exchange Online", "mail_controller": "Microsoft Corporation",
                 "mail_country": "US", "mail_foreign": True, "mail_tier": "verified",
                 "dns_status": "self-managed", "dns_service": "Infomaniak network (AS29222)",
                 "dns_controller": "Infomaniak Network SA", "dns_country": "CH", "dns_foreign": False,
                 "dns_tier": "verified",
                 "dependencies": [
                     _dep("email.inbound", "identified", "high", "verified", "exchange-online", "microsoft", "US", _LAWS,
                          "mx-service", "DOMAIN-ch.mail.protection.outlook.com"),
                     _dep("email.sending", "identified", "high", "verified", "exchange-online", "microsoft", "US", _LAWS,
                          "sending-service", None),
                     _dep("email.sending", "unknown", "low", "unknown", None, None, None, [], "spf-include-unknown",
                          "spf.mail.example-host.ch"),
                     _dep("saas", "identified", "high", "verified", "google-search-console", "alphabet", "US", _LAWS,
                          "txt-token", None),
                     _dep("dns.authoritative", "self-managed", "medium", "verified", "infomaniak-network", "infomaniak",
                          "CH", [], "ns-self-managed", "ns1.h14.dnsbench.test, ns2.h14.dnsbench.test")]}
    local = {**empty, "status": "ok", "reason": None, "verdict": "not-exposed", "foreign_laws": None,
             "mail_status": "self-managed", "mail_service": "Integrity network (AS28924)",
             "mail_controller": "INTEGRITY Informatics Ltd. (Integrity Informatikai Kft.)", "mail_country": "HU",
             "mail_foreign": False, "mail_tier": "verified",
             "dns_status": "self-managed", "dns_service": "Magyar Telekom network (AS5483)",
             "dns_controller": "Deutsche Telekom AG", "dns_country": "DE", "dns_foreign": False, "dns_tier": "verified",
             "dependencies": [
                 _dep("email.inbound", "self-managed", "medium", "verified", "integrity-network",
                      "integrity-informatics", "HU", [], "mx-self-managed", "mail.DOMAIN"),
                 _dep("email.sending", "unknown", "low", "unknown", None, None, None, [], "spf-include-unknown",
                      "spf.fws.hu"),
                 _dep("dns.authoritative", "self-managed", "medium", "verified", "magyar-telekom-network",
                      "deutsche-telekom", "DE", [], "ns-self-managed", "ns1.h871.dnsbench.test, ns2.h871.dnsbench.test")]}
    failed = {**empty, "status": "unknown", "reason": "DOMAIN MX: timeout; DOMAIN NS: timeout", "verdict": None,
              "foreign_laws": None, "dependencies": []}
    return [microsoft, local, microsoft, microsoft, local, microsoft, local, microsoft, local, microsoft,
            microsoft, local, microsoft, local, microsoft, microsoft, local, microsoft, local, failed]


def make_rows(count: int, jsonl: Path | None) -> list:
    from souverain.model.survey import CompactDependency, SurveyRow

    if jsonl:
        shapes = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        shapes = templates()
    rows = []
    for n in range(count):
        shape = shapes[n % len(shapes)]
        domain = f"d{n}.example" if not jsonl else f"{n}-{shape['domain']}"
        deps = tuple(CompactDependency(**{**d, "laws": tuple(d["laws"]),
                                          "subject": d["subject"] and d["subject"].replace("DOMAIN", domain)})
                     for d in shape["dependencies"])
        columns = {k: v for k, v in shape.items() if k in SurveyRow.__dataclass_fields__
                   and k not in ("domain", "dependencies", "attrs", "finished")}
        if columns.get("reason"):
            columns["reason"] = columns["reason"].replace("DOMAIN", domain)
        rows.append(SurveyRow(domain=domain, finished="2026-12-08T00:00:00Z", dependencies=deps, **columns))
    return rows


def payloads(rows: list, size: int) -> list[dict]:
    """What the workers return for partitions of ``size`` rows (``runner.partition_result`` when it exists)."""
    from souverain.survey import runner

    parts = []
    for start in range(0, len(rows), size):
        chunk = rows[start:start + size]
        if hasattr(runner, "partition_result"):
            parts.append(runner.partition_result(chunk, Counter({"dns_queries": 9 * len(chunk),
                                                                 "dns_answered": 9 * len(chunk)}), "kb"))
        else:  # the code before partition_result: the rows themselves
            parts.append({"rows": chunk, "dns_queries": 9 * len(chunk), "dns_answered": 9 * len(chunk),
                          "kb_version": "kb"})
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--partition", type=int, default=500)
    parser.add_argument("--jsonl", type=Path, help="rows to copy (survey export --format jsonl)")
    parser.add_argument("--src", help="a source tree to import souverain from")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the smallest figures are reported")
    args = parser.parse_args()
    if args.src:
        sys.path.insert(0, args.src)
    from souverain.cli.survey import _Progress
    from souverain.store.database import Store
    from souverain.store.surveys import SurveyStore
    from souverain.survey.inputs import Target
    from souverain.survey.runner import store_partitions

    rows = make_rows(args.rows, args.jsonl)
    best_worker = best_parent = float("inf")
    for _ in range(args.repeat):
        started = time.process_time()
        shipped = [pickle.dumps(part, pickle.HIGHEST_PROTOCOL) for part in payloads(rows, args.partition)]
        worker = time.process_time() - started
        with tempfile.TemporaryDirectory() as folder, Store.open(f"sqlite:///{folder}/bench.db") as store:
            surveys = SurveyStore(store)
            run = surveys.create("bench", "x", {}, "kb", (Target(n, row.domain, {}) for n, row in enumerate(rows)))
            progress = _Progress(len(rows), quiet=True)
            totals: Counter = Counter()
            started = time.process_time()
            for data in shipped:
                store_partitions(surveys, run, [pickle.loads(data)], totals, progress)
            parent = time.process_time() - started
            assert surveys.counts(run)["done"] == len(rows) == progress.done, "rows lost"
        best_worker, best_parent = min(best_worker, worker), min(best_parent, parent)
    size = sum(len(data) for data in shipped) / len(rows)
    print(f"{len(rows)} rows, partitions of {args.partition}: worker {best_worker / len(rows) * 1e6:.1f} µs/row "
          f"(rows made ready, pickled: {size:.0f} bytes/row), parent {best_parent / len(rows) * 1e6:.1f} µs/row "
          f"(unpickled, stored, counted, progress)")


if __name__ == "__main__":
    main()
