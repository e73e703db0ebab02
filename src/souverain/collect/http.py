"""HTTP/1.1 on asyncio streams, bounded against hostile servers: the pieces of one request.

What a request goes to (``RequestTarget``), the response head (status and headers, 1xx skipped,
size-bounded), the headers kept as evidence, the body within a byte budget (sized, chunked or
until close) and its text. ``describe`` turns a network failure into the short, stable string
evidence carries; the recording proxy uses it too. The site fetch that strings requests together
(redirects, HTTPS then HTTP) is in ``collect/web.py``.
"""

from __future__ import annotations

import asyncio
import codecs
import dataclasses
import errno
import re
import ssl
from typing import TypeAlias
from urllib.parse import quote, urlsplit

from souverain.kb.hostnames import is_address, normalise_host

DEFAULT_USER_AGENT = "souverain/0.1 (+sovereignty audit)"
MAX_HEADER_BYTES = 64 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Response headers kept as evidence: they name servers, CDNs and clouds. Anything else (cookies,
# tokens) is dropped so results never carry secrets or bulk.
KEPT_HEADERS = (
    "server", "content-type", "x-powered-by", "via", "x-served-by", "x-cache", "cf-ray",
    "x-amz-cf-id", "x-azure-ref", "strict-transport-security",
)
READ_SIZE = 64 * 1024
_MAX_HEADER_VALUE = 1024
_REQUEST_HOST = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")

Reader: TypeAlias = asyncio.StreamReader
Writer: TypeAlias = asyncio.StreamWriter
Headers: TypeAlias = list[tuple[str, str]]  # (lowercased name, value) in received order


class RequestFailed(Exception):
    """One request failed; ``reason`` is the evidence string, ``connecting`` says the connection
    itself could not be made (so plain HTTP may still be tried)."""

    def __init__(self, reason: str, *, connecting: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.connecting = connecting


def request_host(host: str) -> str | None:
    """The host as it goes into SNI and Host (normalised, IDNA for non-ASCII names), or None
    when no request can name it."""
    try:
        host = normalise_host(host)
    except ValueError:
        return None
    return host if is_address(host) or _REQUEST_HOST.fullmatch(host) else None


@dataclasses.dataclass(frozen=True)
class RequestTarget:
    """Where an http(s) URL sends its request."""

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def from_url(cls, url: str) -> RequestTarget | None:
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
        host = request_host(parts.hostname)
        return cls(parts.scheme, host, port, path) if host else None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default_port = 443 if self.scheme == "https" else 80
        return host if self.port == default_port else f"{host}:{self.port}"


def describe(exc: BaseException) -> str:
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
        named: dict[int | None, str] = {errno.ENETUNREACH: "network unreachable",
                                        errno.EHOSTUNREACH: "host unreachable"}
        return named.get(exc.errno, f"network: {(exc.strerror or str(exc)).lower()}")
    return f"{type(exc).__name__}: {exc}"


async def read_head(reader: Reader) -> tuple[int, Headers]:
    """Status and headers (names lowercased), skipping 1xx interim responses; bounded."""
    total = 0  # over all interim responses too: an endless stream of "100 Continue" is bounded
    while True:
        lines: list[str] = []
        while True:
            try:
                line = await reader.readline()
            except ValueError:  # one line longer than the stream limit
                raise RequestFailed("headers too large") from None
            total += len(line)
            if total > MAX_HEADER_BYTES:
                raise RequestFailed("headers too large")
            if not line:
                raise RequestFailed("connection closed" if lines else "empty response")
            if line in (b"\r\n", b"\n"):
                break
            lines.append(line.decode("latin-1").rstrip("\r\n"))
        match = re.match(r"HTTP/1\.[01] (\d{3})", lines[0]) if lines else None
        if not match:
            raise RequestFailed(f"bad response: {lines[0][:100]!r}" if lines else "bad response")
        status = int(match.group(1))
        if 100 <= status < 200 and status != 101:
            continue
        headers = []
        for text in lines[1:]:
            name, sep, value = text.partition(":")
            if sep:
                headers.append((name.strip().lower(), value.strip()))
        return status, headers


def kept_headers(headers: Headers) -> dict[str, str]:
    """The ``KEPT_HEADERS`` of a response, repeated ones joined, each value bounded."""
    kept: dict[str, str] = {}
    for name, value in headers:
        if name in KEPT_HEADERS:
            kept[name] = f"{kept[name]}, {value}" if name in kept else value
    return {name: value[:_MAX_HEADER_VALUE] for name, value in kept.items()}


class Body:
    """A response body read within ``max_bytes``: what was read is kept when the read fails, is
    cut at the bound, or is cancelled by a deadline."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.data = bytearray()
        self.truncated = False

    async def read(self, reader: Reader, status: int, headers: Headers) -> str | None:
        """Read the body framed as ``headers`` say; the error for evidence, None when complete."""
        if status in (204, 304):
            return None
        encoding = ",".join(v for k, v in headers if k == "transfer-encoding").lower()
        lengths = {v.strip() for k, v in headers if k == "content-length"}
        try:
            if "chunked" in encoding:
                return await self._read_chunked(reader)
            if len(lengths) == 1 and (length := lengths.pop()).isdigit():
                await self._read_sized(reader, int(length))
            else:
                while (chunk := await reader.read(READ_SIZE)) and self._keep(chunk):
                    pass
        except (OSError, asyncio.IncompleteReadError) as exc:
            cut = isinstance(exc, asyncio.IncompleteReadError)
            return "incomplete body" if cut else describe(exc)
        return None

    def _keep(self, chunk: bytes) -> bool:
        """Append within ``max_bytes``; False once the bound is hit (the rest is not read)."""
        room = self.max_bytes - len(self.data)
        self.data += chunk[:room]
        if len(chunk) > room:
            self.truncated = True
            return False
        return True

    async def _read_sized(self, reader: Reader, length: int) -> bool:
        while length > 0:
            chunk = await reader.read(min(READ_SIZE, length))
            if not chunk:
                raise asyncio.IncompleteReadError(b"", length)
            length -= len(chunk)
            if not self._keep(chunk):
                return False
        return True

    async def _read_chunked(self, reader: Reader) -> str | None:
        while True:
            try:
                line = await reader.readline()
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:  # a size line over the stream limit, or not hexadecimal
                return "bad response: chunk size"
            if size == 0 or not await self._read_sized(reader, size):
                return None  # trailers are ignored: the connection is closed anyway
            await reader.readline()


def html_text(content_type: str, body: bytes | bytearray) -> str | None:
    """The text of an HTML body in its declared charset (UTF-8 when unknown), None if not HTML."""
    if not body or not _is_html(content_type, body):
        return None
    return bytes(body).decode(_charset(content_type, body), errors="replace")


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


def _charset(content_type: str, body: bytes | bytearray) -> str:
    match = re.search(r"""charset\s*=\s*["']?([\w.:-]+)""", content_type, re.IGNORECASE)
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
