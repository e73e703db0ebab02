"""A small authoritative DNS server for loopback test worlds, with fault injection.

Serves zone files (``<origin>.zone`` or ``*.zone`` with ``$ORIGIN``) over UDP and TCP on
127.0.0.1, follows CNAMEs across the zones it serves, and can misbehave on purpose for chosen
names: ``servfail``, ``refused``, ``timeout`` (never answers), ``slow:SECONDS``, ``truncate``
(always sets TC over UDP, forcing TCP), ``garbage`` (echoes the question, then a malformed
answer section), ``tcp-wrong-id`` and ``tcp-wrong-question`` (TC over UDP, then a TCP answer with
another id, or for another question). ``servfail:N``, ``refused:N`` and ``timeout:N`` fail only
the first N queries for each (name, type), then answer normally: a transient failure. Faults are
read from ``faults.yaml`` next to the zones: ``{name: behaviour}`` (a name matches itself and
every name under it).

Run it by hand: ``python -m souverain.testing.dnsserver ZONE_DIR --port 5353``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import struct
import threading
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone
import yaml


class ZoneStore:
    def __init__(self, zone_dir: Path) -> None:
        self.zones: dict[dns.name.Name, dns.zone.Zone] = {}
        for path in sorted(Path(zone_dir).glob("*.zone")):
            origin = path.name[: -len(".zone")]
            zone = dns.zone.from_file(str(path), origin=origin, relativize=False, check_origin=False)
            assert zone.origin is not None  # given above
            self.zones[zone.origin] = zone
        faults_file = Path(zone_dir) / "faults.yaml"
        raw = yaml.safe_load(faults_file.read_text()) if faults_file.exists() else {}
        self.faults = {dns.name.from_text(k): str(v) for k, v in (raw or {}).items()}

    def zone_for(self, name: dns.name.Name) -> dns.zone.Zone | None:
        """The zone with the longest origin containing ``name`` (walks up the labels)."""
        candidate = name
        while True:
            zone = self.zones.get(candidate)
            if zone is not None:
                return zone
            if candidate == dns.name.root or len(candidate) <= 1:
                return None
            candidate = candidate.parent()

    def fault_for(self, name: dns.name.Name) -> str | None:
        for fault_name, behaviour in self.faults.items():
            if name.is_subdomain(fault_name):
                return behaviour
        return None

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        name, rdtype = question.name, question.rdtype
        for _ in range(10):  # follow CNAMEs across served zones, bounded
            zone = self.zone_for(name)
            if zone is None:
                if not response.answer:
                    response.set_rcode(dns.rcode.REFUSED)
                    response.flags &= ~dns.flags.AA
                return response
            node = zone.get_node(name)
            if node is None:  # the rcode is about the last name of a CNAME chain (RFC 6604)
                response.set_rcode(dns.rcode.NXDOMAIN)
                self._add_soa(response, zone)
                return response
            rdataset = node.get_rdataset(dns.rdataclass.IN, rdtype)
            if rdataset is not None:
                response.answer.append(_rrset(name, rdataset))
                return response
            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None or rdtype == dns.rdatatype.CNAME:
                if not response.answer:
                    self._add_soa(response, zone)
                return response
            rrset = _rrset(name, cname)
            if rrset in response.answer:  # CNAME loop: stop, the client detects it
                return response
            response.answer.append(rrset)
            name = cname[0].target
        return response

    @staticmethod
    def _add_soa(response: dns.message.Message, zone: dns.zone.Zone) -> None:
        soa = zone.get_rdataset(zone.origin, dns.rdatatype.SOA) if zone.origin is not None else None
        if soa is not None:
            response.authority.append(_rrset(zone.origin, soa))


def _question_wire(query: dns.message.Message) -> bytes:
    """The question section of ``query`` as sent (uncompressed name, type, class)."""
    question = query.question[0]
    wire = question.name.to_wire()
    assert wire is not None  # None only when writing into a file
    return wire + struct.pack("!HH", question.rdtype, question.rdclass)


def _rrset(name, rdataset):
    rrset = dns.rrset.RRset(name, rdataset.rdclass, rdataset.rdtype)
    rrset.update(rdataset)
    return rrset


class _UDP(asyncio.DatagramProtocol):
    def __init__(self, server: DNSServer) -> None:
        self.server = server

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        asyncio.get_running_loop().create_task(self._reply(data, addr))

    async def _reply(self, data: bytes, addr) -> None:
        try:
            wire = await self.server.respond(data, udp=True)
        except Exception as exc:  # noqa: BLE001 - a test server must keep serving; report and drop
            print(f"test DNS server: cannot answer: {exc!r}", flush=True)
            return
        if wire is not None:
            self.transport.sendto(wire, addr)


class DNSServer:
    """Serve a zone directory on 127.0.0.1 (UDP and TCP on the same port)."""

    def __init__(self, zone_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.store = ZoneStore(zone_dir)
        self.host = host
        self.port = port
        self.queries = 0
        self.asked: dict[tuple[str, int], int] = {}  # (name, type) -> queries received, for the ":N" faults
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def respond(self, data: bytes, udp: bool) -> bytes | None:
        self.queries += 1
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        name = query.question[0].name if query.question else dns.name.root
        fault = self.store.fault_for(name)
        if fault and fault.split(":")[0] in ("servfail", "refused", "timeout") and ":" in fault:
            key = (name.to_text().lower(), query.question[0].rdtype if query.question else 0)
            self.asked[key] = self.asked.get(key, 0) + 1
            kind, times = fault.split(":", 1)
            fault = kind if self.asked[key] <= int(times) else None
        if fault == "timeout":
            return None
        if fault and fault.startswith("slow:"):
            await asyncio.sleep(float(fault.split(":", 1)[1]))
        if fault == "garbage" and query.question:
            # header (5 answers) and the echoed question, then an owner name pointing at itself
            question = _question_wire(query)
            loop_at = 12 + len(question)
            return (data[:2] + b"\x81\x80\x00\x01\x00\x05\x00\x00\x00\x00" + question
                    + struct.pack("!H", 0xC000 | loop_at) + b"\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x00")
        if fault in ("tcp-wrong-id", "tcp-wrong-question") and not udp:
            wrong = query
            if fault == "tcp-wrong-question":
                wrong = dns.message.make_query(dns.name.from_text("other", name), query.question[0].rdtype)
                wrong.id = query.id
            response = self.store.answer(wrong)
            if fault == "tcp-wrong-id":
                response.id = (query.id + 1) % 65536
            return response.to_wire()
        if fault in ("servfail", "refused"):
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.SERVFAIL if fault == "servfail" else dns.rcode.REFUSED)
            return response.to_wire()
        response = self.store.answer(query)
        payload = query.payload if query.edns >= 0 else 512
        if udp and fault in ("truncate", "tcp-wrong-id", "tcp-wrong-question"):
            response.flags |= dns.flags.TC
            response.answer.clear()
            return response.to_wire()
        try:
            wire = response.to_wire(max_size=payload if udp else 65535)
        except dns.exception.TooBig:
            wire = b""
        if not wire or (udp and len(wire) > payload):
            response.flags |= dns.flags.TC
            response.answer.clear()
            response.authority.clear()
            wire = response.to_wire()
        return wire

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                size = struct.unpack("!H", await reader.readexactly(2))[0]
                wire = await self.respond(await reader.readexactly(size), udp=False)
                if wire is None:
                    break
                writer.write(struct.pack("!H", len(wire)) + wire)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        tcp = await asyncio.start_server(self._tcp_client, self.host, self.port)
        self.port = tcp.sockets[0].getsockname()[1]
        transport, _ = await loop.create_datagram_endpoint(lambda: _UDP(self), local_addr=(self.host, self.port))
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            transport.close()
            tcp.close()
            await tcp.wait_closed()

    # -- running in a background thread (tests) ---------------------------------------------
    def start(self) -> DNSServer:
        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.serve())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="souverain-test-dns", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test DNS server did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zones", type=Path)
    parser.add_argument("--port", type=int, default=5353)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    if not args.host.startswith("127.") and args.host != "::1":
        parser.error("this test server only listens on loopback addresses")
    server = DNSServer(args.zones, args.host, args.port)
    print(f"serving {len(server.store.zones)} zones on {args.host}:{args.port} (pid {os.getpid()})", flush=True)
    asyncio.run(server.serve())


if __name__ == "__main__":
    main()
