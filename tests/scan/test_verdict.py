"""The survey's verdict-only shortcut agrees with the full summary on every test-world domain."""

from __future__ import annotations

import asyncio
import datetime as dt

from souverain.assess.organisation import summarise, verdict
from souverain.collect.dns import Resolver
from souverain.kb.base import load_kb
from souverain.scan import ScanOptions, collect_options, scan_one
from tests.scan.conftest import WORLD


def test_verdict_equals_the_summary_verdict(world_dns, ip_table):
    kb = load_kb()
    names = sorted(path.stem for path in (WORLD / "zones").glob("*.test.zone"))
    options = ScanOptions(nameservers=[("127.0.0.1", world_dns.port)], timeout=0.3, retries=0, fetch_web=False,
                          at=dt.date(2026, 11, 28))

    async def go() -> list[tuple[str, str, str]]:
        async with Resolver(options.nameservers, timeout=0.3, retries=0) as resolver:
            collect = collect_options(kb, options, None)
            out = []
            for name in names:
                _, deps = await scan_one(kb, resolver, name, options, collect, ip_table)
                out.append((name, summarise(kb, deps, options.at, alternatives=False).verdict, verdict(kb, deps)))
            return out

    found = asyncio.run(go())
    assert len(found) > 20 and {v for _, v, _ in found} >= {"exposed", "not-exposed"}
    assert [(n, a) for n, a, b in found if a != b] == []
