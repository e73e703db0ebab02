"""Fuzzing the wire parser where the resolver spends its time: ``parse_answers`` and ``read_name``.

Everything a server sends is untrusted. For any bytes (random, or a valid response mutated) the
parser returns or raises ``WireError`` (which the resolver reports as FORMERR), never anything
else, with bounded output and in bounded time; compression-pointer loops are stopped.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import struct

import dns.message
import dns.rrset
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from souverain.collect import dnswire

MAX_NAME_TEXT = 4 * 255  # 255 octets on the wire, each shown at most as \DDD
# a parse takes microseconds: a second per example only trips on a loop or a blow-up
FUZZ = settings(max_examples=300, deadline=dt.timedelta(seconds=1))
HEADER = struct.Struct("!HHHHHH")


def check(message: bytes) -> None:
    """The parser's contract on hostile input: a bounded result or WireError."""
    for qname in (None, "x.test"):
        try:
            rcode, records = dnswire.parse_answers(message, qname)
        except dnswire.WireError:
            continue
        assert rcode in dnswire.RCODES.values() or rcode.startswith("RCODE")
        assert len(records) <= len(message) // 11  # an owner name and the fixed fields take 11 octets at least
        for record in records:
            assert record.rdtype in dnswire.TYPES and 0 <= record.ttl < 2**32
            assert len(record.name) <= MAX_NAME_TEXT
            assert len(record.value) <= max(len(message), 2 * MAX_NAME_TEXT) + 64
    try:  # the full parser (tests and tools) keeps the same contract
        dnswire.parse_response(message)
    except dnswire.WireError:
        pass


def check_name(message: bytes, offset: int) -> None:
    try:
        name, after = dnswire.read_name(message, offset)
    except dnswire.WireError:
        return
    assert len(name) <= MAX_NAME_TEXT and offset < after <= len(message)


labels = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=20)
names = st.lists(labels, min_size=1, max_size=4).map(lambda parts: ".".join(parts) + ".test")
addresses4 = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
addresses6 = st.integers(0, 2**96 - 1).map(lambda n: str(ipaddress.IPv6Address((0x20010DB8 << 96) | n)))
txt_strings = st.lists(st.text("abcdefghijklmnopqrstuvwxyz0123456789 =;:.-", max_size=80), min_size=1, max_size=3)


@st.composite
def records(draw) -> tuple[str, str]:
    """(rdtype, rdata in presentation form) of a record souverain reads."""
    kind = draw(st.sampled_from(["A", "AAAA", "CNAME", "MX", "TXT", "NS"]))
    if kind == "A":
        return kind, draw(addresses4)
    if kind == "AAAA":
        return kind, draw(addresses6)
    if kind == "MX":
        return kind, f"{draw(st.integers(0, 65535))} {draw(names)}."
    if kind == "TXT":
        return kind, " ".join(f'"{part}"' for part in draw(txt_strings))
    return kind, f"{draw(names)}."


@st.composite
def responses(draw) -> tuple[bytes, str, list[tuple[str, str, str]]]:
    """A valid response (name compression on, as servers send it) and the records it holds."""
    qname = draw(names)
    response = dns.message.make_response(dns.message.make_query(qname, "A"))
    owners = [qname] + draw(st.lists(names, max_size=3))
    expected = []
    for _ in range(draw(st.integers(0, 6))):
        owner = draw(st.sampled_from(owners))
        kind, rdata = draw(records())
        response.answer.append(dns.rrset.from_text(owner + ".", 300, "IN", kind, rdata))
    for rrset in response.answer:  # dnspython merges and orders the sets: read them back in its order
        for rdata in rrset:
            kind = dns.rdatatype.to_text(rrset.rdtype)
            expected.append((rrset.name.to_text(omit_final_dot=True), kind, _value(kind, rdata)))
    return response.to_wire(), qname, expected


def _value(kind: str, rdata) -> str:
    if kind == "MX":
        return f"{rdata.preference} {rdata.exchange.to_text(omit_final_dot=True)}"
    if kind == "TXT":
        return b"".join(rdata.strings).decode()
    if kind in ("CNAME", "NS"):
        return rdata.target.to_text(omit_final_dot=True)
    return str(ipaddress.ip_address(rdata.address))


@FUZZ
@given(responses())
def test_valid_responses_read_as_dnspython_wrote_them(case):
    wire, qname, expected = case
    rcode, found = dnswire.parse_answers(wire, qname)
    assert rcode == "NOERROR"
    assert [(r.name, r.rdtype, r.value) for r in found] == expected
    assert dnswire.parse_answers(wire) == (rcode, found)  # the question-name shortcut changes nothing


@FUZZ
@given(st.binary(max_size=1500))
def test_random_bytes(message):
    check(message)


@FUZZ
@given(st.binary(min_size=12, max_size=12), st.binary(max_size=600))
def test_random_bytes_after_a_response_header(header, body):
    """Past the header check (QR set), so the question and answer walks see the noise."""
    qid, flags, _qd, _an, ns, ar = HEADER.unpack(header)
    for qdcount, ancount in ((1, 1), (1, 40), (0, 65535)):
        check(HEADER.pack(qid, flags | 0x8000, qdcount, ancount, ns, ar) + body)


mutations = st.lists(st.one_of(
    st.tuples(st.just("set"), st.integers(0, 2000), st.integers(0, 255)),
    st.tuples(st.just("pointer"), st.integers(0, 2000), st.integers(0, 0x3FFF)),
    st.tuples(st.just("insert"), st.integers(0, 2000), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("cut"), st.integers(0, 2000), st.just(b"")),
    st.tuples(st.just("counts"), st.integers(0, 65535), st.integers(0, 65535)),
), min_size=1, max_size=4)


def mutate(wire: bytes, steps) -> bytes:
    data = bytearray(wire)
    for kind, position, value in steps:
        at = position % (len(data) + 1)
        if kind == "set" and at < len(data):
            data[at] = value
        elif kind == "pointer":
            data[at:at + 2] = struct.pack("!H", 0xC000 | value)
        elif kind == "insert":
            data[at:at] = value
        elif kind == "cut":
            del data[at:]
        elif kind == "counts" and len(data) >= 8:
            data[4:8] = struct.pack("!HH", position % 3, value)  # question and answer counts
    return bytes(data)


@FUZZ
@given(responses(), mutations)
def test_mutated_valid_responses(case, steps):
    check(mutate(case[0], steps))


@FUZZ
@given(st.binary(max_size=400), st.integers(0, 420))
def test_read_name_anywhere(message, offset):
    check_name(message, offset)


@FUZZ
@given(responses(), mutations, st.integers(0, 2000))
def test_read_name_in_mutated_responses(case, steps, offset):
    message = mutate(case[0], steps)
    check_name(message, offset % (len(message) + 1))


@st.composite
def pointer_mazes(draw) -> bytes:
    """Labels and backward pointers chained in every order: the shapes of a compression loop."""
    data = bytearray(b"\x00" * 12)
    for _ in range(draw(st.integers(1, 40))):
        if data and draw(st.booleans()):
            data += struct.pack("!H", 0xC000 | draw(st.integers(0, len(data) - 1)))
        else:
            label = draw(st.binary(min_size=0, max_size=63))
            data += bytes([len(label)]) + label
    return bytes(data)


@FUZZ
@given(pointer_mazes())
def test_pointer_mazes_end(message):
    for offset in range(12, len(message)):
        check_name(message, offset)
    check(message[:2] + b"\x81\x80\x00\x00\x00\x20" + message[6:])


@pytest.mark.parametrize(("message", "offset"), [
    (b"\x00" * 12 + b"\x01a\xc0\x0c", 12),  # a label, then a pointer back to it: "a.a.a..." forever
    (b"\x00" * 12 + b"\xc0\x0c", 12),  # a pointer to itself
    (b"\x00" * 12 + b"\xc0\x0e\x01a\x00", 12),  # a pointer forward
    (b"\x00" * 12 + b"\x01a\xc0\x0c\xc0\x0e", 16),  # a jump, then a loop back to the label
    (b"\x00" * 12 + b"".join(struct.pack("!H", 0xC000 | (12 + 2 * max(i - 1, 0))) for i in range(200)), 410),
])
def test_compression_pointer_loops_are_stopped(message, offset):
    with pytest.raises(dnswire.WireError, match="pointer"):
        dnswire.read_name(message, offset)


def test_a_long_chain_of_valid_pointers_is_bounded():
    """Each hop goes back 2 octets to another label: 64 hops are followed, the 65th is refused."""
    chain = bytearray(b"\x00" * 12 + b"\x00")  # the root at 12
    for _ in range(100):
        chain += b"\x01a" + struct.pack("!H", 0xC000 | (len(chain) - 4 if len(chain) > 13 else 12))
    with pytest.raises(dnswire.WireError, match="pointer"):
        dnswire.read_name(bytes(chain), len(chain) - 4)
    # the same chain cut to 60 hops is a valid name of 60 labels
    assert dnswire.read_name(bytes(chain), 13 + 4 * 59)[0] == ".".join(["a"] * 60)


def test_address_records_read_as_ipaddress_writes_them():
    """A and AAAA are formatted by the C library; the text must be what ``ipaddress`` gives
    (evidence and attribution compare these strings), including the forms where they differ."""
    import random

    from souverain.collect.dnswire import ipv6_text

    rng = random.Random(7)
    samples = [bytes(16), bytes(15) + b"\x01", bytes(10) + b"\xff\xff\xc0\x00\x02\x01",
               bytes(12) + b"\xc0\x00\x02\x01", b"\x20\x01\x0d\xb8" + bytes(12)]
    for mask in range(256):  # every pattern of zero and non-zero groups (where :: goes)
        words = [rng.choice([1, 0xFFFF, rng.randrange(1, 65536)]) if mask >> i & 1 else 0 for i in range(8)]
        samples.append(b"".join(word.to_bytes(2, "big") for word in words))
    samples += [rng.randbytes(16) for _ in range(2000)]
    for packed in samples:
        assert ipv6_text(packed) == str(ipaddress.IPv6Address(packed))
    for packed in [bytes(4), b"\xff" * 4, rng.randbytes(4)]:
        text = str(ipaddress.IPv4Address(packed))
        response = dns.message.make_response(dns.message.make_query("a.example", "A"))
        response.answer.append(dns.rrset.from_text("a.example.", 60, "IN", "A", text))
        assert dnswire.parse_answers(response.to_wire())[1][0].value == text
