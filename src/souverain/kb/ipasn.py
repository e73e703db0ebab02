"""Offline IP address -> (prefix range, ASN, AS name) table, IPv4 and IPv6.

The bundled table is built from the CC BY 4.0 ``@ip-location-db/asn`` data (RouteViews, NRO
delegation files and DB-IP IP-to-ASN Lite), see NOTICE. IPv6 ranges are stored by their upper
64 bits: announced IPv6 prefixes are /64 or shorter, so nothing routable is lost.

File format (``ipasn.bin``): a JSON header line, then zlib-compressed arrays (little-endian):
v4 starts/ends/asns (uint32), v6 starts/ends (uint64, upper halves)/asns (uint32), and the AS
names as newline-separated ``asn<TAB>name`` text.
"""

from __future__ import annotations

import array
import bisect
import csv
import dataclasses
import functools
import ipaddress
import json
import sys
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from souverain.errors import DataError

BUNDLED = Path(__file__).parent / "bundled" / "ipasn.bin"
SOURCE_FILES = ("asn-ipv4.csv", "asn-ipv6.csv")  # what ``build`` reads, in the @ip-location-db/asn layout
_SECTIONS = ("v4_starts", "v4_ends", "v4_asns", "v6_starts", "v6_ends", "v6_asns", "names")
_TYPECODES = {"v4_starts": "I", "v4_ends": "I", "v4_asns": "I", "v6_starts": "Q", "v6_ends": "Q", "v6_asns": "I"}


@dataclasses.dataclass(frozen=True)
class ASNMatch:
    address: str
    asn: int
    as_name: str
    range_start: str
    range_end: str


class IPASNTable:
    """Sorted, non-overlapping address ranges with their origin AS, searched by bisection."""

    def __init__(self, arrays: dict[str, array.array[int]], names: dict[int, str], meta: dict[str, Any]):
        self._a = arrays
        self.names = names
        self.meta = meta

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
        arrays: dict[str, array.array[int]] = {}
        offset = header_end + 1
        names: dict[int, str] = {}
        for section, size in zip(_SECTIONS, meta["sizes"], strict=True):
            blob = zlib.decompress(raw[offset : offset + size])
            offset += size
            if section == "names":
                for line in blob.decode("utf-8").splitlines():
                    asn, _, name = line.partition("\t")
                    names[int(asn)] = name
                continue
            values = array.array(_TYPECODES[section])
            values.frombytes(blob)
            if sys.byteorder != "little":  # pragma: no cover - big-endian hosts
                values.byteswap()
            arrays[section] = values
        return cls(arrays, names, meta)

    @classmethod
    def bundled(cls) -> IPASNTable:
        """The bundled table, loaded once per process."""
        return _bundled_table()

    # -- queries ----------------------------------------------------------------------------
    def lookup(self, address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> ASNMatch | None:
        ip = ipaddress.ip_address(address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if ip.version == 4:
            key, prefix = int(ip), "v4"
        else:
            key, prefix = int(ip) >> 64, "v6"
        starts, ends, asns = (self._a[f"{prefix}_{part}"] for part in ("starts", "ends", "asns"))
        index = bisect.bisect_right(starts, key) - 1
        if index < 0 or key > ends[index]:
            return None
        asn = asns[index]
        if ip.version == 4:
            lo, hi = str(ipaddress.IPv4Address(starts[index])), str(ipaddress.IPv4Address(ends[index]))
        else:
            lo = str(ipaddress.IPv6Address(starts[index] << 64))
            hi = str(ipaddress.IPv6Address((ends[index] << 64) | (2**64 - 1)))
        return ASNMatch(str(ip), asn, self.names.get(asn, ""), lo, hi)

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


@functools.cache
def _bundled_table() -> IPASNTable:
    return IPASNTable.load(BUNDLED)


# -- building ---------------------------------------------------------------------------------
def _read_rows(path: Path, version: int) -> Iterable[tuple[int, int, int, str]]:
    position = {"line": 0}

    def lines(handle: IO[bytes]) -> Iterator[str]:  # decoded one line at a time: errors name their line
        for position["line"], raw in enumerate(handle, start=1):
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}:{position['line']}: not UTF-8 text") from exc

    with path.open("rb") as handle:
        try:
            for row in csv.reader(lines(handle)):
                yield _parse_row(path, position["line"], row, version)
        except csv.Error as exc:
            raise DataError(f"{path}:{position['line']}: {exc}") from exc


def _parse_row(path: Path, line_no: int, row: list[str], version: int) -> tuple[int, int, int, str]:
    if len(row) < 3:
        raise DataError(f"{path}:{line_no}: expected start,end,asn[,name]")
    try:
        start, end = ipaddress.ip_address(row[0]), ipaddress.ip_address(row[1])
        asn = int(row[2])
    except ValueError as exc:
        raise DataError(f"{path}:{line_no}: {exc}") from exc
    if start.version != version or end.version != version:
        raise DataError(f"{path}:{line_no}: expected IPv{version} addresses")
    if int(start) > int(end):  # same version, checked above
        raise DataError(f"{path}:{line_no}: the range starts after it ends")
    if not 0 <= asn < 2**32:
        raise DataError(f"{path}:{line_no}: AS number {asn} out of range")
    return int(start), int(end), asn, row[3] if len(row) > 3 else ""


def build(v4_csv: Path, v6_csv: Path, out: Path, source: dict[str, Any]) -> dict[str, Any]:
    """Convert ``start,end,asn,name`` CSV files (dotted addresses) into the bundled format."""
    arrays = {section: array.array(code) for section, code in _TYPECODES.items()}
    names: dict[int, str] = {}
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
    blobs = []
    for section in _SECTIONS:
        if section == "names":
            text = "\n".join(f"{asn}\t{name}" for asn, name in sorted(names.items()))
            payload = text.encode("utf-8")
        else:
            values = arrays[section]
            if sys.byteorder != "little":  # pragma: no cover
                values.byteswap()
            payload = values.tobytes()
        blobs.append(zlib.compress(payload, 9))
    meta = {
        "format": 1,
        "source": source,
        "counts": {"v4": len(arrays["v4_starts"]), "v6": len(arrays["v6_starts"]), "asns": len(names)},
        "sizes": [len(blob) for blob in blobs],
    }
    partial = out.with_name(out.name + ".partial")  # never leave a half-written table behind
    partial.write_bytes(json.dumps(meta, sort_keys=True).encode() + b"\n" + b"".join(blobs))
    partial.replace(out)
    return meta
