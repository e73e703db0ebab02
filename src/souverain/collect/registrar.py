"""The ``registrar`` group of checks: one RDAP look-up per domain, recorded as evidence.

``make_rdap_step`` returns what ``CollectOptions.rdap`` runs for each domain; a run shares one
semaphore (``MAX_LOOKUPS`` requests in flight), which is the politeness limit towards the
registries' RDAP servers. A failure is evidence with its reason, never an exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from souverain.collect.rdap import MAX_LOOKUPS, Resolve, check_registrar

if TYPE_CHECKING:
    from souverain.collect.observation import ObservationBuilder


def make_rdap_step(*, override: str | None, timeout: float, resolve: Resolve | None,
                   ca_file: str | None = None, limit: int = MAX_LOOKUPS) -> Callable[[ObservationBuilder], Awaitable[None]]:
    gate = asyncio.Semaphore(max(1, limit))

    async def step(obs: ObservationBuilder) -> None:
        async with gate:
            found = await check_registrar(obs.domain, override=override, timeout=timeout, resolve=resolve,
                                          ca_file=ca_file)
        detail: dict[str, object] = {"url": found.url} if found.url else {}
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
