"""RDAP (RFC 9083) look-up of a domain's registrar: one request per domain, bounded and timed out.

Verbs as in checkdmarc: ``choose_server`` picks the server: ``--rdap-url`` when given, else the
IANA bootstrap (RFC 9224) by TLD, else the KB's list of RDAP servers that registries document
outside IANA's file (``kb/data/lists/rdap-servers.yaml``), and says where it came from; ``query_rdap`` does the I/O and raises ``RDAPFailed``;
``parse_registrar`` is pure; ``check_registrar`` never raises for expected failures and returns
a ``RegistrarLookup`` whose ``error`` says why (timeout, HTTP 404, bad JSON...). The registrar is
the entity with the role ``registrar``: its vCard ``fn`` and its IANA registrar id (``publicIds``).

The bundled bootstrap (``kb/bundled/rdap-dns.json``) is IANA's ``dns.json`` (its date: kb/data/README.md); ``--rdap-url``
points the look-up at any server (a loopback test server, or a full mirror).

Politeness (``collect.rdap_pace``): with a ``ServerPacer``, ``check_registrar`` waits for the
server's next slot before each request, and on HTTP 429 or 503 waits as ``Retry-After`` asks
(bounded), retries a bounded number of times, then gives up with ``rate_limited`` set.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import email.utils
import functools
import json
import socket
from collections.abc import Awaitable, Callable, Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from souverain.collect.http import (
    DEFAULT_USER_AGENT,
    MAX_HEADER_BYTES,
    Body,
    RequestFailed,
    RequestTarget,
    describe,
    read_head,
)
from souverain.collect.tls import client_context
from souverain.errors import SouverainError
from souverain.kb.hostnames import is_address

if TYPE_CHECKING:
    from souverain.collect.rdap_pace import ServerPacer
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.schema import RDAPServer

MAX_BODY = 256 * 1024  # an RDAP domain answer is a few kB; anything larger is cut and refused
MAX_LOOKUPS = 4  # RDAP servers rate-limit: at most this many requests in flight per run
# RFC 6585 §4: 429 (Too Many Requests) MAY carry Retry-After; RFC 9110 §15.6.4: so MAY 503 (Service
# Unavailable). RFC 7480 §5.5: an RDAP client that receives 429 SHOULD decrease its query rate and
# honour Retry-After. Both are retried after the pause (``check_registrar``).
BUSY = (429, 503)
Resolve = Callable[[str], Awaitable[list[str]]]
RDAP_LIST = "rdap-servers"  # the KB list (kb/data/lists/) of servers IANA's bootstrap leaves out
BOOTSTRAP_URL = "https://data.iana.org/rdap/dns.json"


class RDAPFailed(SouverainError):
    """One RDAP request failed; ``reason`` is the evidence string."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after  # seconds the server asked to wait (429/503 with Retry-After)


@dataclasses.dataclass(frozen=True, slots=True)
class ServerChoice:
    """Where the look-up of a TLD goes, and why: ``base`` None when no server is known."""

    base: str | None
    origin: Literal["rdap-url", "iana-bootstrap", "kb-list"] | None = None
    source: str | None = None  # the document that names the server (or says there is none)
    source_title: str | None = None
    source_date: str | None = None  # its publication (IANA) or the day it was checked (KB)

    def detail(self) -> dict[str, str]:
        """The evidence fields that say where the server came from."""
        fields = {"server_from": self.origin, "server_source": self.source,
                  "server_source_title": self.source_title, "server_source_date": self.source_date}
        return {key: value for key, value in fields.items() if value}


@dataclasses.dataclass(frozen=True, slots=True)
class RegistrarLookup:
    url: str | None
    name: str | None = None
    iana_id: int | None = None
    http_status: int | None = None
    error: str | None = None
    server: ServerChoice | None = None
    rate_limited: bool = False  # the server kept answering 429/503, or asked for a pause longer than we wait
    tries: int = 1  # requests sent (0: none, the server's pause was too long)


@functools.cache
def _bundled_document() -> dict[str, Any]:
    text = resources.files("souverain.kb").joinpath("bundled", "rdap-dns.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@functools.cache
def bundled_bootstrap() -> dict[str, str]:
    return parse_bootstrap(_bundled_document())


def bundled_publication() -> str | None:
    publication = _bundled_document().get("publication")
    return str(publication) if publication else None


def kb_servers(kb: KnowledgeBase) -> dict[str, RDAPServer]:
    """TLD -> the KB's entry for it (a server, or a sourced "none documented")."""
    from souverain.kb.schema import Checklist

    record = kb.records.get(RDAP_LIST)
    if not isinstance(record, Checklist) or record.deprecated:
        return {}
    return {server.tld: server for server in record.rdap_servers}


def parse_bootstrap(document: dict[str, Any]) -> dict[str, str]:
    """TLD -> base URL (HTTPS preferred) from an RFC 9224 bootstrap document."""
    table: dict[str, str] = {}
    for entry in document.get("services", []):
        tlds, urls = entry[0], entry[1]
        chosen = next((u for u in urls if u.startswith("https://")), urls[0] if urls else None)
        for tld in tlds:
            if chosen:
                table[tld.lower().rstrip(".")] = chosen
    return table


def rdap_base(domain: str, override: str | None = None, bootstrap: dict[str, str] | None = None) -> str | None:
    return choose_server(domain, override, bootstrap).base


def choose_server(domain: str, override: str | None = None, bootstrap: dict[str, str] | None = None,
                  listed: Mapping[str, RDAPServer] | None = None) -> ServerChoice:
    """``--rdap-url``, else IANA's bootstrap, else the KB list (``listed``, from ``kb_servers``)."""
    if override:
        return ServerChoice(override, "rdap-url")
    tld = domain.rstrip(".").rsplit(".", 1)[-1].lower()
    table = bundled_bootstrap() if bootstrap is None else bootstrap
    if tld in table:
        publication = bundled_publication() if bootstrap is None else None
        return ServerChoice(table[tld], "iana-bootstrap", BOOTSTRAP_URL, "IANA RDAP bootstrap for domain names",
                            publication)
    entry = (listed or {}).get(tld)
    if entry is None:
        return ServerChoice(None)
    source = entry.sources[0]
    return ServerChoice(entry.url, "kb-list", str(source.url), source.title, source.retrieved.isoformat())


def domain_url(base: str, domain: str) -> str:
    return f"{base.rstrip('/')}/domain/{quote(domain)}"


async def query_rdap(url: str, *, timeout: float = 10.0, resolve: Resolve | None = None,
                     ca_file: str | None = None) -> dict[str, Any]:
    """GET ``url`` (one request, no redirect followed) and decode its JSON object."""
    target = RequestTarget.from_url(url)
    if target is None:
        raise RDAPFailed("bad url")
    try:
        async with asyncio.timeout(timeout):
            return await _get(target, resolve, ca_file)
    except TimeoutError:
        raise RDAPFailed("timeout") from None
    except RequestFailed as exc:
        raise RDAPFailed(exc.reason) from None
    except OSError as exc:
        raise RDAPFailed(describe(exc)) from None


async def _get(target: RequestTarget, resolve: Resolve | None, ca_file: str | None) -> dict[str, Any]:
    if is_address(target.host):
        addresses = [target.host]
    elif resolve is None:
        raise RDAPFailed("no resolver for the RDAP server")
    else:
        addresses = await resolve(target.host)
    if not addresses:
        raise RDAPFailed("RDAP server has no address")
    context = client_context(ca_file, True) if target.scheme == "https" else None
    reader, writer = await asyncio.open_connection(
        addresses[0], target.port, ssl=context, server_hostname=target.host if context else None,
        limit=MAX_HEADER_BYTES, flags=socket.AI_NUMERICHOST)
    try:
        request = (f"GET {target.path} HTTP/1.1\r\nHost: {target.host_header}\r\n"
                   f"Accept: application/rdap+json, application/json\r\nUser-Agent: {DEFAULT_USER_AGENT}\r\n"
                   "Connection: close\r\n\r\n")
        writer.write(request.encode("ascii", "replace"))
        await writer.drain()
        status, headers = await read_head(reader)
        if status != 200:
            after = next((value for name, value in headers if name == "retry-after"), None) if status in BUSY else None
            raise RDAPFailed(f"HTTP {status}", status, parse_retry_after(after))
        body = Body(MAX_BODY)
        error = await body.read(reader, status, headers)
    finally:
        writer.transport.abort()
    if body.truncated:
        raise RDAPFailed("answer too large", status)
    if error:
        raise RDAPFailed(error, status)
    try:
        data = json.loads(bytes(body.data).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RDAPFailed("bad JSON", status) from None
    if not isinstance(data, dict):
        raise RDAPFailed("bad JSON: not an object", status)
    return data


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: RFC 9110 §10.2.3, ``HTTP-date / delay-seconds``
    (a non-negative decimal integer of seconds after the response); a date in the past is 0; None
    when absent or unreadable."""
    text = (value or "").strip()
    if text.isdigit() and text.isascii():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # RFC 9110 §5.6.7: HTTP dates are UTC ("GMT")
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, (moment - (now or dt.datetime.now(dt.UTC))).total_seconds())


def parse_registrar(data: dict[str, Any]) -> tuple[str | None, int | None]:
    """The registrar's name (vCard ``fn``) and IANA id (``publicIds``) in an RDAP domain answer."""
    for entity in data.get("entities") or []:
        if not isinstance(entity, dict) or "registrar" not in (entity.get("roles") or []):
            continue
        return _vcard_fn(entity.get("vcardArray")), _iana_id(entity.get("publicIds"))
    return None, None


def _vcard_fn(vcard: Any) -> str | None:
    if not (isinstance(vcard, list) and len(vcard) == 2 and isinstance(vcard[1], list)):
        return None
    for prop in vcard[1]:
        if isinstance(prop, list) and len(prop) >= 4 and prop[0] == "fn" and isinstance(prop[3], str):
            return " ".join(prop[3].split())[:200] or None
    return None


def _iana_id(ids: Any) -> int | None:
    for item in ids if isinstance(ids, list) else []:
        if isinstance(item, dict) and str(item.get("type", "")).lower() == "iana registrar id":
            value = str(item.get("identifier", "")).strip()
            if value.isdigit():
                return int(value)
    return None


async def check_registrar(domain: str, *, override: str | None = None, timeout: float = 10.0,
                          resolve: Resolve | None = None, ca_file: str | None = None,
                          bootstrap: dict[str, str] | None = None,
                          listed: Mapping[str, RDAPServer] | None = None,
                          pacer: ServerPacer | None = None,
                          gate: asyncio.Semaphore | None = None) -> RegistrarLookup:
    """``pacer``: the per-server politeness limit shared by the run's look-ups (none: no spacing
    and no retry); ``gate``: the run's cap of requests in flight, held only while a request is."""
    server = choose_server(domain, override, bootstrap, listed)
    if server.base is None:
        error = ("the registry documents no RDAP server for this TLD (knowledge base)" if server.origin == "kb-list"
                 else "no RDAP server known for this TLD")
        return RegistrarLookup(None, error=error, server=server, tries=0)
    url = domain_url(server.base, domain)
    tries, refused = 0, None
    while True:
        if pacer is not None:
            paused = await pacer.wait(server.base)
            if paused is not None:  # the server asked for a longer pause than a look-up waits: no request
                return RegistrarLookup(url, http_status=refused, server=server, rate_limited=True, tries=tries,
                                       error=f"rate-limited: the server asked for a pause of {paused:.0f} s")
        tries += 1
        try:
            async with gate or contextlib.nullcontext():
                data = await query_rdap(url, timeout=timeout, resolve=resolve, ca_file=ca_file)
        except RDAPFailed as exc:
            if exc.status not in BUSY or pacer is None:
                return RegistrarLookup(url, http_status=exc.status, error=exc.reason, server=server, tries=tries)
            pacer.back_off(server.base, exc.retry_after)
            refused = exc.status
            if tries > pacer.retries:
                return RegistrarLookup(url, http_status=exc.status, error=f"rate-limited: {exc.reason} after {tries} tries",
                                       server=server, rate_limited=True, tries=tries)
            continue
        break
    name, iana_id = parse_registrar(data)
    if name is None and iana_id is None:
        return RegistrarLookup(url, http_status=200, error="no registrar in the answer", server=server, tries=tries)
    return RegistrarLookup(url, name, iana_id, 200, server=server, tries=tries)
