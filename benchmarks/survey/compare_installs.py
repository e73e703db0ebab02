"""Survey throughput of several souverain installs, alternated against one NSD in one run.

    python benchmarks/survey/compare_installs.py --size 100000 --rounds 3 \
        plain-before=/tmp/plain-before/bin/souverain:plain \
        plain=/tmp/plain-after/bin/souverain:plain \
        tuned=souverain:--workers=2,--concurrency=500

Each ``LABEL=EXECUTABLE:SETTINGS`` is one install and its settings: ``plain`` passes no tuning
option (what a user of a plain ``pip install`` gets), otherwise a comma-separated list of survey
options. Runs alternate (round 1: every install, round 2: every install...) so that drift on a
shared machine hits each install alike; dnsperf is measured against the same server before the
rounds. Run-to-run spread on the 2-core machine is about +/-15 %: compare medians, not single runs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
from pathlib import Path

import bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("installs", nargs="+", metavar="LABEL=EXECUTABLE:SETTINGS")
    parser.add_argument("--world", type=int, default=400_000)
    parser.add_argument("--world-kind", choices=tuple(bench.GENERATORS), default="synthetic")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/souverain-bench"))
    args = parser.parse_args()
    installs = []
    for spec in args.installs:
        label, _, rest = spec.partition("=")
        executable, _, settings = rest.partition(":")
        extra = [] if settings in ("", "plain") else settings.split(",")
        installs.append((label, executable, [part for item in extra for part in item.split("=", 1)]))
    bench.ensure_world(args.work, args.world, args.world_kind)
    nsd = bench.start_nsd(args.work)
    results: dict[str, list[dict]] = {label: [] for label, _, _ in installs}
    try:
        reference = bench.dnsperf(args.work)
        for round_no in range(1, args.rounds + 1):
            for label, executable, extra in installs:
                result = bench.survey(args.work, args.size, None, None, extra, executable)
                result.update(label=label, round=round_no, dnsperf_qps=round(reference),
                              ratio_to_dnsperf=round(result["queries_per_s"] / reference, 3))
                results[label].append(result)
                print(json.dumps(result), flush=True)
    finally:
        os.killpg(nsd.pid, signal.SIGTERM)
        nsd.wait(30)
    print(f"\n| install | settings | domains/s (median of {args.rounds}; runs) | queries/s (median) | "
          f"ratio to dnsperf ({round(reference):,} q/s) | queries/domain | peak RSS sum (MB) | peak PSS sum (MB) | "
          "CPU µs/domain: workers, parent, NSD |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, executable, extra in installs:
        runs = results[label]
        rates = [r["domains_per_s"] for r in runs]
        qps = statistics.median(r["queries_per_s"] for r in runs)
        print(f"| {label} | {' '.join(extra) or 'defaults'} | {statistics.median(rates):,.0f} "
              f"({', '.join(f'{r:,}' for r in rates)}) | {qps:,.0f} | {qps / reference:.1%} | "
              f"{statistics.median(r['queries_per_s'] / r['domains_per_s'] for r in runs):.2f} | "
              f"{max(r['peak_rss_mb'] for r in runs)} | {max(r['peak_pss_mb'] for r in runs)} | "
              + ", ".join(f"{statistics.median(r['cpu_us_per_domain'][part] for r in runs):,.0f}"
                          for part in ("workers", "parent", "nsd")) + " |")


if __name__ == "__main__":
    main()
