"""Asynchronous stub resolver: UDP with id-matched futures, retries, TCP on truncation.

One UDP socket per name server carries every query (large receive buffer, random ids), which
is what lets one Python process sustain thousands of queries a second. Failures are answers:
SERVFAIL, REFUSED, NXDOMAIN and TIMEOUT come back as ``Answer.status``, never as exceptions,
so a hostile or broken zone cannot stop a scan.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import ipaddress
import random
import socket
import struct
import time
from collections.abc import Iterable
from pathlib import Path

from souverain.collect import dnswire
from souverain.errors import UsageError

STATUSES = ("NOERROR", "NODATA", "NXDOMAIN", "SERVFAIL", "REFUSED", "TIMEOUT", "FORMERR", "ERROR")


@dataclasses.dataclass(frozen=True)
class Answer:
    name: str
    rdtype: str
    status: str
    records: tuple[dnswire.Record, ...] = ()
    resolver: str = ""
    at: str = ""
    elapsed_ms: float = 0.0
    tcp: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "NOERROR"

    @property
    def failed(self) -> bool:
        """The question could not be answered (as opposed to a negative answer)."""
        return self.status not in ("NOERROR", "NODATA", "NXDOMAIN")

    def values(self, rdtype: str | None = None) -> list[str]:
        wanted = rdtype or self.rdtype
        return [r.value for r in self.records if r.rdtype == wanted]

    def cname_chain(self) -> list[str]:
        """Targets of the CNAME records in the answer, in order from the queried name."""
        chain, current = [], self.name
        links = {r.name: r.value for r in self.records if r.rdtype == "CNAME"}
        while current in links and len(chain) <= len(links):
            current = links[current]
            chain.append(current)
        return chain

    def as_evidence(self) -> dict:
        return {
            "query": f"{self.name} {self.rdtype}",
            "status": self.status,
            "records": [r.as_dict() for r in self.records],
            "resolver": self.resolver,
            "at": self.at,
            "tcp": self.tcp,
            "error": self.error,
        }


def parse_nameserver(text: str, default_port: int = 53) -> tuple[str, int]:
    """``127.0.0.1``, ``127.0.0.1:5353``, ``::1``, ``[::1]:5353`` -> (address, port)."""
    value = text.strip()
    host, port = value, default_port
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise UsageError(f"--nameserver {text!r}: expected [ADDRESS]:PORT")
            port = _port(rest[1:], text)
    elif value.count(":") == 1:
        host, port_text = value.split(":")
        port = _port(port_text, text)
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError as exc:
        raise UsageError(f"--nameserver {text!r}: give an IP address, optionally with :PORT") from exc
    return address, port


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"--nameserver {whole!r}: bad port {text!r}")
    return int(text)


def system_nameservers(path: Path = Path("/etc/resolv.conf")) -> list[tuple[str, int]]:
    servers = []
    try:
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                try:
                    servers.append((str(ipaddress.ip_address(parts[1].split("%")[0])), 53))
                except ValueError:
                    continue
    except OSError:
        pass
    return servers or [("127.0.0.1", 53)]


class _UDPChannel(asyncio.DatagramProtocol):
    """One connected UDP socket to one server; responses are matched to futures by id."""

    def __init__(self) -> None:
        self.pending: dict[int, tuple[asyncio.Future, bytes]] = {}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                try:
                    sock.setsockopt(socket.SOL_SOCKET, option, 4 * 1024 * 1024)
                except OSError:
                    pass

    def datagram_received(self, data: bytes, addr) -> None:
        if len(data) < 12:
            return
        qid = struct.unpack_from("!H", data)[0]
        entry = self.pending.get(qid)
        if entry is None:
            return
        future, question = entry
        # the question section must echo ours (defends against stray or spoofed datagrams)
        if data[12 : 12 + len(question)].lower() != question.lower():
            return
        if not future.done():
            future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        for future, _ in self.pending.values():
            if not future.done():
                future.set_exception(exc)
        self.pending.clear()


class Resolver:
    """Bounded, retrying, caching async stub resolver."""

    def __init__(
        self,
        nameservers: Iterable[tuple[str, int]] | None = None,
        *,
        timeout: float = 2.0,
        retries: int = 2,
        concurrency: int = 256,
        qps: float | None = None,
        cache_size: int = 50_000,
        recursion: bool = True,
    ) -> None:
        self.nameservers = list(nameservers or system_nameservers())
        self.timeout = timeout
        self.retries = retries
        self.recursion = recursion
        self._limit = asyncio.Semaphore(concurrency)
        self._qps = qps
        self._next_slot = 0.0
        self._channels: dict[tuple[str, int], _UDPChannel] = {}
        self._opening: dict[tuple[str, int], asyncio.Future] = {}
        self._cache: collections.OrderedDict[tuple[str, str], asyncio.Future] = collections.OrderedDict()
        self._cache_size = cache_size
        self._rotate = 0
        self.stats = collections.Counter()

    async def close(self) -> None:
        for channel in self._channels.values():
            if channel.transport is not None:
                channel.transport.close()
        self._channels.clear()

    async def __aenter__(self) -> Resolver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def query(self, name: str, rdtype: str) -> Answer:
        """Answer for (name, rdtype); concurrent identical questions share one query."""
        key = (name.rstrip(".").lower(), rdtype)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.stats["cache_hits"] += 1
            return await asyncio.shield(cached)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._cache[key] = future
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        try:
            answer = await self._resolve(*key)
        except BaseException as exc:  # never leave waiters hanging (e.g. on cancellation)
            self._cache.pop(key, None)
            if not future.done():
                future.set_exception(exc)
                future.exception()  # mark retrieved
            raise
        future.set_result(answer)
        return answer

    async def _throttle(self) -> None:
        if not self._qps:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1.0 / self._qps
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _resolve(self, name: str, rdtype: str) -> Answer:
        try:
            dnswire.encode_name(name)
        except dnswire.WireError as exc:
            return Answer(name, rdtype, "ERROR", error=str(exc), at=_now())
        async with self._limit:
            last: Answer | None = None
            for attempt in range(self.retries + 1):
                server = self.nameservers[(self._rotate + attempt) % len(self.nameservers)]
                await self._throttle()
                self.stats["queries"] += 1
                last = await self._ask(server, name, rdtype)
                if last.status not in ("TIMEOUT", "ERROR") and not (
                    last.status == "SERVFAIL" and attempt < self.retries and len(self.nameservers) > 1
                ):
                    break
            self._rotate += 1
            assert last is not None
            self.stats[last.status] += 1
            return last

    async def _ask(self, server: tuple[str, int], name: str, rdtype: str) -> Answer:
        started = time.perf_counter()
        at = _now()
        label = f"[{server[0]}]:{server[1]}" if ":" in server[0] else f"{server[0]}:{server[1]}"
        qid = random.getrandbits(16)
        wire = dnswire.build_query(qid, name, rdtype, recursion=self.recursion)
        question = wire[12 : len(wire) - 11]  # question section (without the OPT record)
        tcp = False
        try:
            data = await self._udp(server, qid, wire, question)
            if data is not None and struct.unpack_from("!H", data, 2)[0] & 0x0200:
                tcp = True
                self.stats["tcp_fallbacks"] += 1
                data = await self._tcp(server, wire)
        except OSError as exc:
            return Answer(name, rdtype, "ERROR", resolver=label, at=at, error=f"{type(exc).__name__}: {exc}")
        elapsed = (time.perf_counter() - started) * 1000
        if data is None:
            return Answer(name, rdtype, "TIMEOUT", resolver=label, at=at, elapsed_ms=elapsed, tcp=tcp)
        try:
            response = dnswire.parse_response(data)
        except dnswire.WireError as exc:
            return Answer(name, rdtype, "FORMERR", resolver=label, at=at, elapsed_ms=elapsed, tcp=tcp,
                          error=f"malformed response: {exc}")
        status = response.rcode
        if status == "NOERROR" and not any(r.rdtype == rdtype for r in response.answers):
            status = "NODATA" if not any(r.rdtype == "CNAME" for r in response.answers) else "NOERROR"
        if status not in STATUSES:
            status = "ERROR"
        return Answer(name, rdtype, status, response.answers, label, at, elapsed, tcp)

    async def _channel(self, server: tuple[str, int]) -> _UDPChannel:
        """The one UDP socket for ``server``, created once even when many queries start together."""
        channel = self._channels.get(server)
        if channel is not None:
            return channel
        opening = self._opening.get(server)
        if opening is None:
            loop = asyncio.get_running_loop()
            family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
            opening = asyncio.ensure_future(
                loop.create_datagram_endpoint(_UDPChannel, remote_addr=server, family=family))
            self._opening[server] = opening
        try:
            _, channel = await asyncio.shield(opening)
        finally:
            if opening.done():
                self._opening.pop(server, None)
        self._channels[server] = channel
        return channel

    async def _udp(self, server: tuple[str, int], qid: int, wire: bytes, question: bytes) -> bytes | None:
        channel = await self._channel(server)
        while qid in channel.pending:
            qid = random.getrandbits(16)
            wire = struct.pack("!H", qid) + wire[2:]
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        channel.pending[qid] = (future, question)
        # a timer that resolves the future to None is much cheaper than asyncio.wait_for's wrapper
        timer = loop.call_later(self.timeout, _expire, future)
        try:
            assert channel.transport is not None
            channel.transport.sendto(wire)
            return await future
        finally:
            timer.cancel()
            channel.pending.pop(qid, None)

    async def _tcp(self, server: tuple[str, int], wire: bytes) -> bytes | None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(*server), self.timeout)
        except asyncio.TimeoutError:
            return None
        try:
            writer.write(struct.pack("!H", len(wire)) + wire)
            await writer.drain()
            size = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), self.timeout))[0]
            return await asyncio.wait_for(reader.readexactly(size), self.timeout)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError):
            return None
        finally:
            writer.close()


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


_clock = {"second": -1, "text": ""}


def _now() -> str:
    """UTC time to the second, formatted once per second (it is stamped on every answer)."""
    second = int(time.time())
    if second != _clock["second"]:
        _clock["second"] = second
        _clock["text"] = dt.datetime.fromtimestamp(second, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _clock["text"]
