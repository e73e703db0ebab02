"""A recording HTTP proxy on 127.0.0.1: the only way out for the headless browser.

Chromium is started with ``--proxy-server`` pointing here (loopback included), so every host a
page contacts arrives as ``CONNECT host:port`` (HTTPS, WSS) or an absolute-form request (plain
HTTP). The proxy resolves the name with *our* resolver (``--nameserver`` is honoured, tests stay
on a loopback DNS server), applies ``--connect-to`` rules like the web collector, connects, relays
the bytes without looking inside TLS, and records each connection: host, port, the address meant,
bytes each way, error. Browser certificate checks stay end to end.

Gated: a connection is made only when ``admit(host)`` says so; the browser collector admits the
hosts the page was seen to request, so the browser's own background traffic (sign-in checks,
component updates: some cannot be switched off by flags) is refused and recorded, never sent.
Bounded: connections per run, bytes per run, time to connect.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Self
from urllib.parse import urlsplit

from souverain.collect.connect import ConnectMap
from souverain.collect.http import describe, request_host
from souverain.errors import SouverainError
from souverain.kb.hostnames import ip_literals

MAX_HEAD_BYTES = 64 * 1024
_READ_SIZE = 64 * 1024
_HOP_BY_HOP = ("proxy-connection", "proxy-authorization", "connection", "keep-alive")

Resolve = Callable[[str], Awaitable[list[str]]]
Admit = Callable[[str], Awaitable[bool]]
NOT_ADMITTED = "not requested by the page (browser background traffic)"


@dataclasses.dataclass
class Connection:
    """One connection the browser asked the proxy to open."""

    host: str
    port: int
    method: str  # CONNECT (TLS, WebSocket) or the HTTP method of a plain-HTTP request
    address: str | None = None  # the resolved address meant, never a --connect-to override
    status: str = "open"  # (admitting ->) open -> ok | error | refused
    error: str | None = None
    sent: int = 0  # bytes from the browser to the server
    received: int = 0  # bytes from the server to the browser
    started: float = 0.0  # seconds since the proxy started
    elapsed_ms: float = 0.0


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class RecordingProxy:
    """``async with RecordingProxy(resolve) as proxy:`` then ``proxy.url`` for
    ``--proxy-server``."""

    def __init__(self, resolve: Resolve, *, admit: Admit | None = None,
                 connect_map: ConnectMap | None = None,
                 max_connections: int = 500, max_bytes: int = 64_000_000,
                 connect_timeout: float = 5.0, allow_private: bool = False) -> None:
        self.resolve = resolve
        self.admit = admit
        self.connect_map = connect_map or ConnectMap()
        self.max_connections, self.max_bytes = max_connections, max_bytes
        self.connect_timeout = connect_timeout
        self.allow_private = allow_private
        self.connections: list[Connection] = []
        self.dropped = 0  # connections refused because max_connections was reached
        self.truncated = False  # the byte budget ran out and relays were cut
        self.port: int | None = None
        self._bytes = 0
        self._made = 0  # admitted connections (max_connections applies to these)
        self._started = time.monotonic()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._addresses: dict[str, asyncio.Future] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0,
                                                  limit=MAX_HEAD_BYTES)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for item in self.connections:
            if item.status == "open":  # still relaying when the page run ended
                item.status = "ok"
            elif item.status == "admitting":
                item.status, item.error = "refused", NOT_ADMITTED
        for future in self._addresses.values():
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()  # retrieved: no "never retrieved" warning

    # -- one client connection ---------------------------------------------------------
    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            # close() cancels us; ending normally keeps asyncio's stream callback (3.11) from
            # logging the cancellation as an unhandled error.
            pass
        finally:
            self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        record: Connection | None = None
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            method, host, port, forward = _parse_head(head)
            record = self._record(method, host, port)
            if self.admit is not None:
                record.status = "admitting"
                if not await self.admit(host):
                    raise _Refused(403, NOT_ADMITTED)
                record.status = "open"
            self._made += 1
            if self._made > self.max_connections:
                self.dropped += 1
                raise _Refused(503, "too many connections")
            upstream_reader, upstream = await self._open(record)
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            else:
                upstream.write(forward)
                record.sent += len(forward)
            request = asyncio.ensure_future(self._relay(reader, upstream, record, "sent"))
            try:
                await self._relay(upstream_reader, writer, record, "received")
                if method == "CONNECT":  # a tunnel lasts until both sides are done
                    await request
            finally:
                request.cancel()  # plain HTTP: one request per connection (we asked for close)
                await asyncio.gather(request, return_exceptions=True)
            record.status = "ok"
        except _Refused as refused:
            if record is not None:
                record.status = "refused" if refused.code in (403, 503) else "error"
                record.error = refused.reason
            await _answer(writer, refused.code, refused.reason)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                TimeoutError) as exc:
            if record is not None and record.status == "open":
                record.status, record.error = "error", describe(exc)
        finally:
            if record is not None:
                elapsed = time.monotonic() - self._started - record.started
                record.elapsed_ms = round(elapsed * 1000, 1)
            for stream in (writer, upstream):
                if stream is not None:
                    stream.transport.abort()

    def _record(self, method: str, host: str, port: int) -> Connection:
        if len(self.connections) >= 2 * self.max_connections:  # refused ones count here only
            self.dropped += 1
            raise _Refused(503, "too many connections")
        record = Connection(host, port, method, started=self._elapsed())
        self.connections.append(record)
        return record

    def _elapsed(self) -> float:
        return round(time.monotonic() - self._started, 3)

    async def _open(self, record: Connection) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        addresses = await self._addresses_for(record.host)
        if not self.allow_private:
            addresses = [a for a in addresses if ipaddress.ip_address(a).is_global]
            if not addresses:
                raise _Refused(403, "not a public address "
                                    "(the page may not reach private networks)")
        to_host, to_port = self.connect_map.target(record.host, record.port)
        if to_host != record.host:  # --connect-to: one endpoint; evidence keeps the real address
            endpoints = [(to_host, to_port, addresses[0])]
        else:
            endpoints = [(address, to_port, address) for address in addresses]
        error = "no address"
        for connect_host, port, meant in endpoints:
            record.address = meant
            try:
                async with asyncio.timeout(self.connect_timeout):
                    return await asyncio.open_connection(connect_host, port,
                                                         flags=socket.AI_NUMERICHOST)
            except OSError as exc:  # TimeoutError included
                error = describe(exc)
        raise _Refused(502, error)

    async def _addresses_for(self, host: str) -> list[str]:
        """Each name is resolved once per run, however many connections the browser opens."""
        if ip_literals([host]):
            return [host]
        if host not in self._addresses:
            self._addresses[host] = asyncio.ensure_future(self.resolve(host))
        try:
            addresses = ip_literals(await asyncio.shield(self._addresses[host]))
        except (OSError, SouverainError) as exc:
            raise _Refused(502, f"resolve {host}: {describe(exc)}") from exc
        if not addresses:
            raise _Refused(502, f"no address for {host}")
        return addresses

    async def _relay(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter,
                     record: Connection, counter: str) -> None:
        try:
            while chunk := await source.read(_READ_SIZE):
                if self._bytes + len(chunk) > self.max_bytes:
                    self.truncated = True
                    record.error = "byte budget of the page exhausted"
                    break
                self._bytes += len(chunk)
                setattr(record, counter, getattr(record, counter) + len(chunk))
                sink.write(chunk)
                await sink.drain()
        except OSError:
            pass
        finally:
            if sink.can_write_eof() and not sink.is_closing():
                try:
                    sink.write_eof()
                except OSError:
                    pass


def _parse_head(head: bytes) -> tuple[str, str, int, bytes]:
    """(method, host, port, bytes to forward) of a proxy request; _Refused if unusable."""
    request_line, *lines = head.decode("latin-1").split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _Refused(400, "bad request line")
    method, target, version = parts
    if method == "CONNECT":
        host, sep, port_text = target.rpartition(":")
        host = host.strip("[]")
        default = None
    else:
        try:
            url = urlsplit(target)
            port_text, host, sep = str(url.port or ""), url.hostname or "", ""
        except ValueError:
            raise _Refused(400, "bad url") from None
        if url.scheme != "http":
            raise _Refused(400, "only http:// URLs are proxied in the clear")
        default = 80
    name = request_host(host) if host else None
    if name is None:
        raise _Refused(400, "bad host")
    if port_text.isdigit() and 0 < int(port_text) < 65536:
        port = int(port_text)
    elif default is not None and not port_text and not sep:
        port = default
    else:
        raise _Refused(400, "bad port")
    forward = b""
    if method != "CONNECT":
        path = url.path or "/"
        path += f"?{url.query}" if url.query else ""
        kept = [line for line in lines
                if line and line.partition(":")[0].strip().lower() not in _HOP_BY_HOP]
        forward = "\r\n".join(
            [f"{method} {path} {version}", *kept, "Connection: close", "", ""]).encode("latin-1")
    return method, name, port, forward


async def _answer(writer: asyncio.StreamWriter, code: int, reason: str) -> None:
    text = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway",
            503: "Service Unavailable"}[code]
    body = reason.encode("utf-8", "replace")
    try:
        writer.write(f"HTTP/1.1 {code} {text}\r\nContent-Type: text/plain\r\n"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                     .encode("latin-1") + body)
        await writer.drain()
    except OSError:
        pass
