"""SaaS accounts proved by TXT verification tokens at the apex (proof of an account, not of data)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from souverain.attribute import dependency
from souverain.collect.spf import is_spf

if TYPE_CHECKING:
    from souverain.kb.view import KBView
    from souverain.model.dependency import Dependency
    from souverain.model.observation import DomainObservation


def attribute_saas(view: KBView, obs: DomainObservation) -> list[Dependency]:
    kb = view.kb
    evidence = [e for e in (obs.ids.get(f"{obs.domain} TXT"),) if e]
    seen: dict[str, Dependency] = {}
    for value in obs.txt:
        if is_spf(value):
            continue
        match = kb.indexes.match_txt(value)
        if match is None or match.service in seen:
            continue
        service = kb.services[match.service]
        function = "identity" if "identity" in service.functions else "saas"
        seen[match.service] = dependency.build(
            view, obs.domain, function, status="identified", confidence="high", reason="txt-token",
            service_id=match.service, subject=value[:120], evidence=evidence, match=match, token=match.pattern,
        )
    return list(seen.values())
