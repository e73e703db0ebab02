"""Cost of `scan --browser` per page, against the static fetch of the same page in the same run.

Runs on the loopback test world (tests/data/world): a DNS server and an HTTPS server with a
test CA, both on 127.0.0.1, so the figures are the browser's own cost, not the network's.
For each round it times the static fetch (collect.web.fetch_site, the reference) and a
browser run (collect.browser.browse) of https://www.dynamic.test/, and samples the Chromium
process group (proportional set size, CPU time) every 0.1 s from /proc.

    python benchmarks/browser/bench.py --rounds 5 --settle 2

Prints one JSON line per round and a Markdown summary (medians).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path

from souverain.collect import browser as browser_module
from souverain.collect.browser import BrowserOptions, browse
from souverain.collect.dns import Resolver
from souverain.collect.web import ConnectMap, fetch_site
from souverain.testing.dnsserver import DNSServer
from souverain.testing.httpserver import TestCA, WebServer

WORLD = Path(__file__).parents[2] / "tests" / "data" / "world"
PAGE_HOST = "www.dynamic.test"
_TICK = os.sysconf("SC_CLK_TCK")


def group_usage(group: int) -> tuple[int, float]:
    """(proportional set size in bytes, CPU seconds) of the live processes in a process group.
    PSS shares the pages processes have in common among them, so the sum is not inflated."""
    pss, cpu = 0, 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != group or fields[0] == "Z":
                continue
            cpu += (int(fields[11]) + int(fields[12])) / _TICK
            rollup = (stat.parent / "smaps_rollup").read_text()
        except OSError:
            continue
        pss += next((int(line.split()[1]) * 1024 for line in rollup.splitlines() if line.startswith("Pss:")), 0)
    return pss, cpu


async def one_round(dns: DNSServer, ca: TestCA, web: WebServer, options: BrowserOptions) -> dict:
    connect_map = ConnectMap.parse(web.connect_to())
    async with Resolver([("127.0.0.1", dns.port)], timeout=0.5, retries=1) as resolver:
        async def resolve(host: str) -> list[str]:
            a, aaaa = await asyncio.gather(resolver.query(host, "A"), resolver.query(host, "AAAA"))
            return aaaa.values("AAAA") + a.values("A")

        started = time.perf_counter()
        site = await fetch_site(PAGE_HOST, await resolve(PAGE_HOST), connect_map=connect_map,
                                ca_file=ca.ca_file, resolve=resolve)
        static_s = time.perf_counter() - started
        assert site.status == 200, site

        peak = {"pss": 0, "cpu": 0.0}
        groups: list[int] = []
        real_start = browser_module._Chromium.start

        async def start(self, executable, flags):
            await real_start(self, executable, flags)
            groups.append(self.process.pid)

        async def sample() -> None:
            while True:
                if groups:
                    pss, cpu = group_usage(groups[0])
                    peak["pss"] = max(peak["pss"], pss)
                    peak["cpu"] = max(peak["cpu"], cpu)
                await asyncio.sleep(0.1)

        browser_module._Chromium.start = start
        sampler = asyncio.ensure_future(sample())
        try:
            started = time.perf_counter()
            result = await browse(site.final_url, resolve=resolve, connect_map=connect_map,
                                  ca_file=ca.ca_file, options=options)
            browser_s = time.perf_counter() - started
        finally:
            sampler.cancel()
            browser_module._Chromium.start = real_start
    assert result.outcome == "ok", result.error
    return {"static_s": round(static_s, 3), "browser_s": round(browser_s, 3),
            "ratio": round(browser_s / static_s, 1), "requests": len(result.requests),
            "hosts": len({r.host for r in result.requests}),
            "refused": sum(1 for c in result.connections if c.status == "refused"),
            "peak_pss_mb": round(peak["pss"] / 1e6), "cpu_s": round(peak["cpu"], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--chromium", default=browser_module.DEFAULT_CHROMIUM)
    args = parser.parse_args()
    options = BrowserOptions(chromium=args.chromium, settle=args.settle)
    dns, ca = DNSServer(WORLD / "zones").start(), TestCA()
    web = WebServer(WORLD / "sites", ca).start()
    rows = []
    try:
        for _ in range(args.rounds):
            rows.append(asyncio.run(one_round(dns, ca, web, options)))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        web.stop()
        dns.stop()
        ca.cleanup()
    median = {key: statistics.median(row[key] for row in rows) for key in rows[0]}
    print(f"\n| settle | static fetch | browser run | ratio | requests | hosts | refused background "
          f"| peak PSS (Chromium group) | CPU |\n|---|---|---|---|---|---|---|---|---|\n"
          f"| {args.settle:g} s | {median['static_s']:.3f} s | {median['browser_s']:.2f} s "
          f"| {median['ratio']:.0f}x | {median['requests']:g} | {median['hosts']:g} | {median['refused']:g} "
          f"| {median['peak_pss_mb']:g} MB | {median['cpu_s']:.2f} s |")


if __name__ == "__main__":
    main()
