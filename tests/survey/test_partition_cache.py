"""Partitions of one run share the shared DNS answers (names asked by several domains) within a
worker (--workers, Dask), and only those."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from souverain.collect.dns import Resolver
from souverain.survey.runner import SurveyOptions, partition_rows, run_async, scan_partition
from souverain.testing.dnsserver import DNSServer


def _zones(tmp_path: Path) -> Path:
    zones = tmp_path / "zones"
    zones.mkdir()
    lines = ["$ORIGIN shared.test.", "$TTL 300", "@ IN SOA ns1 hostmaster 1 3600 600 86400 300", "@ IN NS ns1",
             "ns1 IN A 192.0.2.53", "mx IN A 192.0.2.25", 'spf IN TXT "v=spf1 ip4:192.0.2.0/24 -all"']
    for n in range(20):
        lines += [f"d{n} IN MX 10 mx.shared.test.", f'd{n} IN TXT "v=spf1 include:spf.shared.test -all"']
    (zones / "shared.test.zone").write_text("\n".join(lines) + "\n")
    return zones


def test_second_partition_of_a_run_reuses_the_shared_answers(tmp_path):
    server = DNSServer(_zones(tmp_path)).start()
    try:
        options = SurveyOptions(nameservers=[("127.0.0.1", server.port)], functions=("mail",),
                                at=dt.date(2026, 12, 1), timeout=1.0).as_dict()
        first_half = [f"d{n}.shared.test" for n in range(10)]
        second_half = [f"d{n}.shared.test" for n in range(10, 20)]
        alone = scan_partition(second_half, options, None, "run-a")  # a run of its own: asks everything
        first = scan_partition(first_half, options, None, "run-b")
        second = scan_partition(second_half, options, None, "run-b")  # same run: provider answers known
        fresh = scan_partition(second_half, options, None, "run-c")  # another run starts from nothing
    finally:
        server.stop()
    assert second["dns_queries"] < alone["dns_queries"] == fresh["dns_queries"]
    assert first["dns_queries"] == alone["dns_queries"]
    # the answers are the same whichever resolver asked
    def strip(rows):
        return sorted((r.domain, r.status, r.mail_status, r.mail_service, r.foreign_laws) for r in partition_rows(rows))

    assert strip(second) == strip(alone)
    assert {r.mail_status for r in partition_rows(second)} != {None}


def test_only_names_asked_again_are_carried(tmp_path):
    server = DNSServer(_zones(tmp_path)).start()

    async def ask() -> list:
        async with Resolver([("127.0.0.1", server.port)], timeout=1.0) as resolver:
            for n in range(3):
                await resolver.query(f"d{n}.shared.test", "MX")  # each domain's own name: once
                await resolver.query("mx.shared.test", "A")  # the provider host: again and again
            return resolver.shared_answers()

    try:
        shared = run_async(ask())
    finally:
        server.stop()
    assert [(a.name, a.rdtype, a.status) for a in shared] == [("mx.shared.test", "A", "NOERROR")]
    assert shared[0].values("A") == ["192.0.2.25"]
