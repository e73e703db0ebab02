"""Browser collector (opt-in): run a home page in headless Chromium and record what it loads.

Static HTML shows what a page names; scripts, tag managers and consent banners add more once
they run. This collector drives Debian's Chromium through the Chrome DevTools Protocol over
``--remote-debugging-pipe`` (file descriptors 3 and 4, NUL-separated JSON: no port, no
dependency) and sends all of its traffic through ``collect.proxy.RecordingProxy``, so:

- every host the page contacts is resolved by souverain's resolver (``--nameserver``) and every
  connection is recorded (host, address, port, bytes); Chromium itself resolves nothing
  (``--host-resolver-rules``) and reaches nothing but the proxy (loopback included);
- CDP network events say what was requested (URL, resource type, initiator, status), from the
  page, its frames (out-of-process ones too, via auto-attach) and its workers.

Every run has a fresh temporary profile and HOME, flags that silence the browser's own
background traffic (what slips through before navigation is refused by the proxy and shown),
a total deadline, a settle time after the load event, and caps on requests and connections. The
browser's process group is killed on every path (errors, timeouts, Ctrl-C) and the profile
removed. Failures never raise out of ``browse``: they come back in ``BrowserResult.error``.

The Chromium process and its DevTools pipe are in ``collect.chromium``, the run of one page in
``collect.page_run``; this module runs the home page a scan fetched and turns what the browser
saw into evidence.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import TYPE_CHECKING, Any

from souverain.collect.domain import resolve_host
from souverain.collect.page_run import (
    OUTCOMES,
    BrowserOptions,
    BrowserRequest,
    BrowserResult,
    browse,
)
from souverain.model.evidence import RequestRecord

if TYPE_CHECKING:
    from souverain.collect.dns import Resolver
    from souverain.collect.observation import ObservationBuilder
    from souverain.collect.web import ConnectMap
    from souverain.model.observation import HostAddresses

MAX_RECORDS_PER_HOST = 50


async def observe_site(resolver: Resolver, obs: ObservationBuilder, options: BrowserOptions, *,
                       connect_map: ConnectMap | None = None, ca_file: str | None = None) -> None:
    """Run the home page the web collector fetched in the browser; add the evidence to ``obs``
    and the result to ``obs.browser``. Names are resolved (and recorded as DNS evidence,
    CNAME chains included) through ``resolver``."""
    site = obs.site
    if site is None or site.status is None:  # nothing answered the fetch: no better in a browser
        return
    url = site.redirects[0]["url"] if site.redirects else (site.final_url or site.requested_url)
    resolved: dict[str, HostAddresses] = {}

    async def resolve(host: str) -> list[str]:
        resolved[host] = await resolve_host(resolver, obs, host, "browser-host")
        return list(resolved[host].addresses)

    # A site on a private network may load from it; a public one may not reach into ours.
    allow_private = bool(site.address) and not ipaddress.ip_address(site.address).is_global
    result = await browse(url, resolve=resolve, connect_map=connect_map, ca_file=ca_file,
                          options=options, allow_private=allow_private)
    record_evidence(obs, result, resolved)
    obs.browser = result


def record_evidence(obs: ObservationBuilder, result: BrowserResult,
                    resolved: dict[str, HostAddresses] | None = None) -> None:
    """One ``page-load`` item for the run, and one ``requests`` item per host contacted (the
    URLs, types and initiators, the connections, and the DNS evidence of the name)."""
    resolved = resolved or {}
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    refused = sorted({f"{c.host}:{c.port}" for c in result.connections if c.status == "refused"})
    result.page_evidence = _add(obs, result.url, "page-load", result.outcome, at, {
        "browser": result.browser or "Chromium", "final_url": result.final_url,
        "status": result.status, "error": result.error,
        "elapsed_ms": result.elapsed_ms, "requests": len(result.requests),
        "hosts": len({r.host for r in result.requests} | {c.host for c in result.connections}),
        "truncated": result.truncated, "dialogs": result.dialogs, "refused": refused,
        "url": result.url,
    })
    by_host: dict[str, list[BrowserRequest]] = {}
    for request in result.requests:
        by_host.setdefault(request.host, []).append(request)
    for item in result.connections:
        if item.status != "refused":
            by_host.setdefault(item.host, [])
    for host, requests in by_host.items():
        made = [c for c in result.connections if c.host == host]
        connections = [c for c in made if c.status != "refused"]
        errors = sorted({c.error for c in made if c.error} | {r.error for r in requests if r.error})
        outcomes = [result.request_outcome(r) for r in requests]
        records = [RequestRecord(r.url, r.kind, r.describe(outcome), outcome[0])
                   for r, outcome in zip(requests[:MAX_RECORDS_PER_HOST], outcomes, strict=False)]
        if not requests:
            outcomes = [("loaded", None) if c.status == "ok" and c.received else ("failed", c.error)
                        for c in connections]
            shown = zip(connections[:MAX_RECORDS_PER_HOST], outcomes, strict=False)
            records = [RequestRecord(f"{host}:{c.port}", "connection",
                                     _connection_text(c.method, what, detail), what)
                       for c, (what, detail) in shown]
        dns = list(resolved[host].evidence) if host in resolved else []
        # "ok" when anything loaded; else what became of the first request (refused, blocked...)
        status = "ok" if any(what == "loaded" for what, _ in outcomes) \
            else (outcomes[0][0] if outcomes else "error")
        evidence_id = _add(obs, host, "requests", status, at, {
            "url": requests[0].url if requests else None, "requests": len(requests),
            "connections": len(connections),
            "addresses": sorted({c.address for c in connections if c.address}),
            "ports": sorted({c.port for c in connections}),
            "sent": sum(c.sent for c in connections),
            "received": sum(c.received for c in connections), "errors": errors[:10],
            "cnames": list(resolved[host].cnames) if host in resolved else [], "dns_evidence": dns,
            "browser": result.browser or "Chromium", "page": result.page_evidence,
        }, records)
        result.host_evidence[host] = [evidence_id, result.page_evidence, *dns]


def _connection_text(method: str, what: str, detail: str | None) -> str:
    return f"{method} {OUTCOMES[what]}" + (f" ({detail})" if detail else "")


def _add(obs: ObservationBuilder, subject: str, kind: str, status: str, at: str,
         detail: dict[str, Any], records: list[RequestRecord] | None = None) -> str:
    return obs.add("browser", kind, subject, status, records=records or (), at=at, detail=detail)
