"""The Dask executor against the local one on the same input, and the fixed cost of a partition.

    python benchmarks/survey/bench_dask.py --size 40000 --partitions 100,500,2000 --work /tmp/souverain-bench-dask

Same world and NSD as bench.py (generated in --work when missing or stale, served on
127.0.0.1:5354). This script starts a ``dask.distributed.LocalCluster`` of --workers worker
processes (one thread each, on 127.0.0.1, no dashboard), warms it up with a small survey (workers
load the KB once), then for each partition size P runs, on the first --size names:

- ``souverain survey run ... --executor dask --scheduler ADDRESS --partition-size P``
- ``souverain survey run ... --workers W --partition-size P`` (local executor, process pool)

and once ``--workers 1`` (one process, one resolver for the whole run: no partitions). For each
executor it fits, over the partition sizes, wall time = a + b x partitions and queries = c + d x
partitions: b is the fixed cost of one partition (task round trip, and a resolver whose cache
starts cold: each partition resolves the shared provider hosts again), d the queries that costs.
The time fit assumes many partitions per worker: with few, the last ones run alone (the wall time
then depends on how the partitions fall), hence --size of at least 10 x the largest partition x
the workers (40,000 for 2,000 x 2); the query fit does not depend on it.
Everything runs on loopback. Needs: nsd, kdig, dask[distributed] (pip install 'souverain[dask]').
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench

DONE_RE = re.compile(r"(\d+) domains in ([\d.]+) s = (\d+) domains/s, (\d+) DNS queries")


def survey(work: Path, names: Path, label: str, extra: list[str], args) -> dict:
    db = work / f"dask-{label}.db"
    db.unlink(missing_ok=True)
    cmd = [args.souverain, "survey", "run", str(names), "--nameserver", f"127.0.0.1:{bench.PORT}",
           "--functions", "mail,dns", "--db", f"sqlite:///{db}", "--name", label, "--timeout", "2",
           "--concurrency", str(args.concurrency), *extra]  # not --quiet: it drops the "done:" summary read here
    started = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"survey failed: {' '.join(cmd)}\n{out.stderr[-2000:]}")
    m = DONE_RE.search(out.stderr)
    scanned, seconds, queries = int(m.group(1)), float(m.group(2)), int(m.group(4))
    db.unlink(missing_ok=True)
    return {"run": label, "domains": scanned, "scan_s": seconds, "process_s": round(time.monotonic() - started, 1),
            "domains_per_s": round(scanned / seconds), "queries": queries,
            "queries_per_domain": round(queries / max(1, scanned), 2)}


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares (intercept, slope)."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else 0.0
    return my - slope * mx, slope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=40_000, help="domains surveyed per run")
    parser.add_argument("--partitions", default="100,500,2000", help="comma-separated --partition-size values")
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes, and local --workers")
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--world", type=int, default=None, help="domains in the world (default: --size)")
    parser.add_argument("--world-kind", choices=tuple(bench.GENERATORS), default="synthetic")
    parser.add_argument("--work", type=Path, default=Path("/tmp/souverain-bench-dask"))
    parser.add_argument("--souverain", default="souverain")
    args = parser.parse_args()
    try:
        from dask.distributed import LocalCluster
    except ImportError:
        raise SystemExit("dask.distributed not found: pip install 'souverain[dask]'") from None
    sizes = [int(p) for p in args.partitions.split(",")]
    if len(sizes) < 2:
        raise SystemExit("--partitions: give at least two sizes to fit the cost of a partition")
    if args.size < 10 * max(sizes) * args.workers:
        print(f"note: {args.size} domains make few partitions of {max(sizes)} per worker: "
              "the time per partition is not reliable (the queries per partition are)", file=sys.stderr)
    bench.ensure_world(args.work, args.world or args.size, args.world_kind)
    names = args.work / f"dask-domains-{args.size}.txt"
    names.write_text("\n".join((args.work / "domains.txt").read_text().split("\n")[: args.size]) + "\n")
    warm = args.work / "dask-warm-up.txt"
    warm.write_text("\n".join((args.work / "domains.txt").read_text().split("\n")[:200]) + "\n")
    nsd = bench.start_nsd(args.work)
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    results: list[dict] = []
    try:
        address = cluster.scheduler_address
        dask = ["--executor", "dask", "--scheduler", address]
        survey(args.work, warm, "warm-up", [*dask, "--partition-size", "100"], args)
        for size in sizes:  # executors alternate, so a slow moment of the machine hits both
            for executor, extra in (("dask", dask), ("local", ["--workers", str(args.workers)])):
                result = survey(args.work, names, f"{executor}-p{size}", [*extra, "--partition-size", str(size)], args)
                result.update(executor=executor, partition_size=size, partitions=-(-args.size // size))
                results.append(result)
                print(json.dumps(result), flush=True)
        single = survey(args.work, names, "local-1", ["--workers", "1"], args)
        single.update(executor="local, 1 process", partition_size=None, partitions=None)
        results.append(single)
        print(json.dumps(single), flush=True)
    finally:
        cluster.close()
        os.killpg(nsd.pid, signal.SIGTERM)
        nsd.wait(30)
    print(f"\n{args.size:,} domains, {args.world_kind} world, {args.workers} workers, concurrency {args.concurrency}"
          f" ({os.cpu_count()} cores, {time.strftime('%Y-%m-%d')})\n")
    print("| executor | partition size | partitions | scan s | domains/s | queries/domain |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['executor']} | {r['partition_size'] or '–'} | {r['partitions'] or '–'} | {r['scan_s']} | "
              f"{r['domains_per_s']:,} | {r['queries_per_domain']} |")
    print("\n| executor | fixed cost per partition (ms) | extra queries per partition | time for the rest (s) |")
    print("|---|---:|---:|---:|")
    for executor in ("dask", "local"):
        rows = [r for r in results if r["executor"] == executor]
        parts = [r["partitions"] for r in rows]
        base, per_part = fit(parts, [r["scan_s"] for r in rows])
        _, queries_per_part = fit(parts, [r["queries"] for r in rows])
        print(f"| {executor} | {1000 * per_part:.0f} | {queries_per_part:.0f} | {base:.1f} |")


if __name__ == "__main__":
    main()
