"""Web collector: fetch a site's home page (HTTPS, HTTP as fallback) and list what it loads.

Why a small HTTP/1.1 client of our own rather than a library: the scanner must connect to the
addresses *our* resolver found (so a run can be pointed at a recorded world with
``--nameserver`` and ``--connect-to``) while the TLS SNI, the Host header and the evidence keep
the real name; it must bound everything a hostile server controls (header size, body size,
time, redirects); and it must still read the certificate when verification fails, because the
issuer is evidence either way. asyncio streams and ssl do all of that in a few hundred lines:
``collect/http.py`` (one request), ``collect/tls.py`` (contexts, certificates) and
``collect/connect.py`` (``--connect-to``); this module strings requests into a site fetch.

Network failures never raise: they come back in ``WebResult.error``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from souverain.collect.connect import ConnectMap, ConnectRule
from souverain.collect.http import (
    DEFAULT_USER_AGENT,
    MAX_HEADER_BYTES,
    REDIRECT_STATUSES,
    Body,
    Headers,
    Reader,
    RequestFailed,
    RequestTarget,
    Writer,
    describe,
    html_text,
    kept_headers,
    read_head,
    request_host,
)
from souverain.collect.pagerefs import (
    MAX_RESOURCES,
    RESOURCE_KINDS,
    Resource,
    absolute_http_url,
    extract_resources,
    scan_html,
)
from souverain.collect.tls import client_context, parse_certificate, tls_facts
from souverain.errors import SouverainError, UsageError
from souverain.kb.hostnames import ip_literals

if TYPE_CHECKING:
    from souverain.kb.schema import TagLoader

__all__ = ["MAX_RESOURCES", "RESOURCE_KINDS", "ConnectMap", "ConnectRule", "Resource", "WebResult",
           "extract_resources", "fetch_site", "parse_certificate", "scan_html"]

Resolve = Callable[[str], Awaitable[list[str]]]


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
    tag_loaders: Sequence[TagLoader] = (),
    allow: Callable[[str], bool] | None = None,
) -> WebResult:
    """GET ``https://host/`` (``http://host/`` if HTTPS cannot connect), following redirects.

    Connects only to ``addresses`` (IP literals from the caller's resolver, tried in order) or
    to a ``connect_map`` target; a redirect to another host is followed only when ``resolve``
    (async host -> addresses) is given. ``tag_loaders`` (``kb.indexes.tag_loaders``) name what
    the page's loader snippets fetch. ``allow`` (address -> bool), when given, is asked before
    every connection, redirects included (the web server's SSRF guard). Never raises for network
    problems.
    """
    name = request_host(host)
    if name is None:
        raise UsageError(f"not a host name: {host!r}")
    known = ip_literals(addresses)
    if len(known) != len(addresses):
        raise UsageError(f"fetch_site({host!r}): addresses must be IP literals, got {addresses!r}")
    fetch = _SiteFetch(
        name, known, timeout=timeout, max_redirects=max_redirects, body=Body(max_bytes),
        connect_map=connect_map or ConnectMap(), ca_file=os.fspath(ca_file) if ca_file else None,
        user_agent=user_agent, resolve=resolve, tag_loaders=tag_loaders, allow=allow,
    )
    return await fetch.run()


class _SiteFetch:
    """One ``fetch_site`` call. Fills ``result`` as it goes, so a timeout keeps what was seen."""

    def __init__(self, host: str, addresses: list[str], *, timeout: float, max_redirects: int,
                 body: Body, connect_map: ConnectMap, ca_file: str | None, user_agent: str,
                 resolve: Resolve | None, tag_loaders: Sequence[TagLoader],
                 allow: Callable[[str], bool] | None = None) -> None:
        url_host = f"[{host}]" if ":" in host else host
        self.result = WebResult(requested_url=f"https://{url_host}/")
        self.host = host
        self.addresses = {host: addresses}
        self.timeout, self.max_redirects = timeout, max_redirects
        self.connect_map, self.ca_file = connect_map, ca_file
        self.user_agent, self.resolve = user_agent, resolve
        self.tag_loaders = tag_loaders
        self.allow = allow
        # Each connection attempt gets a share of the budget, so a black-holed IPv6 address or
        # HTTPS port still leaves time for the next address or for plain HTTP.
        self.connect_timeout = max(1.0, timeout / 4)
        self.body = body  # of the final response (redirects are not read)
        self.content_type = ""

    async def run(self) -> WebResult:
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout):
                await self._follow()
        except TimeoutError:
            self.result.error = "timeout"
        self.result.elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        self.result.bytes, self.result.truncated = len(self.body.data), self.body.truncated
        self._read_page()
        return self.result

    async def _follow(self) -> None:
        result, url = self.result, self.result.requested_url
        answered: set[str] = set()  # URLs that gave a response: a Location back to one is a loop
        while True:
            target = RequestTarget.from_url(url)
            if target is None:
                result.error = f"unsupported url: {url[:200]}"
                return
            result.final_url, result.status, result.headers = url, None, {}
            result.address, result.tls = None, None
            try:
                status, headers, reader, writer = await self._request(target)
            except RequestFailed as failure:
                if failure.connecting and not result.redirects and url == result.requested_url:
                    result.https_error = failure.reason
                    url = "http" + url.removeprefix("https")
                    continue
                result.error = failure.reason
                return
            answered.add(url)
            location = next((v for k, v in headers if k == "location"), None)
            try:
                result.status, result.headers = status, kept_headers(headers)
                if status not in REDIRECT_STATUSES or not location:
                    self.content_type = result.headers.get("content-type", "")
                    result.error = await self.body.read(reader, status, headers)
                    return
            finally:
                writer.transport.abort()
            result.redirects.append(
                {"url": url, "status": status, "location": location, "address": result.address})
            next_url = absolute_http_url(location, url)
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
        target = RequestTarget.from_url(url)
        host = target.host if target else ""
        return host in self.addresses or bool(ip_literals([host])) or self.resolve is not None

    # -- one request ---------------------------------------------------------------------
    async def _addresses_for(self, host: str) -> list[str]:
        if host not in self.addresses:
            if ip_literals([host]):
                self.addresses[host] = [host]
            else:
                assert self.resolve is not None  # checked before following the redirect
                try:
                    self.addresses[host] = ip_literals(await self.resolve(host))
                except (OSError, SouverainError) as exc:
                    raise RequestFailed(f"resolve {host}: {describe(exc)}") from exc
        found = self.addresses[host]
        if self.allow is not None:
            refused = [address for address in found if not self.allow(address)]
            found = [address for address in found if address not in refused]
            if refused and not found:
                raise RequestFailed(f"{host}: refused address {refused[0]}")
        if not found:
            raise RequestFailed(f"no address for {host}", connecting=True)
        return found

    async def _request(self, target: RequestTarget) -> tuple[int, Headers, Reader, Writer]:
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
            status, headers = await read_head(reader)
            answered = True
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise RequestFailed(describe(exc)) from exc
        finally:
            if not answered:  # failed, or cancelled by the deadline
                writer.transport.abort()
        return status, headers, reader, writer

    async def _connect(self, target: RequestTarget) -> tuple[Reader, Writer]:
        addresses = await self._addresses_for(target.host)
        to_host, to_port = self.connect_map.target(target.host, target.port)
        if to_host != target.host:  # --connect-to: one endpoint; evidence keeps the real address
            endpoints = [(to_host, to_port, addresses[0])]
        else:
            endpoints = [(address, to_port, address) for address in addresses]
        failure = RequestFailed("no address", connecting=True)
        for connect_host, port, meant in endpoints:
            self.result.address = meant
            try:
                return await self._open(target, connect_host, port)
            except RequestFailed as exc:
                failure = exc
        raise failure

    async def _open(self, target: RequestTarget, host: str, port: int) -> tuple[Reader, Writer]:
        verify_error = None
        for verify in ((True, False) if target.scheme == "https" else (None,)):
            context = None if verify is None else client_context(self.ca_file, verify)
            try:
                async with asyncio.timeout(self.connect_timeout):
                    reader, writer = await asyncio.open_connection(
                        host, port, ssl=context, server_hostname=target.host if context else None,
                        limit=MAX_HEADER_BYTES, flags=socket.AI_NUMERICHOST,  # never a DNS lookup
                    )
            except ssl.SSLCertVerificationError as exc:
                verify_error = describe(exc).removeprefix("tls: ")
                continue  # read the certificate and the page anyway, unverified
            except OSError as exc:
                raise RequestFailed(describe(exc), connecting=True) from exc
            if context is not None:
                self.result.tls = tls_facts(writer.get_extra_info("ssl_object"),
                                            verified=verify is True, error=verify_error)
            return reader, writer
        raise AssertionError("unreachable: the unverified attempt returns or raises")

    def _read_page(self) -> None:
        """Title and resources of the final page, from what was read (even when cut short)."""
        text = html_text(self.content_type, self.body.data)
        if text is not None:
            self.result.resources, self.result.html_title = scan_html(
                text, self.result.final_url or "", self.tag_loaders)
