"""IP-to-ASN table: build from CSV, look up IPv4 and IPv6, bundled snapshot sanity."""

from __future__ import annotations

import pytest

from souverain.errors import DataError
from souverain.kb import ipasn


def test_build_and_lookup(tmp_path):
    (tmp_path / "v4.csv").write_text('192.0.2.0,192.0.2.255,64500,"Example, Inc."\n198.51.100.0,198.51.100.127,64501,Other\n')
    (tmp_path / "v6.csv").write_text("2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,64500,\"Example, Inc.\"\n")
    meta = ipasn.build(tmp_path / "v4.csv", tmp_path / "v6.csv", tmp_path / "t.bin", {"date": "2026-11-28"})
    assert meta["counts"] == {"v4": 2, "v6": 1, "asns": 2}
    table = ipasn.IPASNTable.load(tmp_path / "t.bin")
    assert table.lookup("192.0.2.77").asn == 64500
    assert table.lookup("192.0.2.77").as_name == "Example, Inc."
    assert table.lookup("198.51.100.128") is None  # just past the range end
    assert table.lookup("2001:db8:1::5").asn == 64500
    assert table.lookup("::ffff:192.0.2.1").asn == 64500  # IPv4-mapped IPv6
    assert table.lookup("2001:db9::1") is None
    assert list(table.prefixes_of(64501)) == [("198.51.100.0", "198.51.100.127")]


def test_malformed_csv(tmp_path):
    (tmp_path / "v4.csv").write_text("192.0.2.0,not-an-ip,64500,x\n")
    (tmp_path / "v6.csv").write_text("")
    with pytest.raises(DataError, match="v4.csv:1"):
        ipasn.build(tmp_path / "v4.csv", tmp_path / "v6.csv", tmp_path / "t.bin", {})


def test_bundled_table():
    table = ipasn.IPASNTable.load()
    assert table.meta["source"]["licence"] == "CC-BY-4.0" and table.meta["source"]["date"]
    assert len(table) > 400_000
    assert table.lookup("8.8.8.8").asn == 15169
    assert table.lookup("2a01:4f8::1").asn == 24940
