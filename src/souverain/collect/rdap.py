"""RDAP (RFC 9083) look-up of a domain's registrar: one request per domain, bounded and timed out.

Verbs as in checkdmarc: ``rdap_base`` picks the server from the IANA bootstrap (RFC 9224) by TLD,
or ``--rdap-url`` when given; ``query_rdap`` does the I/O and raises ``RDAPFailed``;
``parse_registrar`` is pure; ``check_registrar`` never raises for expected failures and returns
a ``RegistrarLookup`` whose ``error`` says why (timeout, HTTP 404, bad JSON...). The registrar is
the entity with the role ``registrar``: its vCard ``fn`` and its IANA registrar id (``publicIds``).

The bundled bootstrap (``kb/bundled/rdap-dns.json``) is IANA's ``dns.json`` (its date: kb/data/README.md); ``--rdap-url``
points the look-up at any server (a loopback test server, or a full mirror).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import socket
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
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

MAX_BODY = 256 * 1024  # an RDAP domain answer is a few kB; anything larger is cut and refused
MAX_LOOKUPS = 4  # RDAP servers rate-limit: at most this many requests in flight per run
Resolve = Callable[[str], Awaitable[list[str]]]


class RDAPFailed(SouverainError):
    """One RDAP request failed; ``reason`` is the evidence string."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclasses.dataclass(frozen=True, slots=True)
class RegistrarLookup:
    url: str | None
    name: str | None = None
    iana_id: int | None = None
    http_status: int | None = None
    error: str | None = None


@functools.cache
def bundled_bootstrap() -> dict[str, str]:
    text = resources.files("souverain.kb").joinpath("bundled", "rdap-dns.json").read_text(encoding="utf-8")
    return parse_bootstrap(json.loads(text))


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
    if override:
        return override
    table = bundled_bootstrap() if bootstrap is None else bootstrap
    return table.get(domain.rstrip(".").rsplit(".", 1)[-1].lower())


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
            raise RDAPFailed(f"HTTP {status}", status)
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
                          bootstrap: dict[str, str] | None = None) -> RegistrarLookup:
    base = rdap_base(domain, override, bootstrap)
    if base is None:
        return RegistrarLookup(None, error="no RDAP server known for this TLD")
    url = domain_url(base, domain)
    try:
        data = await query_rdap(url, timeout=timeout, resolve=resolve, ca_file=ca_file)
    except RDAPFailed as exc:
        return RegistrarLookup(url, http_status=exc.status, error=exc.reason)
    name, iana_id = parse_registrar(data)
    if name is None and iana_id is None:
        return RegistrarLookup(url, http_status=200, error="no registrar in the answer")
    return RegistrarLookup(url, name, iana_id, 200)
