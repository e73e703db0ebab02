"""``domain.registrar``: the registrar of the domain, from its RDAP answer.

The IANA registrar id maps to a KB entity (``iana_registrar_id``): tier ``verified``, with the
entity's ownership chain and laws. A registrar the KB does not know is shown by its RDAP name,
tier ``registered`` (no operator, ownership not researched). A failed look-up is ``unknown``
with its reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from souverain.attribute import dependency
from souverain.model.dependency import Dependency

if TYPE_CHECKING:
    from souverain.kb.view import KBView
    from souverain.model.observation import DomainObservation

FUNCTION = "domain.registrar"


def attribute_registrar(view: KBView, obs: DomainObservation) -> list[Dependency]:
    items = [item for item in obs.evidence if item.source == "rdap" and item.kind == "registrar"]
    if not items:
        return []
    item = items[0]
    detail = item.detail
    if item.status != "ok":
        return [dependency.build(view, obs.domain, FUNCTION, status="unknown", confidence="low",
                                 reason="registrar-lookup-failed", subject=detail.get("url"),
                                 evidence=[item.id], error=str(detail.get("error", "")))]
    name = detail.get("registrar") or "?"
    iana_id = detail.get("iana_registrar_id")
    entity_id = view.kb.indexes.registrars.get(iana_id) if isinstance(iana_id, int) else None
    if entity_id is not None:
        dep = dependency.build(view, obs.domain, FUNCTION, status="identified", confidence="high",
                               reason="registrar-iana", entity_id=entity_id, subject=name, evidence=[item.id],
                               registrar=name, iana_id=iana_id)
        return [dep.replace(rule=f"entities/{entity_id}.yaml: iana_registrar_id {iana_id}")]
    return [Dependency(obs.domain, FUNCTION, "identified", "low", "registrar-name",  # type: ignore[arg-type]
                       {"registrar": name, "iana_id": iana_id if iana_id is not None else "-"}, name,
                       evidence=(item.id,), rule=f"rdap: {detail.get('url', '')}", tier="registered")]
