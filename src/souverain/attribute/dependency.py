"""Build a dependency (``model.Dependency``): one function of one domain, served by a service, run
by an operator under a controller, from evidence ids and the KB rule that fired. The operator's
chain and laws come from the KB at the scan's date (``kb.at(date)``, a ``KBView``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from souverain.model.dependency import (
    Confidence,
    Dependency,
    Infrastructure,
    NetworkRef,
    ServiceRef,
    Status,
    Tier,
)
from souverain.model.evidence import id_number

if TYPE_CHECKING:
    from souverain.attribute.hosts import HostAttribution
    from souverain.kb.indexes import Match
    from souverain.kb.view import KBView


def build(
    view: KBView,
    domain: str,
    function: str,
    *,
    status: Status,
    confidence: Confidence,
    reason: str,
    service_id: str | None = None,
    entity_id: str | None = None,
    subject: str | None = None,
    evidence: list[str] | tuple[str, ...] | None = None,
    match: Match | None = None,
    tier: Tier = "verified",
    **reason_params: Any,
) -> Dependency:
    service = None
    if service_id:
        record = view.kb.services[service_id]
        service = ServiceRef(record.id, record.name, record.category)
        entity_id = entity_id or record.operator
    ids = tuple(sorted(set(evidence or ()), key=id_number))
    rule = match.rule() if match else None
    if not entity_id or entity_id not in view.kb.entities:
        return Dependency(domain, function, status, confidence, reason,  # type: ignore[arg-type]
                          reason_params, subject, service, evidence=ids, rule=rule, tier=tier)
    entity = view.entity(entity_id)
    return Dependency(domain, function, status, confidence, reason,  # type: ignore[arg-type]
                      reason_params, subject, service, entity.operator, entity.controller,
                      entity.chain, entity.chain_text, entity.laws, entity.foreign_laws, ids, rule,
                      tier=tier)


def add_infrastructure(view: KBView, dep: Dependency,
                       network: HostAttribution | None) -> Dependency:
    """``dep`` with the network operator under its service, when another group controls it.

    A mail service run on a hyperscaler's address space is reached by the laws of both: the
    infrastructure provider has the data in its possession or custody. Its foreign laws are added
    to the dependency's, with the infrastructure shown separately (never hidden behind the brand).
    """
    if network is None or network.service_id is None or dep.controller is None:
        return dep
    service = view.kb.services[network.service_id]
    entity = view.entity(service.operator)
    if entity.controller.id == dep.controller.id:
        return dep
    infrastructure = Infrastructure(NetworkRef(service.id, service.name), entity.operator,
                                    entity.controller, entity.chain_text, entity.foreign_laws,
                                    network.match.rule() if network.match else None)
    laws = tuple(sorted(set(dep.foreign_laws) | set(entity.foreign_laws)))
    return dataclasses.replace(dep, infrastructure=infrastructure, foreign_laws=laws)
