"""Web collector: fetch a site's home page (HTTPS, HTTP as fallback) and list what it loads.

Why a small HTTP/1.1 client of our own rather than a library: the scanner must connect to the
addresses *our* resolver found (so a run can be pointed at a recorded world with
``--nameserver`` and ``--connect-to``) while the TLS SNI, the Host header and the evidence keep
the real name; it must bound everything a hostile server controls (header size, body size,
time, redirects); and it must still read the certificate when verification fails, because the
issuer is evidence either way. asyncio streams and ssl do all of that in a few hundred lines.

Network failures never raise: they come back in ``WebResult.error``.
"""

from __future__ import annotations

import asyncio
import codecs
import dataclasses
import errno
import functools
import ipaddress
import os
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import quote, urlsplit

from cryptography import x509
from cryptography.x509.oid import NameOID

from souverain.collect.pagerefs import (
    MAX_RESOURCES,
    RESOURCE_KINDS,
    Resource,
    _absolute_http_url,
    extract_resources,
    scan_html,
)
from souverain.errors import SouverainError, UsageError

__all__ = ["MAX_RESOURCES", "RESOURCE_KINDS", "ConnectMap", "ConnectRule", "Resource", "WebResult",
           "extract_resources", "fetch_site", "parse_certificate", "scan_html"]

DEFAULT_USER_AGENT = "souverain/0.1 (+sovereignty audit)"
MAX_HEADER_BYTES = 64 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Response headers kept as evidence: they name servers, CDNs and clouds. Anything else (cookies,
# tokens) is dropped so results never carry secrets or bulk.
KEPT_HEADERS = (
    "server", "content-type", "x-powered-by", "via", "x-served-by", "x-cache", "cf-ray",
    "x-amz-cf-id", "x-azure-ref", "strict-transport-security",
)
_MAX_HEADER_VALUE = 1024
_READ_SIZE = 64 * 1024

Resolve = Callable[[str], Awaitable[list[str]]]
_Reader, _Writer = asyncio.StreamReader, asyncio.StreamWriter
_Headers = list[tuple[str, str]]  # (lowercased name, value) in received order


# -- --connect-to -----------------------------------------------------------------------------

_HOST_FIELD = r"(\[[0-9A-Fa-f:.]+\]|[^:\[\]]*)"
_CONNECT_TO = re.compile(rf"^{_HOST_FIELD}:(\d*):{_HOST_FIELD}:(\d*)$")


@dataclasses.dataclass(frozen=True)
class ConnectRule:
    """One ``HOST1:PORT1:HOST2:PORT2`` rule, as in curl: empty HOST1/PORT1 match anything,
    empty HOST2/PORT2 keep the original."""

    from_host: str = ""
    from_port: int | None = None
    to_host: str = ""
    to_port: int | None = None

    def matches(self, host: str, port: int) -> bool:
        return (not self.from_host or self.from_host == _normal_host(host)) and (
            self.from_port is None or self.from_port == port
        )


@dataclasses.dataclass
class ConnectMap:
    """curl-style ``--connect-to`` rules; the first matching rule wins."""

    rules: list[ConnectRule] = dataclasses.field(default_factory=list)

    @classmethod
    def parse(cls, specs: Iterable[str]) -> ConnectMap:
        if isinstance(specs, str):
            specs = [specs]
        return cls([_parse_rule(spec) for spec in specs])

    def target(self, host: str, port: int) -> tuple[str, int]:
        for rule in self.rules:
            if rule.matches(host, port):
                return rule.to_host or host, rule.to_port or port
        return host, port


def _parse_rule(spec: str) -> ConnectRule:
    problem = f"--connect-to {spec!r}: expected HOST1:PORT1:HOST2:PORT2 (IPv6 in brackets)"
    match = _CONNECT_TO.match(spec.strip())
    if not match:
        raise UsageError(problem)
    from_host, from_port, to_host, to_port = match.groups()
    ports = []
    for text in (from_port, to_port):
        if text and not 0 < int(text) < 65536:
            raise UsageError(f"{problem}: bad port {text!r}")
        ports.append(int(text) if text else None)
    to_host = to_host.strip("[]")
    if to_host:
        # The target must be an address: a name would make us resolve it ourselves.
        try:
            to_host = str(ipaddress.ip_address(to_host))
        except ValueError:
            raise UsageError(f"{problem}: HOST2 must be an IP address") from None
    return ConnectRule(_normal_host(from_host.strip("[]")), ports[0], to_host, ports[1])


def _normal_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


# -- TLS --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _client_context(ca_file: str | None, verify: bool) -> ssl.SSLContext:
    """Contexts are costly to build (the trust store is parsed) and safe to share: cache them."""
    if verify:
        try:
            context = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"cannot load CA file {ca_file}: {exc}") from exc
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


def _name_value(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


def parse_certificate(der: bytes) -> dict[str, Any]:
    """Issuer, subject, names and validity of a DER certificate (raises ValueError if malformed)."""
    cert = x509.load_der_x509_certificate(der)
    try:
        san_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        san = san_ext.get_values_for_type(x509.DNSName) + [
            str(ip) for ip in san_ext.get_values_for_type(x509.IPAddress)
        ]
    except x509.ExtensionNotFound:
        san = []
    return {
        "issuer_organization": _name_value(cert.issuer, NameOID.ORGANIZATION_NAME),
        "issuer_common_name": _name_value(cert.issuer, NameOID.COMMON_NAME),
        "issuer_country": _name_value(cert.issuer, NameOID.COUNTRY_NAME),
        "subject_common_name": _name_value(cert.subject, NameOID.COMMON_NAME),
        "san": san,
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
    }


def _tls_facts(writer: _Writer, verified: bool, error: str | None) -> dict[str, Any]:
    sslobj = writer.get_extra_info("ssl_object")
    cipher = sslobj.cipher() if sslobj else None
    facts: dict[str, Any] = {
        "verified": verified, "error": error, "issuer_organization": None,
        "issuer_common_name": None, "issuer_country": None, "subject_common_name": None,
        "san": [], "not_before": None, "not_after": None,
        "version": sslobj.version() if sslobj else None, "cipher": cipher[0] if cipher else None,
    }
    der = sslobj.getpeercert(binary_form=True) if sslobj else None
    if der:
        try:
            facts.update(parse_certificate(der))
        except ValueError as exc:
            facts["error"] = facts["error"] or f"unreadable certificate: {exc}"
    return facts


# -- fetching ---------------------------------------------------------------------------------


@dataclasses.dataclass
class WebResult:
    """What fetching a site's home page showed. ``final_url``, ``status``, ``address``,
    ``headers`` and ``tls`` describe the last request made; ``redirects`` the ones before it.
    ``error`` may come with a status when the body was cut short (e.g. ``timeout``)."""

    requested_url: str
    final_url: str | None = None
    status: int | None = None
    redirects: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    address: str | None = None  # the resolved address meant, never a --connect-to override
    error: str | None = None
    truncated: bool = False
    bytes: int = 0
    elapsed_ms: float = 0.0
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    tls: dict[str, Any] | None = None
    resources: list[Resource] = dataclasses.field(default_factory=list)
    html_title: str | None = None
    https_error: str | None = None  # why https:// failed when we fell back to http://
    redirect_not_followed: str | None = None  # cross-host Location left alone (no resolve)
    browser: Any = None  # collect.browser.BrowserResult when the page was also run in Chromium

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class _Failed(Exception):
    """Internal: one request failed; ``reason`` becomes ``WebResult.error``."""

    def __init__(self, reason: str, *, connecting: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.connecting = connecting


@dataclasses.dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def from_url(cls, url: str) -> _Target | None:
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        # Locations come from the server: never let them put spaces or CR/LF in our request.
        path = quote(path, safe="/?=&;:@!$'()*+,%~[]")
        host = _ascii_host(parts.hostname)
        return cls(parts.scheme, host, port, path) if host else None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default_port = 443 if self.scheme == "https" else 80
        return host if self.port == default_port else f"{host}:{self.port}"


def _describe(exc: BaseException) -> str:
    """A short, stable error string for evidence."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"tls: certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"tls: {(exc.reason or str(exc)).lower().replace('_', ' ')}"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "connection closed"
    if isinstance(exc, OSError):
        named = {errno.ENETUNREACH: "network unreachable", errno.EHOSTUNREACH: "host unreachable"}
        return named.get(exc.errno, f"network: {(exc.strerror or str(exc)).lower()}")
    return f"{type(exc).__name__}: {exc}"


def _ascii_host(host: str) -> str | None:
    """The host as it goes into SNI and Host (IDNA for non-ASCII names), or None if invalid."""
    host = _normal_host(host)
    if _ip_literals([host]):
        return host
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return None
    return host if re.fullmatch(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*", host) else None


def _ip_literals(values: Iterable[str]) -> list[str]:
    found = []
    for value in values:
        try:
            found.append(str(ipaddress.ip_address(value)))
        except ValueError:
            continue
    return found


async def fetch_site(
    host: str,
    addresses: list[str],
    *,
    timeout: float = 10.0,
    max_bytes: int = 2_000_000,
    max_redirects: int = 5,
    connect_map: ConnectMap | None = None,
    ca_file: str | os.PathLike[str] | None = None,
    user_agent: str = DEFAULT_USER_AGENT,
    resolve: Resolve | None = None,
) -> WebResult:
    """GET ``https://host/`` (``http://host/`` if HTTPS cannot connect), following redirects.

    Connects only to ``addresses`` (IP literals from the caller's resolver, tried in order) or
    to a ``connect_map`` target; a redirect to another host is followed only when ``resolve``
    (async host -> addresses) is given. Never raises for network problems.
    """
    name = _ascii_host(host)
    if name is None:
        raise UsageError(f"not a host name: {host!r}")
    known = _ip_literals(addresses)
    if len(known) != len(addresses):
        raise UsageError(f"fetch_site({host!r}): addresses must be IP literals, got {addresses!r}")
    fetch = _SiteFetch(
        name, known, timeout=timeout, max_bytes=max_bytes, max_redirects=max_redirects,
        connect_map=connect_map or ConnectMap(), ca_file=os.fspath(ca_file) if ca_file else None,
        user_agent=user_agent, resolve=resolve,
    )
    return await fetch.run()


class _SiteFetch:
    """One ``fetch_site`` call. Fills ``result`` as it goes, so a timeout keeps what was seen."""

    def __init__(self, host: str, addresses: list[str], *, timeout: float, max_bytes: int,
                 max_redirects: int, connect_map: ConnectMap, ca_file: str | None,
                 user_agent: str, resolve: Resolve | None) -> None:
        url_host = f"[{host}]" if ":" in host else host
        self.result = WebResult(requested_url=f"https://{url_host}/")
        self.host = host
        self.addresses = {host: addresses}
        self.timeout, self.max_bytes, self.max_redirects = timeout, max_bytes, max_redirects
        self.connect_map, self.ca_file = connect_map, ca_file
        self.user_agent, self.resolve = user_agent, resolve
        # Each connection attempt gets a share of the budget, so a black-holed IPv6 address or
        # HTTPS port still leaves time for the next address or for plain HTTP.
        self.connect_timeout = max(1.0, timeout / 4)
        self.body = bytearray()
        self.content_type = ""

    async def run(self) -> WebResult:
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout):
                await self._follow()
        except TimeoutError:
            self.result.error = "timeout"
        self.result.elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        self._read_page()
        return self.result

    async def _follow(self) -> None:
        result, url = self.result, self.result.requested_url
        answered: set[str] = set()  # URLs that gave a response: a Location back to one is a loop
        while True:
            target = _Target.from_url(url)
            if target is None:
                result.error = f"unsupported url: {url[:200]}"
                return
            result.final_url, result.status, result.headers = url, None, {}
            result.address, result.tls = None, None
            try:
                status, headers, reader, writer = await self._request(target)
            except _Failed as failure:
                if failure.connecting and not result.redirects and url == result.requested_url:
                    result.https_error = failure.reason
                    url = "http" + url.removeprefix("https")
                    continue
                result.error = failure.reason
                return
            answered.add(url)
            location = next((v for k, v in headers if k == "location"), None)
            try:
                result.status, result.headers = status, _kept_headers(headers)
                if status not in REDIRECT_STATUSES or not location:
                    self.content_type = result.headers.get("content-type", "")
                    await self._read_body(reader, status, headers)
                    return
            finally:
                writer.transport.abort()
            result.redirects.append(
                {"url": url, "status": status, "location": location, "address": result.address})
            next_url = _absolute_http_url(location, url)
            if next_url is None:
                result.error = f"redirect to unsupported url: {location[:200]}"
            elif next_url in answered:
                result.error = "redirect loop"
            elif len(result.redirects) > self.max_redirects:
                result.error = "too many redirects"
            elif not self._can_reach(next_url):
                result.redirect_not_followed = next_url
            else:
                url = next_url
                continue
            return

    def _can_reach(self, url: str) -> bool:
        """Known addresses, an IP literal, or a resolver to ask: never our own DNS lookup."""
        target = _Target.from_url(url)
        host = target.host if target else ""
        return host in self.addresses or bool(_ip_literals([host])) or self.resolve is not None

    # -- one request ---------------------------------------------------------------------
    async def _addresses_for(self, host: str) -> list[str]:
        if host not in self.addresses:
            if _ip_literals([host]):
                self.addresses[host] = [host]
            else:
                assert self.resolve is not None  # checked before following the redirect
                try:
                    self.addresses[host] = _ip_literals(await self.resolve(host))
                except (OSError, SouverainError) as exc:
                    raise _Failed(f"resolve {host}: {_describe(exc)}") from exc
        if not self.addresses[host]:
            raise _Failed(f"no address for {host}", connecting=True)
        return self.addresses[host]

    async def _request(self, target: _Target) -> tuple[int, _Headers, _Reader, _Writer]:
        reader, writer = await self._connect(target)
        answered = False
        try:
            request = (
                f"GET {target.path} HTTP/1.1\r\nHost: {target.host_header}\r\n"
                f"User-Agent: {self.user_agent}\r\n"
                "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n"
                "Accept-Encoding: identity\r\nConnection: close\r\n\r\n"
            )
            writer.write(request.encode("ascii", "replace"))
            await writer.drain()
            status, headers = await _read_head(reader)
            answered = True
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise _Failed(_describe(exc)) from exc
        finally:
            if not answered:  # failed, or cancelled by the deadline
                writer.transport.abort()
        return status, headers, reader, writer

    async def _connect(self, target: _Target) -> tuple[_Reader, _Writer]:
        addresses = await self._addresses_for(target.host)
        to_host, to_port = self.connect_map.target(target.host, target.port)
        if to_host != target.host:  # --connect-to: one endpoint; evidence keeps the real address
            endpoints = [(to_host, to_port, addresses[0])]
        else:
            endpoints = [(address, to_port, address) for address in addresses]
        failure = _Failed("no address", connecting=True)
        for connect_host, port, meant in endpoints:
            self.result.address = meant
            try:
                return await self._open(target, connect_host, port)
            except _Failed as exc:
                failure = exc
        raise failure

    async def _open(self, target: _Target, host: str, port: int) -> tuple[_Reader, _Writer]:
        verify_error = None
        for verify in ((True, False) if target.scheme == "https" else (None,)):
            context = None if verify is None else _client_context(self.ca_file, verify)
            try:
                async with asyncio.timeout(self.connect_timeout):
                    reader, writer = await asyncio.open_connection(
                        host, port, ssl=context, server_hostname=target.host if context else None,
                        limit=MAX_HEADER_BYTES, flags=socket.AI_NUMERICHOST,  # never a DNS lookup
                    )
            except ssl.SSLCertVerificationError as exc:
                verify_error = _describe(exc).removeprefix("tls: ")
                continue  # read the certificate and the page anyway, unverified
            except OSError as exc:
                raise _Failed(_describe(exc), connecting=True) from exc
            if context is not None:
                self.result.tls = _tls_facts(writer, verified=verify is True, error=verify_error)
            return reader, writer
        raise AssertionError("unreachable: the unverified attempt returns or raises")

    # -- body ----------------------------------------------------------------------------
    async def _read_body(self, reader: _Reader, status: int, headers: _Headers) -> None:
        if status in (204, 304):
            return
        encoding = ",".join(v for k, v in headers if k == "transfer-encoding").lower()
        lengths = {v.strip() for k, v in headers if k == "content-length"}
        try:
            if "chunked" in encoding:
                await self._read_chunked(reader)
            elif len(lengths) == 1 and (length := lengths.pop()).isdigit():
                await self._read_sized(reader, int(length))
            else:
                while (chunk := await reader.read(_READ_SIZE)) and self._keep(chunk):
                    pass
        except (OSError, asyncio.IncompleteReadError) as exc:
            cut = isinstance(exc, asyncio.IncompleteReadError)
            self.result.error = "incomplete body" if cut else _describe(exc)

    def _keep(self, chunk: bytes) -> bool:
        """Append within ``max_bytes``; False once the bound is hit (the rest is not read)."""
        room = self.max_bytes - len(self.body)
        self.body += chunk[:room]
        self.result.bytes = len(self.body)
        if len(chunk) > room:
            self.result.truncated = True
            return False
        return True

    async def _read_sized(self, reader: _Reader, length: int) -> bool:
        while length > 0:
            chunk = await reader.read(min(_READ_SIZE, length))
            if not chunk:
                raise asyncio.IncompleteReadError(b"", length)
            length -= len(chunk)
            if not self._keep(chunk):
                return False
        return True

    async def _read_chunked(self, reader: _Reader) -> None:
        while True:
            try:
                line = await reader.readline()
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:  # a size line over the stream limit, or not hexadecimal
                self.result.error = "bad response: chunk size"
                return
            if size == 0 or not await self._read_sized(reader, size):
                return  # trailers are ignored: the connection is closed anyway
            await reader.readline()

    def _read_page(self) -> None:
        """Title and resources of the final page, from what was read (even when cut short)."""
        if not self.body or not _is_html(self.content_type, self.body):
            return
        text = bytes(self.body).decode(_charset(self.content_type, self.body), errors="replace")
        self.result.resources, self.result.html_title = scan_html(text, self.result.final_url or "")


async def _read_head(reader: _Reader) -> tuple[int, _Headers]:
    """Status and headers (names lowercased), skipping 1xx interim responses; bounded."""
    total = 0  # over all interim responses too: an endless stream of "100 Continue" is bounded
    while True:
        lines = []
        while True:
            try:
                line = await reader.readline()
            except ValueError:  # one line longer than the stream limit
                raise _Failed("headers too large") from None
            total += len(line)
            if total > MAX_HEADER_BYTES:
                raise _Failed("headers too large")
            if not line:
                raise _Failed("connection closed" if lines else "empty response")
            if line in (b"\r\n", b"\n"):
                break
            lines.append(line.decode("latin-1").rstrip("\r\n"))
        match = re.match(r"HTTP/1\.[01] (\d{3})", lines[0]) if lines else None
        if not match:
            raise _Failed(f"bad response: {lines[0][:100]!r}" if lines else "bad response")
        status = int(match.group(1))
        if 100 <= status < 200 and status != 101:
            continue
        headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers.append((name.strip().lower(), value.strip()))
        return status, headers


def _kept_headers(headers: _Headers) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in headers:
        if name in KEPT_HEADERS:
            kept[name] = f"{kept[name]}, {value}" if name in kept else value
    return {name: value[:_MAX_HEADER_VALUE] for name, value in kept.items()}


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.I)


def _charset(content_type: str, body: bytes | bytearray) -> str:
    match = re.search(r"""charset\s*=\s*["']?([\w.:-]+)""", content_type, re.I)
    name = match.group(1) if match else None
    if name is None and (meta := _META_CHARSET.search(body[:4096])):
        name = meta.group(1).decode("ascii")
    try:
        return codecs.lookup(name or "utf-8").name
    except LookupError:
        return "utf-8"


def _is_html(content_type: str, body: bytes | bytearray) -> bool:
    if content_type:
        return "html" in content_type.lower()
    return bytes(body[:512]).lstrip().startswith(b"<")
