"""Build a dependency (``model.Dependency``): one function of one domain, served by a service, run
by an operator under a controller, from evidence ids and the KB rule that fired.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

from souverain.assess.exposure import foreign_access_laws, laws_for_entity, render_path
from souverain.kb.ownership import control_chain
from souverain.model.dependency import (
    ChainEntry,
    Confidence,
    Dependency,
    EntityRef,
    EntityView,
    Infrastructure,
    LawReach,
    NetworkRef,
    PathEntry,
    ServiceRef,
    Status,
)
from souverain.model.evidence import id_number

if TYPE_CHECKING:
    from souverain.assess.exposure import LawExposure
    from souverain.attribute.hosts import HostAttribution
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.indexes import Match
    from souverain.kb.ownership import ChainLink


def build(
    kb: KnowledgeBase,
    at: dt.date,
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
    **reason_params: Any,
) -> Dependency:
    service = None
    if service_id:
        record = kb.services[service_id]
        service = ServiceRef(record.id, record.name, record.category)
        entity_id = entity_id or record.operator
    view = entity_view(kb, entity_id, at) if entity_id and entity_id in kb.entities else None
    ids = tuple(sorted(set(evidence or ()), key=id_number))
    rule = match.rule() if match else None
    if view is None:
        return Dependency(domain, function, status, confidence, reason,  # type: ignore[arg-type]
                          reason_params, subject, service, evidence=ids, rule=rule)
    return Dependency(domain, function, status, confidence, reason,  # type: ignore[arg-type]
                      reason_params, subject, service, view.operator, view.controller, view.chain,
                      view.chain_text, view.laws, view.foreign_laws, ids, rule)


def add_infrastructure(kb: KnowledgeBase, at: dt.date, dep: Dependency,
                       network: HostAttribution | None) -> Dependency:
    """``dep`` with the network operator under its service, when another group controls it.

    A mail service run on a hyperscaler's address space is reached by the laws of both: the
    infrastructure provider has the data in its possession or custody. Its foreign laws are added
    to the dependency's, with the infrastructure shown separately (never hidden behind the brand).
    """
    if network is None or network.service_id is None or dep.controller is None:
        return dep
    service = kb.services[network.service_id]
    view = entity_view(kb, service.operator, at)
    if view.controller.id == dep.controller.id:
        return dep
    infrastructure = Infrastructure(NetworkRef(service.id, service.name), view.operator,
                                    view.controller, view.chain_text, view.foreign_laws,
                                    network.match.rule() if network.match else None)
    laws = tuple(sorted(set(dep.foreign_laws) | set(view.foreign_laws)))
    return dataclasses.replace(dep, infrastructure=infrastructure, foreign_laws=laws)


def entity_view(kb: KnowledgeBase, entity_id: str, at: dt.date) -> EntityView:
    """Operator, controller, chain and laws of an entity at a date, computed once per KB and date.

    A survey attributes thousands of domains to the same few operators; the KB is read-only, so
    the ownership walk and law look-up are cached on it.
    """
    cache = kb.__dict__.setdefault("_entity_views", {})
    key = (entity_id, at)
    if key not in cache:
        chain = control_chain(kb, entity_id, at)
        operator, controller = chain[0].entity, chain[-1].entity
        exposures = laws_for_entity(kb, entity_id, at)
        cache[key] = EntityView(
            EntityRef(operator.id, operator.name, operator.country),
            EntityRef(controller.id, controller.name, controller.country),
            chain_entries(chain), render_path(chain), tuple(law_reach(item) for item in exposures),
            tuple(item.law.id for item in foreign_access_laws(kb, exposures)),
        )
    view: EntityView = cache[key]
    return view


def chain_entries(chain: list[ChainLink] | tuple[ChainLink, ...]) -> tuple[ChainEntry, ...]:
    """An ownership chain as the outputs show it."""
    return tuple(ChainEntry(link.entity.id, link.entity.name, link.entity.country,
                            link.describe_edge() or None) for link in chain)


def law_reach(exposure: LawExposure) -> LawReach:
    """A law binding an entity, and the path that makes it bind, as the outputs show it."""
    law = exposure.law
    status = exposure.status.state if exposure.status else "unknown"
    via: Any = exposure.via  # "seat" or "control"
    return LawReach(law.id, law.name, law.country, law.effect, via, status,
                    path_entries(exposure.path), exposure.path_text())


def path_entries(path: tuple[ChainLink, ...]) -> tuple[PathEntry, ...]:
    return tuple(PathEntry(link.entity.id, link.entity.name, link.entity.country,
                           link.describe_edge() or None) for link in path)
