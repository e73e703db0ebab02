"""Offline IP address -> (prefix range, ASN, AS name, registration country) table, IPv4 and IPv6.

The bundled table joins two ip-location-db snapshots (see NOTICE): ``@ip-location-db/asn``
(ranges -> origin AS and its name; RouteViews, NRO, DB-IP Lite; CC BY 4.0) and
``@ip-location-db/asn-country`` (ranges -> the country the RIR delegation files register them
in; NRO data). IPv6 ranges are stored by their upper 64 bits: announced IPv6 prefixes are /64 or
shorter, so nothing routable is lost.

An AS's registration country is derived once, at build time: the country that the delegation
files give to most of the AS's IPv4 address space; an AS with no IPv4 space takes the country of
most of its IPv6 space (counted in /64s); ties go to the first code in alphabetical order. It says
where the holder registered its addresses, not who controls the holder: ownership is researched
in the KB, never read from this table.

File format (``ipasn.bin``): a JSON header line (``format``, ``sources`` with each source's
package, version, date and licence, ``counts``, ``sizes``), then zlib-compressed sections
(little-endian): v4 starts/ends/asns (uint32), v6 starts/ends (uint64, upper halves)/asns (uint32),
the AS names as newline-separated ``asn<TAB>name`` text, then (format 2) the ASNs that have a
registration country (uint32, ascending) and their country codes (two ASCII letters each, same
order). Format 1 tables (no countries) still load; their ASNs have no country.
"""

from __future__ import annotations

import array
import bisect
import csv
import dataclasses
import functools
import ipaddress
import json
import socket
import struct
import sys
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from souverain.errors import DataError

BUNDLED = Path(__file__).parent / "bundled" / "ipasn.bin"
SOURCE_FILES = ("asn-ipv4.csv", "asn-ipv6.csv")  # what ``build`` reads, in the @ip-location-db/asn layout
COUNTRY_FILES = ("asn-country-ipv4.csv", "asn-country-ipv6.csv")  # the @ip-location-db/asn-country layout
FORMAT = 2
_V4 = struct.Struct("!I")
_MEMO_SIZE = 2_048  # addresses remembered by ``lookup`` (cleared when full: bounded memory)
_SECTIONS_V1 = ("v4_starts", "v4_ends", "v4_asns", "v6_starts", "v6_ends", "v6_asns", "names")
_SECTIONS = (*_SECTIONS_V1, "country_asns", "country_codes")
_TYPECODES = {"v4_starts": "I", "v4_ends": "I", "v4_asns": "I", "v6_starts": "Q", "v6_ends": "Q", "v6_asns": "I",
              "country_asns": "I"}


@dataclasses.dataclass(frozen=True)
class ASNMatch:
    address: str
    asn: int
    as_name: str
    range_start: str
    range_end: str
    country: str = ""  # where the AS's address space is registered ("" when the table does not say)


def _dotted_quad(text: str) -> int | None:
    """The IPv4 address written in canonical dotted-quad text, as an integer; None for any other
    text (leading zeros included: ``ipaddress`` decides those)."""
    try:
        packed = socket.inet_pton(socket.AF_INET, text)
    except OSError:
        return None
    return _V4.unpack(packed)[0] if socket.inet_ntop(socket.AF_INET, packed) == text else None


class IPASNTable:
    """Sorted, non-overlapping address ranges with their origin AS, searched by bisection; each
    AS's name and registration country."""

    def __init__(self, arrays: dict[str, array.array[int]], names: dict[int, str], meta: dict[str, Any],
                 country_codes: bytes = b""):
        self._a = arrays
        self.names = names
        self.meta = meta
        self._codes = country_codes
        self._a.setdefault("country_asns", array.array("I"))
        # address text -> its match: a survey looks up the same provider addresses for thousands of domains
        self._memo: dict[str, ASNMatch | None] = {}

    # -- loading ----------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path = BUNDLED) -> IPASNTable:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise DataError(f"{path}: cannot read the IP-to-ASN table ({exc.strerror})") from exc
        try:
            return cls._parse(raw)
        except (ValueError, KeyError, TypeError, zlib.error) as exc:  # JSON, UTF-8, sizes, sections
            raise DataError(f"{path}: not an IP-to-ASN table ({exc}); "
                            "rebuild it with `souverain kb update-ipasn`") from exc

    @classmethod
    def _parse(cls, raw: bytes) -> IPASNTable:
        header_end = raw.index(b"\n")
        meta = json.loads(raw[:header_end])
        sections = _SECTIONS_V1 if meta["format"] == 1 else _SECTIONS
        if meta["format"] not in (1, FORMAT):
            raise ValueError(f"unknown format {meta['format']}")
        arrays: dict[str, array.array[int]] = {}
        offset = header_end + 1
        names: dict[int, str] = {}
        codes = b""
        for section, size in zip(sections, meta["sizes"], strict=True):
            blob = zlib.decompress(raw[offset : offset + size])
            offset += size
            if section == "names":
                for line in blob.decode("utf-8").splitlines():
                    asn, _, name = line.partition("\t")
                    names[int(asn)] = name
                continue
            if section == "country_codes":
                codes = blob
                continue
            values = array.array(_TYPECODES[section])
            values.frombytes(blob)
            if sys.byteorder != "little":  # pragma: no cover - big-endian hosts
                values.byteswap()
            arrays[section] = values
        return cls(arrays, names, meta, codes)

    @classmethod
    def bundled(cls) -> IPASNTable:
        """The bundled table, loaded once per process."""
        return _bundled_table()

    # -- metadata ---------------------------------------------------------------------------
    @property
    def sources(self) -> dict[str, dict[str, Any]]:
        """Each source of the table (``asn``, ``country``) with its package, date and licence."""
        if "sources" in self.meta:
            return dict(self.meta["sources"])
        return {"asn": dict(self.meta.get("source", {}))}  # format 1

    # -- queries ----------------------------------------------------------------------------
    def lookup(self, address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> ASNMatch | None:
        if type(address) is str:
            memo = self._memo
            if address in memo:
                return memo[address]
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            found = memo[address] = self._lookup(address)
            return found
        return self._lookup(address)

    def _lookup(self, address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> ASNMatch | None:
        if type(address) is str and (key := _dotted_quad(address)) is not None:
            return self._match(key, 4, address)  # the usual case, without ``ipaddress``
        ip = ipaddress.ip_address(address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return self._match(int(ip) if ip.version == 4 else int(ip) >> 64, ip.version, str(ip))

    def _match(self, key: int, version: int, text: str) -> ASNMatch | None:
        """The range holding ``key`` (an IPv4 address, or the top 64 bits of an IPv6 one)."""
        prefix = "v4" if version == 4 else "v6"
        starts, ends, asns = (self._a[f"{prefix}_{part}"] for part in ("starts", "ends", "asns"))
        index = bisect.bisect_right(starts, key) - 1
        if index < 0 or key > ends[index]:
            return None
        asn = asns[index]
        if version == 4:
            lo, hi = socket.inet_ntoa(_V4.pack(starts[index])), socket.inet_ntoa(_V4.pack(ends[index]))
        else:
            lo = str(ipaddress.IPv6Address(starts[index] << 64))
            hi = str(ipaddress.IPv6Address((ends[index] << 64) | (2**64 - 1)))
        return ASNMatch(text, asn, self.names.get(asn, ""), lo, hi, self.country_of(asn))

    def country_of(self, asn: int) -> str:
        """The AS's registration country (ISO 3166 code), "" when the table does not give one."""
        asns = self._a["country_asns"]
        index = bisect.bisect_left(asns, asn)
        if index == len(asns) or asns[index] != asn:
            return ""
        return self._codes[2 * index : 2 * index + 2].decode("ascii")

    def prefixes_of(self, asn: int, version: int = 4) -> Iterator[tuple[str, str]]:
        """Address ranges originated by ``asn`` (used by test worlds to pick stand-in addresses)."""
        prefix = "v4" if version == 4 else "v6"
        starts, ends, asns = (self._a[f"{prefix}_{part}"] for part in ("starts", "ends", "asns"))
        for index, value in enumerate(asns):
            if value == asn:
                if version == 4:
                    yield str(ipaddress.IPv4Address(starts[index])), str(ipaddress.IPv4Address(ends[index]))
                else:
                    yield (
                        str(ipaddress.IPv6Address(starts[index] << 64)),
                        str(ipaddress.IPv6Address((ends[index] << 64) | (2**64 - 1))),
                    )

    def __len__(self) -> int:
        return len(self._a["v4_starts"]) + len(self._a["v6_starts"])

    def check(self) -> list[str]:
        """What is wrong with the table's invariants (empty when it is sound)."""
        problems = []
        for prefix in ("v4", "v6"):
            starts, ends, asns = (self._a[f"{prefix}_{part}"] for part in ("starts", "ends", "asns"))
            if not len(starts) == len(ends) == len(asns):
                problems.append(f"{prefix}: starts, ends and asns differ in length")
                continue
            for index in range(len(starts)):
                if ends[index] < starts[index] or (index and starts[index] <= ends[index - 1]):
                    problems.append(f"{prefix}: range {index} is empty, unsorted or overlaps the previous one")
                    break
        countries = self._a["country_asns"]
        if len(self._codes) != 2 * len(countries):
            problems.append("countries: codes and ASNs differ in length")
        if any(countries[i] <= countries[i - 1] for i in range(1, len(countries))):
            problems.append("countries: ASNs not in strictly ascending order")
        if not self._codes.isalpha() and self._codes:
            problems.append("countries: a code is not two letters")
        if not len(self):
            problems.append("no address range at all")
        return problems


@functools.cache
def _bundled_table() -> IPASNTable:
    return IPASNTable.load(BUNDLED)


# -- building ---------------------------------------------------------------------------------
def _read_csv(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a CSV file, decoded one line at a time so errors name their line."""
    position = {"line": 0}

    def lines(handle: IO[bytes]) -> Iterator[str]:
        for position["line"], raw in enumerate(handle, start=1):
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}:{position['line']}: not UTF-8 text") from exc

    with path.open("rb") as handle:
        try:
            for row in csv.reader(lines(handle)):
                yield position["line"], row
        except csv.Error as exc:
            raise DataError(f"{path}:{position['line']}: {exc}") from exc


def _parse_range(path: Path, line_no: int, row: list[str], version: int) -> tuple[int, int]:
    try:
        start, end = ipaddress.ip_address(row[0]), ipaddress.ip_address(row[1])
    except ValueError as exc:
        raise DataError(f"{path}:{line_no}: {exc}") from exc
    if start.version != version or end.version != version:
        raise DataError(f"{path}:{line_no}: expected IPv{version} addresses")
    if int(start) > int(end):  # same version, checked above
        raise DataError(f"{path}:{line_no}: the range starts after it ends")
    return int(start), int(end)


def _read_rows(path: Path, version: int) -> Iterable[tuple[int, int, int, str]]:
    for line_no, row in _read_csv(path):
        if len(row) < 3:
            raise DataError(f"{path}:{line_no}: expected start,end,asn[,name]")
        start, end = _parse_range(path, line_no, row, version)
        try:
            asn = int(row[2])
        except ValueError as exc:
            raise DataError(f"{path}:{line_no}: {exc}") from exc
        if not 0 <= asn < 2**32:
            raise DataError(f"{path}:{line_no}: AS number {asn} out of range")
        yield start, end, asn, row[3] if len(row) > 3 else ""


def _read_country_rows(path: Path, version: int) -> Iterable[tuple[int, int, str]]:
    for line_no, row in _read_csv(path):
        if len(row) != 3:
            raise DataError(f"{path}:{line_no}: expected start,end,country")
        start, end = _parse_range(path, line_no, row, version)
        code = row[2].strip().upper()
        if len(code) != 2 or not code.isascii() or not code.isalpha():
            raise DataError(f"{path}:{line_no}: {row[2]!r} is not a two-letter country code")
        yield start, end, code


def _space_by_country(starts: Sequence[int], ends: Sequence[int], asns: Sequence[int],
                      countries: list[tuple[int, int, str]]) -> dict[int, Counter[str]]:
    """For each AS, how much of its address space each country's ranges cover (sorted sweep)."""
    space: dict[int, Counter[str]] = {}
    first = 0
    for start, end, asn in zip(starts, ends, asns, strict=True):
        while first < len(countries) and countries[first][1] < start:
            first += 1
        index = first
        while index < len(countries) and countries[index][0] <= end:
            c_start, c_end, code = countries[index]
            covered = min(end, c_end) - max(start, c_start) + 1
            if covered > 0:
                space.setdefault(asn, Counter())[code] += covered
            index += 1
    return space


def _registration_countries(v4: dict[int, Counter[str]], v6: dict[int, Counter[str]]) -> tuple[dict[int, str], int]:
    """Each AS's country (see the module docstring for the rule) and how many ASes span several."""
    chosen: dict[int, str] = {}
    mixed = 0
    for asn in v4.keys() | v6.keys():
        space = v4.get(asn) or v6[asn]
        chosen[asn] = min(space.items(), key=lambda item: (-item[1], item[0]))[0]
        mixed += len(space) > 1
    return chosen, mixed


def build(v4_csv: Path, v6_csv: Path, out: Path, source: dict[str, Any],
          countries: tuple[Path, Path] | None = None, country_source: dict[str, Any] | None = None) -> dict[str, Any]:
    """Convert ``start,end,asn,name`` CSV files (dotted addresses), and optionally the
    ``start,end,country`` files of the country table, into the bundled format; the written table
    is loaded back and checked before it replaces ``out``."""
    arrays = {section: array.array(code) for section, code in _TYPECODES.items()}
    names: dict[int, str] = {}
    space: dict[str, dict[int, Counter[str]]] = {}
    for prefix, path, shift in (("v4", v4_csv, 0), ("v6", v6_csv, 64)):
        last_end = -1
        rows = sorted(_read_rows(path, 4 if prefix == "v4" else 6))
        for start, end, asn, name in rows:
            start, end = start >> shift, end >> shift
            if start <= last_end:  # overlapping or collapsed (narrower than /64) range
                continue
            arrays[f"{prefix}_starts"].append(start)
            arrays[f"{prefix}_ends"].append(end)
            arrays[f"{prefix}_asns"].append(asn)
            last_end = end
            if name:
                names.setdefault(asn, name)
        if countries is not None:
            version = 4 if prefix == "v4" else 6
            ranges = sorted((start >> shift, end >> shift, code)
                            for start, end, code in _read_country_rows(countries[0 if version == 4 else 1], version))
            space[prefix] = _space_by_country(arrays[f"{prefix}_starts"], arrays[f"{prefix}_ends"],
                                              arrays[f"{prefix}_asns"], ranges)
    chosen, mixed = _registration_countries(space.get("v4", {}), space.get("v6", {}))
    arrays["country_asns"].extend(sorted(chosen))
    codes = "".join(chosen[asn] for asn in arrays["country_asns"]).encode("ascii")
    blobs = []
    for section in _SECTIONS:
        if section == "names":
            payload = "\n".join(f"{asn}\t{name}" for asn, name in sorted(names.items())).encode("utf-8")
        elif section == "country_codes":
            payload = codes
        else:
            values = arrays[section]
            if sys.byteorder != "little":  # pragma: no cover
                values.byteswap()
            payload = values.tobytes()
        blobs.append(zlib.compress(payload, 9))
    sources = {"asn": source}
    if country_source is not None:
        sources["country"] = country_source
    routed = set(arrays["v4_asns"]) | set(arrays["v6_asns"])
    meta = {
        "format": FORMAT,
        "sources": sources,
        "counts": {"v4": len(arrays["v4_starts"]), "v6": len(arrays["v6_starts"]), "asns": len(names),
                   "routed_asns": len(routed), "asns_with_country": len(chosen),
                   "asns_with_several_countries": mixed},
        "sizes": [len(blob) for blob in blobs],
    }
    partial = out.with_name(out.name + ".partial")  # never leave a half-written table behind
    partial.write_bytes(json.dumps(meta, sort_keys=True).encode() + b"\n" + b"".join(blobs))
    try:
        problems = IPASNTable.load(partial).check()
    except DataError:
        partial.unlink()
        raise
    if problems:
        partial.unlink()
        raise DataError(f"{out}: the rebuilt table fails its checks: {'; '.join(problems)}")
    partial.replace(out)
    return meta
