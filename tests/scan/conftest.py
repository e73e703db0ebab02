"""The test world: a DNS server on 127.0.0.1 serving tests/data/world/zones (providers and organisations)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from souverain.kb.base import load_kb
from souverain.kb.ipasn import IPASNTable
from souverain.model.scan import ScanResult
from souverain.scan import ScanOptions, scan_domains

WORLD = Path(__file__).parents[1] / "data" / "world"


@pytest.fixture(scope="session")
def ip_table():
    return IPASNTable.load()


class ScanDocument(dict):
    """A scan's JSON form (what ``--format json`` writes), with the ``ScanResult`` it was written from."""

    def __init__(self, model: ScanResult) -> None:
        super().__init__(model.as_dict())
        self.model = model


@pytest.fixture(scope="session")
def scan_world(world_dns, ip_table):
    """scan(*domains, **options) -> a ScanDocument, DNS only unless web options are given."""
    cache: dict = {}

    def run(*domains: str, **overrides):
        key = (domains, tuple(sorted(overrides.items())))
        if key not in cache:
            settings = {"fetch_web": False, **overrides}
            if "connect_to" in settings:
                settings["connect_to"] = list(settings["connect_to"])
            options = ScanOptions(nameservers=[("127.0.0.1", world_dns.port)], timeout=0.3, retries=1,
                                  at=dt.date(2026, 11, 28), **settings)
            cache[key] = ScanDocument(asyncio.run(scan_domains(load_kb(), list(domains), options, ip_table)))
        return cache[key]

    return run


def deps(result: dict, domain: str, function: str) -> list[dict]:
    return [d for d in result["dependencies"] if d["domain"] == domain and d["function"] == function]


def one(result: dict, domain: str, function: str) -> dict:
    found = deps(result, domain, function)
    assert len(found) == 1, found
    return found[0]
