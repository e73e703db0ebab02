"""The ``registrar`` group of checks: one RDAP look-up per domain, recorded as evidence.

``make_rdap_step`` returns what ``CollectOptions.rdap`` runs for each domain. Politeness towards
the registries' RDAP servers: a run shares one semaphore (``MAX_LOOKUPS`` requests in flight) and
the process's pacer for its rate (``rdap_pace``: ``--rdap-qps`` requests per second per server,
pauses after 429/503). A failure is evidence with its reason, never an exception; a server that
kept refusing gives the status ``rate-limited``. The evidence says which server was asked
(``server``) and where it came from (``server_from``: ``rdap-url``, ``iana-bootstrap`` or
``kb-list``, with the document that names it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from souverain.collect.rdap import MAX_LOOKUPS, RegistrarLookup, Resolve, check_registrar
from souverain.collect.rdap_pace import pacer_for

if TYPE_CHECKING:
    from souverain.collect.observation import ObservationBuilder
    from souverain.kb.schema import RDAPServer


def make_rdap_step(*, override: str | None, timeout: float, resolve: Resolve | None,
                   ca_file: str | None = None, limit: int = MAX_LOOKUPS,
                   listed: Mapping[str, RDAPServer] | None = None,
                   qps: float | None = None) -> Callable[[ObservationBuilder], Awaitable[None]]:
    """``listed``: the KB's servers for TLDs that IANA's bootstrap leaves out (``rdap.kb_servers``);
    ``qps``: requests per second per RDAP server (None: ``rdap_pace.DEFAULT_QPS``)."""
    gate = asyncio.Semaphore(max(1, limit))
    pacer = pacer_for(qps)

    async def step(obs: ObservationBuilder) -> None:
        found = await check_registrar(obs.domain, override=override, timeout=timeout, resolve=resolve,
                                      ca_file=ca_file, listed=listed, pacer=pacer, gate=gate)
        obs.add("rdap", "registrar", obs.domain, lookup_status(found), detail=lookup_detail(found))

    return step


def lookup_status(found: RegistrarLookup) -> str:
    return "rate-limited" if found.rate_limited else "error" if found.error else "ok"


def lookup_detail(found: RegistrarLookup) -> dict[str, object]:
    detail: dict[str, object] = {"url": found.url} if found.url else {}
    if found.server is not None:
        if found.server.base:
            detail["server"] = found.server.base
        detail.update(found.server.detail())
    if found.http_status is not None:
        detail["http_status"] = found.http_status
    if found.tries > 1:
        detail["tries"] = found.tries
    if found.error:
        detail["error"] = found.error
    if found.name:
        detail["registrar"] = found.name
    if found.iana_id is not None:
        detail["iana_registrar_id"] = found.iana_id
    return detail
