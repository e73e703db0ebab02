"""Build a dependency (``model.Dependency``): one function of one domain, served by a service, run
by an operator under a controller, from evidence ids and the KB rule that fired. The operator's
chain and laws come from the KB at the scan's date (``kb.at(date)``, a ``KBView``).

Its tier follows from how it was built unless the caller says otherwise: ``unknown`` for an
unknown status, ``registered`` for a network known only by its registration (``registered``),
``verified`` for a KB service or entity.
"""

from __future__ import annotations

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
    from souverain.attribute.hosts import HostAttribution, RegisteredNetwork
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
    tier: Tier | None = None,
    **reason_params: Any,
) -> Dependency:
    """``tier`` defaults to ``unknown`` for an unknown status and ``verified`` otherwise."""
    service = None
    if service_id:
        record = view.kb.services[service_id]
        service = ServiceRef(record.id, record.name, record.category)
        entity_id = entity_id or record.operator
    ids = tuple(sorted(set(evidence or ()), key=id_number))
    rule = match.rule() if match else None
    tier = tier or ("unknown" if status == "unknown" else "verified")
    if not entity_id or entity_id not in view.kb.entities:
        return Dependency(domain, function, status, confidence, reason,  # type: ignore[arg-type]
                          reason_params, subject, service, evidence=ids, rule=rule, tier=tier)
    entity = view.entity(entity_id)
    return Dependency(domain, function, status, confidence, reason,  # type: ignore[arg-type]
                      reason_params, subject, service, entity.operator, entity.controller,
                      entity.chain, entity.chain_text, entity.laws, entity.foreign_laws, ids, rule, tier=tier)


def build_registered(view: KBView, domain: str, function: str, network: RegisteredNetwork, *, reason: str,
                     subject: str | None, evidence: list[str] | tuple[str, ...], **reason_params: Any) -> Dependency:
    """A dependency on a network the KB has no operator for: its registered holder, seated in its
    registration country with no researched parents (tier ``registered``, confidence low); the
    reason's message says "ownership not researched"."""
    holder = view.registered_holder(network.asn, network.name, network.country)
    params = {**reason_params, "asn": network.asn, "as_name": network.name, "country": network.country}
    return Dependency(domain, function, "self-managed", "low", reason, params,  # type: ignore[arg-type]
                      subject, None, holder.operator, holder.controller, holder.chain, holder.chain_text,
                      holder.laws, holder.foreign_laws, tuple(sorted(set(evidence), key=id_number)),
                      f"ipasn.bin: AS{network.asn} registered in {network.country}", tier="registered")


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
    return dep.replace(infrastructure=infrastructure, foreign_laws=laws)
