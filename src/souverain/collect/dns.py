"""Asynchronous stub resolver: UDP with id-matched futures, retries, TCP on truncation.

One UDP socket per name server carries every query (large receive buffer, random ids), which
is what lets one Python process sustain thousands of queries a second. Failures are answers:
SERVFAIL, REFUSED, NXDOMAIN and TIMEOUT come back as ``Answer.status``, never as exceptions,
so a hostile or broken zone cannot stop a scan.

Retries and caching (the decision, and why):

- Definitive answers (NOERROR, NODATA, NXDOMAIN) are cached for the resolver's life: a survey
  asks about the same provider hosts for thousands of domains, and these answers describe the
  zone, not the moment.
- Failures are never cached beyond the life of the query that met them. Questions asked while it
  is in flight share its outcome; the next question about the same name asks again. One transient
  failure on a shared host (``*.mail.protection.outlook.com``) must not stick to every later domain.
  The cost: a host that always fails is asked again for each domain that names it, at most
  ``timeout`` x attempts each, within the concurrency limit.
- Transient failures are retried, bounded: TIMEOUT and UNREACHABLE (a network error on the
  socket: ICMP unreachable, no route) up to ``retries`` more times; SERVFAIL once more (up to
  ``retries`` when several servers are given); REFUSED only when another server can be asked
  (a server's refusal is its policy and does not change on a second try). Each retry goes to the
  next name server of the list. FORMERR (a malformed answer, or one that does not echo the
  question over TCP) is not retried: the server would send it again. Nothing is retried on the
  success path, which costs one dictionary look-up per answer.
- An answer is accepted only when it echoes the question: over UDP, a datagram whose id, question
  count or question section (name, type, class) differs is dropped as stray or spoofed and the
  query keeps waiting; over TCP (one connection per question) such an answer is a FORMERR.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import errno
import ipaddress
import random
import socket
import struct
import time
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar, NamedTuple, Protocol, Self

from souverain.collect import dnswire
from souverain.errors import UsageError

_TAIL = dnswire.query_tail()
STATUSES = ("NOERROR", "NODATA", "NXDOMAIN", "SERVFAIL", "REFUSED", "TIMEOUT", "UNREACHABLE", "FORMERR", "ERROR")
DEFINITIVE = frozenset({"NOERROR", "NODATA", "NXDOMAIN"})  # cached; any other status is a failure
NO_RESPONSE = ("TIMEOUT", "UNREACHABLE")  # nothing came back from the server


def answered(stats: dict) -> int:
    """Queries a name server responded to (any rcode) in a resolver's ``stats``: none at all, with
    queries sent, means the resolver is unreachable rather than the targets failing."""
    return sum(count for status, count in stats.items() if status in STATUSES and status not in NO_RESPONSE)


class Answer(NamedTuple):
    """The outcome of one question (a tuple: built for every answer, so it must be cheap)."""

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
        return self.status not in DEFINITIVE

    def values(self, rdtype: str | None = None) -> list[str]:
        wanted = rdtype or self.rdtype
        return [r.value for r in self.records if r.rdtype == wanted]

    def cname_chain(self) -> list[str]:
        """Targets of the CNAME records in the answer, in order from the queried name."""
        chain: list[str] = []
        current = self.name
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


class Questions(Protocol):
    """What asks DNS questions: the ``Resolver``, or a test's stand-in (a protocol, not the class:
    compiled with mypyc, a parameter typed ``Resolver`` would refuse any other object)."""

    def query(self, name: str, rdtype: str) -> asyncio.Future[Answer]: ...


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


class _Query:
    """One question in flight: its waiters, the attempt and the datagram it is waiting for."""

    __slots__ = ("at", "attempt", "channel", "key", "qid", "question", "rotate", "sends", "started", "waiters")

    def __init__(self, key: tuple[str, str], question: bytes, rotate: int) -> None:
        self.key = key
        self.question = question  # the question section, encoded once; echoed by every answer
        self.waiters: list[asyncio.Future] = []
        self.attempt = 0
        self.rotate = rotate
        self.qid = 0
        self.started = 0.0
        self.at = ""
        self.sends = 0  # numbers the attempts, so a deadline of an earlier attempt is recognised as stale
        self.channel: _Channel | None = None


class _Channel:
    """One non-blocking connected UDP socket to one server, read straight from the event loop.

    ``loop.add_reader`` and a drain loop instead of an asyncio transport: each wake-up reads every
    datagram waiting, and nothing is allocated per packet but the bytes themselves.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, server: tuple[str, int], resolver: Resolver) -> None:
        family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
        self.server = server
        self.label = f"[{server[0]}]:{server[1]}" if family == socket.AF_INET6 else f"{server[0]}:{server[1]}"
        self.pending: dict[int, _Query] = {}
        self.outbox: list[tuple[bytes, _Query]] = []  # datagrams of this loop iteration, sent together
        self.loop = loop
        self.resolver = resolver
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self.sock.setblocking(False)
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                try:
                    self.sock.setsockopt(socket.SOL_SOCKET, option, 4 * 1024 * 1024)
                except OSError:
                    pass
            self.sock.connect(server)  # a connected socket only accepts datagrams from the server
            loop.add_reader(self.sock.fileno(), self._readable)
        except BaseException:
            self.sock.close()
            raise

    def _readable(self) -> None:
        received = self.resolver._received
        for _ in range(512):  # bounded, so one busy socket cannot starve the loop
            try:
                data = self.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. ICMP port unreachable reported on the connected socket
                self.resolver._channel_error(self, exc)
                return
            received(self, data)

    def close(self) -> None:
        try:
            self.loop.remove_reader(self.sock.fileno())
        except (ValueError, RuntimeError):  # loop already closed
            pass
        self.sock.close()


class Resolver:
    """Bounded, retrying, caching async stub resolver.

    ``query`` returns a future at once: the question is encoded on the caller's own stack (no task
    per query) and leaves with the other questions of the same loop iteration (``_flush``),
    answers are matched by id in the socket's read callback, and retries, the TCP
    fallback and the concurrency and ``qps`` limits are driven by callbacks and one timeout sweeper. Only a
    truncated answer starts a task (the TCP exchange).
    """

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
        known: Iterable[Answer] = (),
    ) -> None:
        self.nameservers = list(nameservers or system_nameservers())
        self.timeout = timeout
        self.retries = retries
        self.recursion = recursion
        self._concurrency = max(1, concurrency)
        self._active = 0
        self._waiting: collections.deque[_Query] = collections.deque()
        self._qps = qps
        self._next_slot = 0.0
        self._channels: dict[tuple[str, int], _Channel] = {}
        self._outboxes: list[_Channel] = []  # channels with datagrams waiting for ``_flush``
        self._tcp_tasks: set[asyncio.Task] = set()
        # (name, type) -> Answer once known, or the _Query still in flight (its waiters share it)
        self._cache: collections.OrderedDict[tuple[str, str], Answer | _Query] = collections.OrderedDict()
        self._cache_size = cache_size
        for answer in known:  # shared answers of an earlier resolver of the same run (``shared_answers``)
            self._cache[(answer.name, answer.rdtype)] = answer
        self._shared: set[tuple[str, str]] = set()  # keys asked again while cached: shared names
        self._rotate = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._deadlines: collections.deque[tuple[float, _Query, int]] = collections.deque()
        self._sweeper: asyncio.TimerHandle | None = None
        self._tick = min(0.05, timeout / 4)  # timeouts fire up to this late
        # status -> how many attempts may follow the first (see the module docstring)
        several = len(self.nameservers) > 1
        self._retry_budget = {"TIMEOUT": retries, "UNREACHABLE": retries, "ERROR": retries,
                              "SERVFAIL": retries if several else min(retries, 1),
                              "REFUSED": retries if several else 0}
        self.stats: collections.Counter[str] = collections.Counter()

    async def close(self) -> None:
        """Close the sockets; anything still unanswered gets an ERROR answer, nothing hangs."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for task in list(self._tcp_tasks):
            task.cancel()
        while self._waiting:
            self._settle(self._waiting.popleft(), "resolver closed")
        for channel in self._channels.values():
            for query in list(channel.pending.values()):
                self._forget(query)
                self._settle(query, "resolver closed")
            channel.close()
        self._channels.clear()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def query(self, name: str, rdtype: str) -> asyncio.Future:
        """A future of the Answer for (name, rdtype); concurrent identical questions share one query.

        Each caller gets its own future, so cancelling one waiter never cancels the others.
        """
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        key = (name.rstrip(".").lower(), rdtype)
        waiter = loop.create_future()
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.stats["cache_hits"] += 1
            if len(self._shared) < self._cache_size:
                self._shared.add(key)
            if type(cached) is _Query:
                cached.waiters.append(waiter)
            else:
                waiter.set_result(cached)
            return waiter
        try:
            question = dnswire.question(key[0], rdtype)
        except dnswire.WireError as exc:
            waiter.set_result(Answer(key[0], rdtype, "ERROR", error=str(exc), at=_now()))
            return waiter
        query = _Query(key, question, self._rotate)
        self._rotate += 1
        query.waiters.append(waiter)
        self._cache[key] = query
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        if self._active < self._concurrency:
            self._active += 1
            self._schedule(query)
        else:
            self._waiting.append(query)
        return waiter

    def shared_answers(self) -> list[Answer]:
        """The definitive answers asked for again after they were cached (shared provider hosts,
        not one domain's own names): ``known`` for the next resolver of the same survey run."""
        return [item for key in self._shared if type(item := self._cache.get(key)) is Answer]

    @property
    def _running_loop(self) -> asyncio.AbstractEventLoop:
        """The loop of the first query: everything below runs after one."""
        assert self._loop is not None
        return self._loop

    # -- sending ------------------------------------------------------------------------------

    def _schedule(self, query: _Query) -> None:
        """Send now, or at the next free slot of the ``qps`` politeness limit."""
        if self._qps:
            now = self._running_loop.time()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self._qps
            if slot > now:
                self._running_loop.call_at(slot, self._send, query)
                return
        self._send(query)

    def _channel(self, server: tuple[str, int]) -> _Channel:
        channel = self._channels.get(server)
        if channel is None:
            channel = self._channels[server] = _Channel(self._running_loop, server, self)
        return channel

    def _send(self, query: _Query) -> None:
        if self._closed:  # a send the qps limit had scheduled for later
            self._settle(query, "resolver closed")
            return
        server = self.nameservers[(query.rotate + query.attempt) % len(self.nameservers)]
        query.started = time.perf_counter()
        query.at = _now()
        self.stats["queries"] += 1
        try:
            channel = self._channel(server)
        except OSError as exc:
            query.channel = None
            self._outcome(query, self._answer(query, _network_status(exc), error=f"{type(exc).__name__}: {exc}",
                                              label=f"{server[0]}:{server[1]}"))
            return
        qid = random.getrandbits(16)
        while qid in channel.pending:
            qid = random.getrandbits(16)
        wire = dnswire.query_header(qid, recursion=self.recursion) + query.question + _TAIL
        query.qid = qid
        query.channel = channel
        channel.pending[qid] = query
        query.sends += 1
        self._deadlines.append((query.started + self.timeout, query, query.sends))
        if self._sweeper is None:
            self._sweeper = self._running_loop.call_later(self._tick, self._sweep)
        if not channel.outbox:
            self._outboxes.append(channel)
            if len(self._outboxes) == 1:
                self._running_loop.call_soon(self._flush)
        channel.outbox.append((wire, query))

    def _flush(self) -> None:
        """Send the datagrams queued during the last loop iteration, back to back.

        Sent together, they reach the server in a burst that it reads with one wake-up (NSD reads
        up to 100 datagrams per system call): a trickle of single datagrams costs a loopback
        server about half again as much CPU per query, and the survey shares the machine with it.
        """
        channels, self._outboxes = self._outboxes, []
        for channel in channels:
            outbox, channel.outbox = channel.outbox, []
            send = channel.sock.send
            for wire, query in outbox:
                if channel.pending.get(query.qid) is not query:
                    continue  # settled meanwhile (the resolver closed, a channel error)
                try:
                    send(wire)
                except OSError as exc:
                    self._forget(query)
                    self._outcome(query, self._answer(query, _network_status(exc),
                                                      error=f"{type(exc).__name__}: {exc}"))

    def _forget(self, query: _Query) -> None:
        """Stop waiting for the datagram of ``query``'s current attempt (its deadline goes stale)."""
        channel = query.channel
        if channel is not None and channel.pending.get(query.qid) is query:
            del channel.pending[query.qid]

    # -- receiving ----------------------------------------------------------------------------

    def _received(self, channel: _Channel, data: bytes) -> None:
        if len(data) < 12:
            return
        query = channel.pending.get((data[0] << 8) | data[1])
        # the answer must echo our question (defends against stray or spoofed datagrams)
        if query is None or not _echoes(query.question, data):
            return
        self._forget(query)
        if data[2] & 0x02:  # TC: truncated, ask again over TCP
            self.stats["tcp_fallbacks"] += 1
            task = self._running_loop.create_task(self._tcp_exchange(query, channel.server))
            self._tcp_tasks.add(task)
            task.add_done_callback(self._tcp_tasks.discard)
            return
        self._outcome(query, self._parse(query, data, tcp=False))

    def _sweep(self) -> None:
        """Time out the attempts whose deadline has passed.

        One timer for all queries instead of one per query: the timeout is the same for every
        attempt, so deadlines are appended in order and expire from the left of one deque.
        """
        now = time.perf_counter()
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            _, query, sends = deadlines.popleft()
            channel = query.channel
            if sends == query.sends and channel is not None and channel.pending.get(query.qid) is query:
                self._forget(query)
                self._outcome(query, self._answer(query, "TIMEOUT"))
        self._sweeper = self._running_loop.call_later(self._tick, self._sweep) if deadlines and not self._closed else None

    def _channel_error(self, channel: _Channel, exc: OSError) -> None:
        status = _network_status(exc)
        for query in list(channel.pending.values()):
            self._forget(query)
            self._outcome(query, self._answer(query, status, error=f"{type(exc).__name__}: {exc}"))

    async def _tcp_exchange(self, query: _Query, server: tuple[str, int]) -> None:
        wire = dnswire.query_header(query.qid, recursion=self.recursion) + query.question + _TAIL
        try:
            data = await self._tcp(server, wire)
        except asyncio.CancelledError:
            self._settle(query, "resolver closed")
            raise
        except OSError as exc:
            answer = self._answer(query, _network_status(exc), error=f"{type(exc).__name__}: {exc}", tcp=True)
        else:
            if data is None:
                answer = self._answer(query, "TIMEOUT", tcp=True)
            elif data[:2] != wire[:2] or not _echoes(query.question, data):
                answer = self._answer(query, "FORMERR", tcp=True,
                                      error="the answer over TCP does not echo the question (id or question differs)")
            else:
                answer = self._parse(query, data, tcp=True)
        self._outcome(query, answer)

    async def _tcp(self, server: tuple[str, int], wire: bytes) -> bytes | None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(*server), self.timeout)
        except TimeoutError:
            return None
        try:
            writer.write(struct.pack("!H", len(wire)) + wire)
            await writer.drain()
            size = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), self.timeout))[0]
            return await asyncio.wait_for(reader.readexactly(size), self.timeout)
        except (TimeoutError, asyncio.IncompleteReadError):
            return None
        finally:
            writer.close()

    # -- answers ------------------------------------------------------------------------------

    def _answer(self, query: _Query, status: str, *, records: tuple = (), error: str | None = None,
                tcp: bool = False, label: str | None = None) -> Answer:
        if label is None:
            label = query.channel.label if query.channel is not None else ""
        elapsed = (time.perf_counter() - query.started) * 1000
        return Answer(query.key[0], query.key[1], status, records, label, query.at, elapsed, tcp, error)

    def _parse(self, query: _Query, data: bytes, *, tcp: bool) -> Answer:
        try:
            rcode, answers = dnswire.parse_answers(data, query.key[0])
        except dnswire.WireError as exc:
            return self._answer(query, "FORMERR", tcp=tcp, error=f"malformed response: {exc}")
        rdtype = query.key[1]
        if rcode == "NOERROR":
            types = {r.rdtype for r in answers}
            if rdtype not in types and "CNAME" not in types:
                rcode = "NODATA"
        elif rcode not in STATUSES:
            rcode = "ERROR"
        return self._answer(query, rcode, records=answers, tcp=tcp)

    def _outcome(self, query: _Query, answer: Answer) -> None:
        """Retry a transient failure within its budget (next server of the list), or finish."""
        if query.attempt < self._retry_budget.get(answer.status, 0):
            query.attempt += 1
            self._schedule(query)
            return
        self._finish(query, answer)

    def _finish(self, query: _Query, answer: Answer) -> None:
        self.stats[answer.status] += 1
        self._deliver(query, answer)
        self._active -= 1
        while self._waiting and self._active < self._concurrency and not self._closed:
            self._active += 1
            self._schedule(self._waiting.popleft())

    def _deliver(self, query: _Query, answer: Answer) -> None:
        if self._cache.get(query.key) is query:
            if answer.status in DEFINITIVE:
                self._cache[query.key] = answer
            else:  # a failure lives as long as its query: the next question asks again
                del self._cache[query.key]
        for waiter in query.waiters:
            if not waiter.done():
                waiter.set_result(answer)
        query.waiters = []

    def _settle(self, query: _Query, error: str) -> None:
        """End ``query`` without an answer (the resolver is closing); not cached."""
        if self._cache.get(query.key) is query:
            del self._cache[query.key]
        answer = Answer(query.key[0], query.key[1], "ERROR", at=query.at or _now(), error=error)
        for waiter in query.waiters:
            if not waiter.done():
                waiter.set_result(answer)
        query.waiters = []


def _echoes(question: bytes, data: bytes) -> bool:
    """``data`` answers exactly one question, ours: same name (any case), type and class.

    ``question`` is already lowercase (names are lowercased before they are encoded, and no type
    souverain asks has a byte in A-Z), so only the answer's copy is lowered.
    """
    return data[4:6] == b"\x00\x01" and data[12 : 12 + len(question)].lower() == question


_UNREACHABLE = frozenset({errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN,
                          errno.EHOSTDOWN, errno.ECONNRESET, errno.EADDRNOTAVAIL})


def _network_status(exc: OSError) -> str:
    """UNREACHABLE when the network or the server cannot be reached; ERROR for a local failure."""
    return "UNREACHABLE" if exc.errno in _UNREACHABLE or isinstance(exc, ConnectionError) else "ERROR"


class _Clock:
    second: ClassVar[int] = -1
    text: ClassVar[str] = ""


def _now() -> str:
    """UTC time to the second, formatted once per second (it is stamped on every answer)."""
    second = int(time.time())
    if second != _Clock.second:
        _Clock.second = second
        _Clock.text = dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _Clock.text
