"""IP-to-ASN table: build from CSV, look up IPv4 and IPv6, bundled snapshot sanity."""

from __future__ import annotations

import pytest

from souverain.errors import DataError
from souverain.kb import ipasn


def test_build_and_lookup(tmp_path):
    (tmp_path / "v4.csv").write_text('192.0.2.0,192.0.2.255,64500,"Example, Inc."\n198.51.100.0,198.51.100.127,64501,Other\n')
    (tmp_path / "v6.csv").write_text("2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,64500,\"Example, Inc.\"\n")
    meta = ipasn.build(tmp_path / "v4.csv", tmp_path / "v6.csv", tmp_path / "t.bin", {"date": "2026-11-28"})
    assert (meta["counts"]["v4"], meta["counts"]["v6"], meta["counts"]["asns"]) == (2, 1, 2)
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
    assert table.sources["asn"]["licence"] == "CC-BY-4.0" and table.sources["asn"]["date"]
    assert len(table) > 400_000
    assert table.lookup("8.8.8.8").asn == 15169
    assert table.lookup("2a01:4f8::1").asn == 24940


def _write_world(tmp_path):
    (tmp_path / "v4.csv").write_text(
        "192.0.2.0,192.0.2.255,64500,Example\n"
        "198.51.100.0,198.51.100.255,64504,Tie\n"
        "203.0.113.0,203.0.113.63,64501,Mixed\n"
        "203.0.113.64,203.0.113.255,64501,Mixed\n"
        "203.0.113.10,203.0.113.10,64509,Shadowed\n")  # inside another range: dropped
    (tmp_path / "v6.csv").write_text(
        "2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,64502,Six only\n"
        "2001:db9::,2001:db9::ffff,64503,Nowhere\n")
    (tmp_path / "c4.csv").write_text(
        "192.0.2.0,192.0.2.255,IT\n"
        "198.51.100.0,198.51.100.127,FR\n"  # 128 addresses FR, 128 DE: tie -> first code (DE)
        "198.51.100.128,198.51.100.255,DE\n"
        "203.0.113.0,203.0.113.63,US\n"  # 64 US, 192 NL: the larger share wins
        "203.0.113.64,203.0.113.255,NL\n")
    (tmp_path / "c6.csv").write_text("2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,SE\n")


def test_registration_country_by_address_space(tmp_path):
    _write_world(tmp_path)
    meta = ipasn.build(tmp_path / "v4.csv", tmp_path / "v6.csv", tmp_path / "t.bin", {"date": "2026-06-17"},
                       countries=(tmp_path / "c4.csv", tmp_path / "c6.csv"), country_source={"date": "2026-06-18"})
    assert meta["counts"]["asns_with_country"] == 4 and meta["counts"]["asns_with_several_countries"] == 2
    table = ipasn.IPASNTable.load(tmp_path / "t.bin")
    assert table.sources["country"]["date"] == "2026-06-18" and table.sources["asn"]["date"] == "2026-06-17"
    assert table.country_of(64501) == "NL"  # most of its IPv4 space
    assert table.country_of(64500) == "IT"
    assert table.country_of(64504) == "DE"  # a tie: the first code alphabetically
    assert table.country_of(64502) == "SE"  # IPv6 only
    assert table.country_of(64503) == ""  # no registration data covers it
    assert table.country_of(1) == ""
    hit = table.lookup("203.0.113.10")
    assert (hit.asn, hit.as_name, hit.country) == (64501, "Mixed", "NL")  # the AS's country, not the range's
    assert table.check() == []


def test_bad_country_rows(tmp_path):
    _write_world(tmp_path)
    (tmp_path / "c6.csv").write_text("2001:db8::,2001:db8::ffff,S1\n")
    with pytest.raises(DataError, match="c6.csv:1: 'S1' is not a two-letter country code"):
        ipasn.build(tmp_path / "v4.csv", tmp_path / "v6.csv", tmp_path / "t.bin", {},
                    countries=(tmp_path / "c4.csv", tmp_path / "c6.csv"), country_source={})
    assert not (tmp_path / "t.bin").exists() and not (tmp_path / "t.bin.partial").exists()


def test_format_1_tables_still_load(tmp_path):
    """A table written before countries existed: every lookup works, no AS has a country."""
    import json
    import zlib

    (tmp_path / "v4.csv").write_text("192.0.2.0,192.0.2.255,64500,Example\n")
    (tmp_path / "v6.csv").write_text("")
    ipasn.build(tmp_path / "v4.csv", tmp_path / "v6.csv", tmp_path / "t.bin", {"date": "2026-01-01"})
    raw = (tmp_path / "t.bin").read_bytes()
    header, _, body = raw.partition(b"\n")
    meta = json.loads(header)
    keep = sum(meta["sizes"][:7])
    assert zlib.decompress(body[sum(meta["sizes"][:6]):keep]).startswith(b"64500\t")
    old = {"format": 1, "source": meta["sources"]["asn"], "counts": meta["counts"], "sizes": meta["sizes"][:7]}
    (tmp_path / "old.bin").write_bytes(json.dumps(old).encode() + b"\n" + body[:keep])
    table = ipasn.IPASNTable.load(tmp_path / "old.bin")
    assert table.lookup("192.0.2.1").asn == 64500 and table.lookup("192.0.2.1").country == ""
    assert table.sources == {"asn": {"date": "2026-01-01"}}


def test_bundled_countries():
    table = ipasn.IPASNTable.load()
    assert table.sources["country"]["package"] == "@ip-location-db/asn-country"
    assert table.sources["country"]["licence"] == "CC-BY-4.0" and table.sources["country"]["date"]
    assert (table.names[12874], table.country_of(12874)) == ("Fastweb SpA", "IT")
    assert table.country_of(24940) == "DE" and table.country_of(16509) == "US"
    assert table.meta["counts"]["asns_with_country"] > 0.99 * table.meta["counts"]["routed_asns"]


def test_update_ipasn_records_both_sources(tmp_path):
    """`kb update-ipasn` reads both folders, records each package, version and date, and the
    country's licence as the NRO's CC BY 4.0 next to what the package declares."""
    import json

    from click.testing import CliRunner

    from souverain.cli.main import cli

    _write_world(tmp_path)
    asn_dir, country_dir = tmp_path / "asn", tmp_path / "country"
    asn_dir.mkdir(), country_dir.mkdir()
    (tmp_path / "v4.csv").rename(asn_dir / "asn-ipv4.csv")
    (tmp_path / "v6.csv").rename(asn_dir / "asn-ipv6.csv")
    (tmp_path / "c4.csv").rename(country_dir / "asn-country-ipv4.csv")
    (tmp_path / "c6.csv").rename(country_dir / "asn-country-ipv6.csv")
    (country_dir / "package.json").write_text(json.dumps(
        {"name": "@ip-location-db/asn-country", "version": "2.3.1", "license": "CC0-1.0"}))
    out = tmp_path / "t.bin"
    result = CliRunner().invoke(cli, ["kb", "update-ipasn", "--from", str(asn_dir), "--countries", str(country_dir),
                                      "--date", "2026-06-17", "--country-date", "2026-06-18", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["asns_with_country"] == 4
    table = ipasn.IPASNTable.load(out)
    assert table.sources["country"] == {"package": "@ip-location-db/asn-country", "version": "2.3.1",
                                        "package_licence": "CC0-1.0", "date": "2026-06-18", "licence": "CC-BY-4.0"}
    assert table.sources["asn"]["date"] == "2026-06-17" and table.sources["asn"]["package"] == "@ip-location-db/asn"
    assert table.country_of(64502) == "SE"


def test_check_finds_broken_tables():
    import array

    def table(v4_starts, v4_ends, countries=(), codes=b""):
        arrays = {"v4_starts": array.array("I", v4_starts), "v4_ends": array.array("I", v4_ends),
                  "v4_asns": array.array("I", [1] * len(v4_starts)), "v6_starts": array.array("Q"),
                  "v6_ends": array.array("Q"), "v6_asns": array.array("I"),
                  "country_asns": array.array("I", countries)}
        return ipasn.IPASNTable(arrays, {}, {}, codes)

    assert table([1, 10], [5, 20], [1], b"IT").check() == []
    assert "overlaps" in table([1, 4], [5, 20]).check()[0]
    assert table([], []).check() == ["no address range at all"]
    assert table([1], [5], [2, 1], b"ITFR").check() == ["countries: ASNs not in strictly ascending order"]
    assert table([1], [5], [1], b"I").check() == ["countries: codes and ASNs differ in length"]
    assert table([1], [5], [1], b"I1").check() == ["countries: a code is not two letters"]


def test_lookup_memo_is_bounded_and_answers_alike(tmp_path, monkeypatch):
    (tmp_path / "v4.csv").write_text('192.0.2.0,192.0.2.255,64500,"Example, Inc."\n')
    (tmp_path / "v6.csv").write_text("")
    ipasn.build(tmp_path / "v4.csv", tmp_path / "v6.csv", tmp_path / "t.bin", {"date": "2026-11-28"})
    table = ipasn.IPASNTable.load(tmp_path / "t.bin")
    monkeypatch.setattr(ipasn, "_MEMO_SIZE", 4)
    for n in range(20):
        address = f"192.0.2.{n}"
        assert table.lookup(address) == table._lookup(address) == table.lookup(address)
        assert table.lookup(address).address == address
    assert table.lookup("198.51.100.1") is None and table.lookup("198.51.100.1") is None
    assert len(table._memo) <= 4


def test_dotted_quad_fast_path_answers_as_ipaddress_does():
    """The text fast path (no ``ipaddress``) gives what the general path gives, refusals included."""
    import ipaddress
    import random

    table = ipasn.IPASNTable.bundled()
    rng = random.Random(7)
    texts = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(3000)]
    texts += ["8.8.8.8", "0.0.0.0", "255.255.255.255", "01.2.3.4", "1.2.3", "1.2.3.4.5", "::ffff:8.8.8.8",
              "2a00:1450:4001::1", " 8.8.8.8", "8.8.8.8 ", "example.com", ""]
    for text in texts:
        try:
            expected = table._lookup(ipaddress.ip_address(text))
        except ValueError:
            with pytest.raises(ValueError):
                table._lookup(text)
            continue
        assert table._lookup(text) == expected, text
