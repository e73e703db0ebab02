"""DNS wire format: build queries and parse only what the collectors read (RFC 1035 and friends).

Hand-written because parsing dominates a Python scanner's cost (a full ``dns.message.from_wire``
takes ~135 us a message on this kind of machine); this parser reads the answer section only and
decodes just the record types souverain uses. Everything read from the wire is untrusted: every
offset is bounds-checked, compression pointers may only point backwards, and a name longer than
255 octets or a pointer loop raises ``WireError``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import socket
import struct

from souverain.model.evidence import Record  # one record of an answer, kept as evidence

TYPES = {
    "A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33,
    "OPT": 41, "CAA": 257,
}
TYPE_NAMES = {value: key for key, value in TYPES.items()}
_QUESTION_TAILS = {name: struct.pack("!HH", value, 1) for name, value in TYPES.items()}  # type, class IN
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
EDNS_PAYLOAD = 1232  # the DNS flag day 2020 value: avoids IP fragmentation


class WireError(ValueError):
    """A malformed or hostile DNS message."""


@dataclasses.dataclass(frozen=True)
class Response:
    id: int
    rcode: str
    truncated: bool
    authoritative: bool
    question: tuple[str, str] | None
    answers: tuple[Record, ...]


def encode_name(name: str) -> bytes:
    """Wire form of a name in presentation format: ``\\DDD`` and ``\\X`` escapes (as ``read_name``
    writes them for bytes that are not plain) stand for the byte itself, so a name read from an
    answer is asked again exactly as it was received."""
    out = bytearray()
    try:
        if "\\" in name:
            labels = _split_labels(name)
        else:
            stripped = name.rstrip(".")
            labels = stripped.encode("ascii").split(b".") if stripped else []
    except UnicodeEncodeError as exc:
        raise WireError(f"not an ASCII name: {name!r}") from exc
    for raw in labels:
        if not 0 < len(raw) <= 63:
            raise WireError(f"bad label length in {name!r}")
        out.append(len(raw))
        out += raw
    out.append(0)
    if len(out) > 255:
        raise WireError(f"name too long: {name!r}")
    return bytes(out)


def _split_labels(name: str) -> list[bytes]:
    """Labels of a name with escapes (RFC 1035 §5.1): ``\\.`` is a dot inside a label."""
    labels: list[bytes] = []
    label = bytearray()
    i = 0
    while i < len(name):
        char = name[i]
        if char == "\\":
            digits = name[i + 1 : i + 4]
            if len(digits) == 3 and digits.isdigit() and int(digits) <= 255:
                label.append(int(digits))
                i += 4
                continue
            if i + 1 >= len(name):
                raise WireError(f"dangling escape in {name!r}")
            label += name[i + 1].encode("ascii")
            i += 2
            continue
        if char == ".":
            labels.append(bytes(label))
            label = bytearray()
        else:
            label += char.encode("ascii")
        i += 1
    if label:
        labels.append(bytes(label))
    elif labels and not name.endswith("."):
        labels.append(b"")  # an empty last label: rejected by the length check
    return labels


_OPT = b"\x00" + struct.pack("!HHIH", TYPES["OPT"], EDNS_PAYLOAD, 0, 0)


def build_query(qid: int, name: str, rdtype: str, *, recursion: bool = True, edns: bool = True) -> bytes:
    return query_header(qid, recursion=recursion, edns=edns) + question(name, rdtype) + (_OPT if edns else b"")


def question(name: str, rdtype: str) -> bytes:
    """The question section for (name, type), class IN; raises WireError for a name DNS cannot carry."""
    encoded = _encoded.get(name)
    if encoded is None:  # a domain's name is asked MX, TXT, NS, SOA; a host's A and AAAA
        if len(_encoded) >= _ENCODED_SIZE:
            _encoded.clear()
        encoded = _encoded[name] = encode_name(name)
    return encoded + _QUESTION_TAILS[rdtype]


_ENCODED_SIZE = 1024  # names remembered by ``question`` (cleared when full: bounded memory)
_encoded: dict[str, bytes] = {}


def query_header(qid: int, *, recursion: bool = True, edns: bool = True) -> bytes:
    return _HEADER.pack(qid, 0x0100 if recursion else 0, 1, 0, 0, 1 if edns else 0)


def query_tail() -> bytes:
    """What follows the question in every query souverain sends: the EDNS OPT record."""
    return _OPT


def read_name(message: bytes, offset: int) -> tuple[str, int]:
    """Decode a possibly compressed name at ``offset``; return (name, offset after it)."""
    labels: list[str] = []
    end = None
    length_total = 0
    jumps = 0
    while True:
        if offset >= len(message):
            raise WireError("name runs past the end of the message")
        length = message[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(message):
                raise WireError("truncated compression pointer")
            pointer = ((length & 0x3F) << 8) | message[offset + 1]
            if pointer >= offset or jumps > 64:
                raise WireError("compression pointer loop or forward pointer")
            if end is None:
                end = offset + 2
            offset = pointer
            jumps += 1
            continue
        if length & 0xC0:
            raise WireError("unsupported label type")
        offset += 1
        if length == 0:
            break
        if offset + length > len(message):
            raise WireError("label runs past the end of the message")
        raw = message[offset : offset + length]
        labels.append(_label_text(raw))
        length_total += length + 1
        if length_total > 255:
            raise WireError("name longer than 255 octets")
        offset += length
    return ".".join(labels).lower(), (end if end is not None else offset)


_PLAIN = bytes(b for b in range(0x21, 0x7F) if b not in (0x2E, 0x5C))


def _label_text(raw: bytes) -> str:
    """Printable ASCII kept; anything else escaped as \\DDD (presentation format)."""
    if not raw.translate(None, _PLAIN):  # fast path: every byte is plain (checked in C)
        return raw.decode("ascii")
    return "".join(chr(b) if 0x21 <= b <= 0x7E and b not in (0x2E, 0x5C) else f"\\{b:03d}" for b in raw)


def _character_strings(rdata: bytes) -> list[bytes]:
    parts, offset = [], 0
    while offset < len(rdata):
        length = rdata[offset]
        offset += 1
        if offset + length > len(rdata):
            raise WireError("character-string runs past rdata")
        parts.append(rdata[offset : offset + length])
        offset += length
    return parts


def _decode_rdata(message: bytes, rdtype: int, start: int, length: int) -> str | None:
    rdata = message[start : start + length]
    if rdtype == 1:
        if length != 4:
            raise WireError("A record of wrong length")
        return socket.inet_ntop(socket.AF_INET, rdata)  # in C: ipaddress costs more than the rest of the record
    if rdtype == 28:
        if length != 16:
            raise WireError("AAAA record of wrong length")
        return ipv6_text(rdata)
    if rdtype in (2, 5, 12):
        return read_name(message, start)[0]
    if rdtype == 15:
        if length < 3:
            raise WireError("MX record too short")
        preference = struct.unpack_from("!H", message, start)[0]
        host = read_name(message, start + 2)[0]
        return f"{preference} {host}"
    if rdtype == 16:
        # TXT strings are joined (RFC 7208 §3.3 for SPF); bytes outside UTF-8 are replaced
        return b"".join(_character_strings(rdata)).decode("utf-8", "replace")
    if rdtype == 6:
        mname, offset = read_name(message, start)
        rname, offset = read_name(message, offset)
        if offset + 20 > start + length:
            raise WireError("SOA record too short")
        serial, refresh, retry, expire, minimum = struct.unpack_from("!IIIII", message, offset)
        return f"{mname} {rname} {serial} {refresh} {retry} {expire} {minimum}"
    if rdtype == 33:
        if length < 7:
            raise WireError("SRV record too short")
        priority, weight, port = struct.unpack_from("!HHH", message, start)
        return f"{priority} {weight} {port} {read_name(message, start + 6)[0]}"
    if rdtype == 257:
        if length < 2:
            raise WireError("CAA record too short")
        flags, tag_length = rdata[0], rdata[1]
        tag = rdata[2 : 2 + tag_length].decode("ascii", "replace")
        value = rdata[2 + tag_length :].decode("utf-8", "replace")
        return f'{flags} {tag} "{value}"'
    return None  # types we do not read (RRSIG, DS...) are skipped


def ipv6_text(packed: bytes) -> str:
    """The text ``str(ipaddress.IPv6Address(packed))`` gives, formatted in C where both agree.

    The C library writes an address whose first 80 bits are zero with an embedded IPv4 part
    (``::ffff:192.0.2.1``, ``::192.0.2.1``); ``ipaddress`` does not, and evidence and attribution
    must not depend on which formatted it: those few go through ``ipaddress``.
    """
    if packed[:10] == _TEN_ZEROS:
        return str(ipaddress.IPv6Address(packed))
    return socket.inet_ntop(socket.AF_INET6, packed)


_TEN_ZEROS = bytes(10)


def parse_response(message: bytes) -> Response:
    qid, flags, qdcount, ancount = _header(message)
    offset = _HEADER.size
    question = None
    for _ in range(qdcount):
        qname, offset = read_name(message, offset)
        if offset + 4 > len(message):
            raise WireError("truncated question")
        qtype = struct.unpack_from("!H", message, offset)[0]
        offset += 4
        question = (qname, TYPE_NAMES.get(qtype, str(qtype)))
    return Response(
        id=qid,
        rcode=RCODES.get(flags & 0x000F, f"RCODE{flags & 0x000F}"),
        truncated=bool(flags & 0x0200),
        authoritative=bool(flags & 0x0400),
        question=question,
        answers=_answer_section(message, offset, ancount),
    )


def parse_answers(message: bytes, qname: str | None = None) -> tuple[str, tuple[Record, ...]]:
    """(rcode, answer records): what the resolver needs, without decoding the question.

    ``qname``: the question's name, already checked against the echoed question by the caller;
    owner names that point at it (nearly all of them) are then not decoded again.
    """
    _qid, flags, qdcount, ancount = _header(message)
    offset = _HEADER.size
    for _ in range(qdcount):
        offset = _skip_name(message, offset) + 4
        if offset > len(message):
            raise WireError("truncated question")
    known = qname if qdcount == 1 and qname is not None and _PLAIN_NAME.fullmatch(qname) else None
    return RCODES.get(flags & 0x000F, f"RCODE{flags & 0x000F}"), _answer_section(message, offset, ancount, known)


# names read_name returns unchanged (lowercase, nothing to escape)
_PLAIN_NAME = re.compile(r"[!-\[\]-~]*")


def _header(message: bytes) -> tuple[int, int, int, int]:
    if len(message) < _HEADER.size:
        raise WireError("message shorter than a DNS header")
    qid, flags, qdcount, ancount, _nscount, _arcount = _HEADER.unpack_from(message)
    if not flags & 0x8000:
        raise WireError("not a response")
    return qid, flags, qdcount, ancount


def _skip_name(message: bytes, offset: int) -> int:
    """Offset just after the name at ``offset``, checking its bounds but not decoding it."""
    size = len(message)
    total = 0
    while True:
        if offset >= size:
            raise WireError("name runs past the end of the message")
        length = message[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= size:
                raise WireError("truncated compression pointer")
            if (((length & 0x3F) << 8) | message[offset + 1]) >= offset:
                raise WireError("compression pointer loop or forward pointer")
            return offset + 2
        if length & 0xC0:
            raise WireError("unsupported label type")
        offset += 1 + length
        total += 1 + length
        if length == 0:
            return offset
        if total > 255 or offset > size:
            raise WireError("bad name in question")


def _answer_section(message: bytes, offset: int, count: int, qname: str | None = None) -> tuple[Record, ...]:
    answers: list[Record] = []
    size = len(message)
    for _ in range(count):
        if qname is not None and offset + 1 < size and message[offset] == 0xC0 and message[offset + 1] == 12:
            name, offset = qname, offset + 2  # a pointer to the question's name
        else:
            name, offset = read_name(message, offset)
        if offset + _RR.size > size:
            raise WireError("truncated resource record")
        rdtype, _rdclass, ttl, rdlength = _RR.unpack_from(message, offset)
        offset += _RR.size
        if offset + rdlength > size:
            raise WireError("rdata runs past the end of the message")
        value = _decode_rdata(message, rdtype, offset, rdlength)
        offset += rdlength
        if value is not None:
            answers.append(Record(name, TYPE_NAMES[rdtype], ttl, value))
    return tuple(answers)
