"""The stub resolver and wire parser against a real DNS server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path

import dns.message
import dns.rrset
import pytest

from souverain.collect import dnswire
from souverain.collect.dns import Resolver, parse_nameserver
from souverain.collect.spf import expand_spf, parse_spf
from souverain.errors import UsageError
from souverain.testing.dnsserver import DNSServer

ZONES = Path(__file__).parents[1] / "data" / "dnsunit"


@pytest.fixture(scope="module")
def server():
    srv = DNSServer(ZONES).start()
    yield srv
    srv.stop()


def ask(server, name, rdtype, **kwargs):
    async def go():
        async with Resolver([("127.0.0.1", server.port)], timeout=0.5, retries=1, **kwargs) as resolver:
            return await resolver.query(name, rdtype)

    return asyncio.run(go())


def test_mx_and_statuses(server):
    mx = ask(server, "unit.test", "MX")
    assert mx.status == "NOERROR" and sorted(mx.values()) == ["10 mx1.unit.test", "20 mx2.unit.test"]
    assert ask(server, "nothere.unit.test", "A").status == "NXDOMAIN"
    assert ask(server, "mx1.unit.test", "MX").status == "NODATA"
    assert ask(server, "example.invalid", "A").status == "REFUSED"
    assert ask(server, "broken.unit.test", "A").status == "SERVFAIL"


def test_timeout_is_an_answer(server):
    answer = ask(server, "slow.unit.test", "A")
    assert answer.status == "TIMEOUT" and answer.failed


def test_truncation_falls_back_to_tcp(server):
    answer = ask(server, "trunc.unit.test", "A")
    assert answer.status == "NOERROR" and answer.tcp and answer.values() == ["192.0.2.3"]
    big = ask(server, "big.unit.test", "TXT")
    assert big.tcp and len(big.values()) == 6


def test_garbage_is_formerr(server):
    answer = ask(server, "garbage.unit.test", "A")
    assert answer.status == "FORMERR" and answer.error.startswith("malformed response")


def _collect_in_turn(server, domains, **resolver_options):
    """collect_domain for each domain in turn, with one resolver (as a survey shares it)."""
    from souverain.collect.domain import CollectOptions, collect_domain

    async def go():
        async with Resolver([("127.0.0.1", server.port)], **resolver_options) as resolver:
            return [await collect_domain(resolver, domain, ("mail",), CollectOptions()) for domain in domains]

    return asyncio.run(go())


def test_transient_servfail_on_a_shared_host_does_not_stick_to_the_next_domain(server):
    """shared-mx.unit.test SERVFAILs its first 2 queries (one try and one retry for d1), then answers."""
    first, second = _collect_in_turn(server, ["d1.unit.test", "d2.unit.test"], timeout=0.5, retries=2)
    assert first.mx_hosts["shared-mx.unit.test"].status == "SERVFAIL"
    assert ("shared-mx.unit.test A", "SERVFAIL") in first.failures
    assert second.mx_hosts["shared-mx.unit.test"].ipv4 == ("192.0.2.26",) and not second.failures


def test_timeout_is_not_cached_either(server):
    first, second = _collect_in_turn(server, ["late.unit.test", "late.unit.test"], timeout=0.3, retries=0)
    assert first.failures and ("late.unit.test TXT", "TIMEOUT") in first.failures
    assert "late.unit.test TXT" not in dict(second.failures)


def test_timeout_is_retried_and_the_retry_answers(server):
    async def go():
        async with Resolver([("127.0.0.1", server.port)], timeout=0.3, retries=1) as resolver:
            return await resolver.query("late.unit.test", "A"), resolver.stats["queries"]

    answer, queries = asyncio.run(go())
    assert answer.status == "NOERROR" and answer.values() == ["192.0.2.27"] and queries == 2


def test_definitive_answers_stay_cached(server):
    async def go():
        async with Resolver([("127.0.0.1", server.port)], timeout=0.5) as resolver:
            statuses = [(await resolver.query(name, rdtype)).status
                        for name, rdtype in [("gone.unit.test", "A"), ("mx1.unit.test", "MX"), ("unit.test", "MX")] * 2]
            return statuses, resolver.stats["queries"], resolver.stats["cache_hits"]

    statuses, queries, hits = asyncio.run(go())
    assert statuses == ["NXDOMAIN", "NODATA", "NOERROR"] * 2 and queries == 3 and hits == 3


@pytest.mark.parametrize(("name", "servers", "expected_queries"), [
    ("broken.unit.test", 1, 2),  # SERVFAIL: once more, even on the same server
    ("example.invalid", 1, 1),  # REFUSED by the only server: its policy, not asked again
    ("example.invalid", 2, 3),  # REFUSED, but other servers may be asked: up to ``retries`` more
    ("broken.unit.test", 2, 3),
])
def test_retry_budget_per_failure(server, name, servers, expected_queries):
    async def go():
        async with Resolver([("127.0.0.1", server.port)] * servers, timeout=0.5, retries=2) as resolver:
            first = await resolver.query(name, "A")
            again = await resolver.query(name, "A")  # a failure is not cached: asked again
            return first.status, again.status, resolver.stats["queries"]

    first, again, queries = asyncio.run(go())
    assert first == again and first in ("SERVFAIL", "REFUSED") and queries == 2 * expected_queries


@pytest.mark.parametrize("name", ["wrongid.unit.test", "wrongq.unit.test"])
def test_tcp_answer_must_echo_the_question(server, name):
    """Truncated over UDP, then over TCP an answer with another id (or for another name): rejected."""
    answer = ask(server, name, "A")
    assert answer.status == "FORMERR" and answer.tcp and "does not echo the question" in answer.error
    assert answer.records == ()


def test_the_echo_check_reads_id_count_and_question():
    from souverain.collect.dns import _echoes

    question = dnswire.question("x.test", "A")
    good = dnswire.build_query(7, "X.Test", "A")
    assert _echoes(question, good)
    assert not _echoes(question, dnswire.build_query(7, "y.test", "A"))
    assert not _echoes(question, dnswire.build_query(7, "x.test", "AAAA"))
    assert not _echoes(question, good[:4] + b"\x00\x02" + good[6:])  # two questions


def test_txt_strings_joined_and_cname_chain(server):
    txt = ask(server, "unit.test", "TXT").values()
    assert "google-site-verification=abcdef" in txt
    www = ask(server, "www.unit.test", "A")
    assert www.cname_chain() == ["web.unit.test", "host.unit.test"] and www.values() == ["192.0.2.80"]


def test_caa_srv_soa(server):
    assert ask(server, "unit.test", "CAA").values() == ['0 issue "letsencrypt.org"']
    assert ask(server, "_xmpp._tcp.unit.test", "SRV").values() == ["5 0 5269 xmpp.unit.test"]
    assert ask(server, "unit.test", "SOA").values()[0].startswith("ns1.unit.test hostmaster.unit.test 2026112801")


def test_spf_loop_detected(server):
    async def go():
        async with Resolver([("127.0.0.1", server.port)], timeout=0.5) as resolver:
            return await expand_spf(resolver, "unit.test")

    result = asyncio.run(go())
    assert result.status == "permerror" and any("loop" in p for p in result.problems)
    assert ("_spf.unit.test", "unit.test") in result.authorised
    assert ("192.0.2.0/24", "_spf.unit.test") in result.ip_ranges


def test_parse_spf():
    record = parse_spf("v=spf1 +mx include:_spf.google.com ip4:192.0.2.0/24 redirect=_spf.example.test ?all bogus")
    assert record.includes == ["_spf.google.com"] and record.redirect == "_spf.example.test"
    assert record.errors == ["unknown mechanism 'bogus'"]


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1", ("127.0.0.1", 53)), ("127.0.0.1:5353", ("127.0.0.1", 5353)),
    ("::1", ("::1", 53)), ("[::1]:5353", ("::1", 5353)),
])
def test_parse_nameserver(text, expected):
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize("bad", ["dns.example", "127.0.0.1:0", "[::1]x", "1.2.3.4:99999"])
def test_parse_nameserver_errors(bad):
    with pytest.raises(UsageError):
        parse_nameserver(bad)


def _response(*rrsets: str, rdtype="A") -> bytes:
    query = dns.message.make_query("x.test", rdtype)
    response = dns.message.make_response(query)
    for text in rrsets:
        response.answer.append(dns.rrset.from_text(*text.split(maxsplit=4)))
    return response.to_wire()


def test_wire_parser_agrees_with_dnspython():
    wire = _response("x.test. 60 IN CNAME y.test.", "y.test. 60 IN A 192.0.2.9", "y.test. 60 IN AAAA 2001:db8::9")
    parsed = dnswire.parse_response(wire)
    assert [(r.name, r.rdtype, r.value) for r in parsed.answers] == [
        ("x.test", "CNAME", "y.test"), ("y.test", "A", "192.0.2.9"), ("y.test", "AAAA", "2001:db8::9")]


@pytest.mark.parametrize("wire", [
    b"", b"\x00" * 11,
    b"\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\xc0\x0c",  # pointer to itself
    b"\x12\x34\x81\x80\x00\x00\x00\x01\x00\x00\x00\x00\x3fabc",  # label past end
])
def test_wire_parser_rejects_hostile_messages(wire):
    with pytest.raises(dnswire.WireError):
        dnswire.parse_response(wire)


def test_one_socket_per_server_under_concurrency(server):
    async def go():
        async with Resolver([("127.0.0.1", server.port)], timeout=0.5) as resolver:
            answers = await asyncio.gather(*(resolver.query(f"n{i}.unit.test", "A") for i in range(200)))
            return len(resolver._channels), {a.status for a in answers}

    assert asyncio.run(go()) == (1, {"NXDOMAIN"})


def test_concurrency_limit_queues_the_rest(server):
    async def go():
        async with Resolver([("127.0.0.1", server.port)], timeout=0.5, concurrency=3) as resolver:
            peak = 0
            futures = [resolver.query(f"q{i}.unit.test", "A") for i in range(40)]
            while not all(f.done() for f in futures):
                peak = max(peak, resolver._active)
                await asyncio.sleep(0)
            return peak, resolver.stats["queries"], {f.result().status for f in futures}

    peak, queries, statuses = asyncio.run(go())
    assert 1 <= peak <= 3 and queries == 40 and statuses == {"NXDOMAIN"}


def test_qps_spaces_the_sends(server):
    async def go():
        loop = asyncio.get_running_loop()
        async with Resolver([("127.0.0.1", server.port)], timeout=0.5, qps=100) as resolver:
            started = loop.time()
            await asyncio.gather(*(resolver.query(f"r{i}.unit.test", "A") for i in range(21)))
            return loop.time() - started

    assert asyncio.run(go()) >= 0.19  # 21 sends at 100/s cannot take less than 0.2 s


def test_shared_question_survives_a_cancelled_waiter(server):
    async def go():
        async with Resolver([("127.0.0.1", server.port)], timeout=0.3, retries=0) as resolver:
            first = asyncio.ensure_future(resolver.query("slow.unit.test", "A"))
            second = resolver.query("slow.unit.test", "A")
            await asyncio.sleep(0.05)
            first.cancel()
            answer = await second
            return answer.status, resolver.stats["queries"]

    assert asyncio.run(go()) == ("TIMEOUT", 1)


def test_dead_server_is_an_error_then_the_next_server_answers(server):
    import socket as socketlib

    probe = socketlib.socket(socketlib.AF_INET, socketlib.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    dead_port = probe.getsockname()[1]
    probe.close()  # nothing listens there: the kernel answers with ICMP port unreachable

    async def go():
        servers = [("127.0.0.1", dead_port), ("127.0.0.1", server.port)]
        async with Resolver(servers, timeout=2, retries=1) as resolver:
            return await resolver.query("unit.test", "MX")

    answer = asyncio.run(go())
    assert answer.status == "NOERROR" and answer.resolver == f"127.0.0.1:{server.port}"


def test_close_answers_everything_still_waiting(server):
    async def go():
        resolver = Resolver([("127.0.0.1", server.port)], timeout=5, concurrency=1)
        futures = [resolver.query("slow.unit.test", "A"), resolver.query("unit.test", "MX")]
        await asyncio.sleep(0.05)
        await resolver.close()
        return [f.result() for f in futures]

    slow, queued = asyncio.run(go())
    assert slow.status == queued.status == "ERROR" and slow.error == "resolver closed"


def test_resolve_host_keeps_a_chain_answered_in_one_response(server):
    """Recursive resolvers answer CNAMEs and addresses together: the chain must still be kept."""
    from souverain.collect.domain import resolve_host
    from souverain.collect.observation import ObservationBuilder

    async def go():
        async with Resolver([("127.0.0.1", server.port)], timeout=0.5) as resolver:
            return await resolve_host(resolver, ObservationBuilder("unit.test", ("web",)), "www.unit.test", "web-host")

    found = asyncio.run(go())
    assert found.cnames == ("web.unit.test", "host.unit.test") and found.ipv4 == ("192.0.2.80",)


def test_question_name_shortcut_decodes_the_same_records():
    wire = _response("x.test. 60 IN CNAME y.test.", "y.test. 60 IN A 192.0.2.9", "y.test. 60 IN AAAA 2001:db8::9")
    assert dnswire.parse_answers(wire, "x.test") == dnswire.parse_answers(wire)
    assert dnswire.parse_answers(wire)[1][0].name == "x.test"


def test_questions_of_one_loop_iteration_leave_together_after_it():
    """Datagrams are queued while the loop iteration runs and sent back to back after it: the
    server reads them in one burst (a trickle costs a loopback server much more CPU per query)."""
    import socket as socketlib

    listener = socketlib.socket(socketlib.AF_INET, socketlib.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.setblocking(False)

    def waiting() -> int:
        count = 0
        while True:
            try:
                listener.recv(512)
            except BlockingIOError:
                return count
            count += 1

    async def go():
        async with Resolver([listener.getsockname()], timeout=0.3, retries=0) as resolver:
            futures = [resolver.query(f"n{i}.unit.test", "A") for i in range(20)]
            before = waiting()  # nothing has left while the iteration that asked still runs
            await asyncio.sleep(0)
            await asyncio.sleep(0.05)
            after = waiting()
            answers = await asyncio.gather(*futures)
            return before, after, answers

    try:
        before, after, answers = asyncio.run(go())
    finally:
        listener.close()
    assert (before, after) == (0, 20)
    assert {a.status for a in answers} == {"TIMEOUT"}  # nobody answers: each times out, none hangs


def test_questions_queued_when_the_resolver_closes_are_never_sent():
    import socket as socketlib

    listener = socketlib.socket(socketlib.AF_INET, socketlib.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.setblocking(False)

    async def go():
        resolver = Resolver([listener.getsockname()], timeout=1)
        future = resolver.query("unit.test", "MX")
        await resolver.close()
        await asyncio.sleep(0.05)
        return future.result()

    try:
        answer = asyncio.run(go())
        with pytest.raises(BlockingIOError):
            listener.recv(512)
    finally:
        listener.close()
    assert answer.status == "ERROR" and answer.error == "resolver closed"
