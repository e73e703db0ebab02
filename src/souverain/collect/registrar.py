"""The ``registrar`` group of checks: one RDAP look-up per domain, recorded as evidence.

``make_rdap_step`` returns what ``CollectOptions.rdap`` runs for each domain; a run shares one
semaphore (``MAX_LOOKUPS`` requests in flight), which is the politeness limit towards the
registries' RDAP servers. A failure is evidence with its reason, never an exception. The evidence
says where the server came from (``server_from``: ``rdap-url``, ``iana-bootstrap`` or
``kb-list``, with the document that names it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from souverain.collect.rdap import MAX_LOOKUPS, Resolve, check_registrar

if TYPE_CHECKING:
    from souverain.collect.observation import ObservationBuilder
    from souverain.kb.schema import RDAPServer


def make_rdap_step(*, override: str | None, timeout: float, resolve: Resolve | None,
                   ca_file: str | None = None, limit: int = MAX_LOOKUPS,
                   listed: Mapping[str, RDAPServer] | None = None) -> Callable[[ObservationBuilder], Awaitable[None]]:
    """``listed``: the KB's servers for TLDs that IANA's bootstrap leaves out (``rdap.kb_servers``)."""
    gate = asyncio.Semaphore(max(1, limit))

    async def step(obs: ObservationBuilder) -> None:
        async with gate:
            found = await check_registrar(obs.domain, override=override, timeout=timeout, resolve=resolve,
                                          ca_file=ca_file, listed=listed)
        detail: dict[str, object] = {"url": found.url} if found.url else {}
        if found.server is not None:
            detail.update(found.server.detail())
        if found.http_status is not None:
            detail["http_status"] = found.http_status
        if found.error:
            detail["error"] = found.error
        if found.name:
            detail["registrar"] = found.name
        if found.iana_id is not None:
            detail["iana_registrar_id"] = found.iana_id
        obs.add("rdap", "registrar", obs.domain, "error" if found.error else "ok", detail=detail)

    return step
