"""``who``: attribute one target to a service, its operator, the controller and the laws.

An address or AS whose network has no KB operator is answered from the IP-to-ASN table: its
registered holder and registration country (status ``registered``, tier ``registered``), with the
laws of that country that bind by seat and "ownership not researched".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

from souverain.attribute.targets import Target, parse_target
from souverain.kb.laws import entity_roles, laws_for_entity, render_path
from souverain.kb.ownership import control_chain, controlling_edge

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.indexes import Match
    from souverain.kb.ipasn import IPASNTable


@dataclasses.dataclass
class WhoResult:
    target: Target
    at: dt.date
    status: str  # attributed | registered | unattributed | record
    reason: str | None = None
    match: Match | None = None
    network: dict[str, Any] | None = None
    service_id: str | None = None
    entity_id: str | None = None
    record_id: str | None = None
    domain: tuple[str, str] | None = None  # (entity domain, holder entity id): apart from the service
    data: dict[str, Any] = dataclasses.field(default_factory=dict)


def who(kb: KnowledgeBase, raw: str, at: dt.date, ip_table: IPASNTable | None = None,
        today: dt.date | None = None) -> WhoResult:
    target = parse_target(raw, frozenset(kb.records))
    result = WhoResult(target, at, "unattributed")
    idx = kb.indexes
    if target.type == "kb-id":
        kind = kb.kinds[target.value]
        result.status = "record"
        result.record_id = target.value
        if kind == "services":
            result.service_id = target.value
        elif kind == "entities":
            result.entity_id = target.value
    elif target.type == "asn":
        _attribute_asn(kb, result, int(target.value), ip_table or _table())
    elif target.type == "ip":
        ip_table = ip_table or _table()
        hit = ip_table.lookup(target.value)
        if hit is None:
            result.reason = "no-route"
        else:
            result.network = {
                "asn": hit.asn,
                "as_name": hit.as_name,
                "country": hit.country or None,
                "range": f"{hit.range_start} - {hit.range_end}",
            }
            _attribute_asn(kb, result, hit.asn, ip_table)
    else:
        match = idx.match_host(target.value)
        if match is None:
            result.reason = "no-fingerprint"
        else:
            result.match = match
            result.service_id = match.service
            result.status = "attributed"
    if result.service_id and not result.entity_id:
        result.entity_id = kb.services[result.service_id].operator
    if target.type in ("host", "url"):
        result.domain = kb.indexes.domain_holder(target.value)
    result.data = describe(kb, result, today)
    return result


_TIERS = {"attributed": "verified", "record": "verified", "registered": "registered"}


def _table() -> IPASNTable:
    from souverain.kb.ipasn import IPASNTable

    return IPASNTable.bundled()


def _attribute_asn(kb: KnowledgeBase, result: WhoResult, asn: int, ip_table: IPASNTable | None) -> None:
    if result.network is None:
        name = ip_table.names.get(asn, "") if ip_table else ""
        country = ip_table.country_of(asn) if ip_table else ""
        result.network = {"asn": asn, "as_name": name, "country": country or None, "range": None}
    match = kb.indexes.match_asn(asn)
    if match is None:
        result.reason = "asn-not-in-kb"
        if result.network["country"]:
            result.status = "registered"
        return
    result.match = match
    result.service_id = match.service
    result.status = "attributed"


def describe(kb: KnowledgeBase, result: WhoResult, today: dt.date | None = None) -> dict[str, Any]:
    """The JSON-ready description of a result (also what the table renderer reads)."""
    out: dict[str, Any] = {
        "target": result.target.raw,
        "target_type": result.target.type,
        "at": result.at.isoformat(),
        "status": result.status,
        "tier": _TIERS.get(result.status, "unknown"),
        "reason": result.reason,
        "kb_version": kb.version,
    }
    if result.network:
        out["network"] = result.network
    if result.status == "registered" and result.network:
        network = result.network
        holder = kb.at(result.at).registered_holder(network["asn"], network["as_name"], network["country"])
        out["registered_holder"] = {**holder.operator.as_dict(), "ownership": "not-researched"}
        out["laws"] = [law.as_dict() for law in holder.laws]
        out["foreign_laws"] = list(holder.foreign_laws)
    if result.match:
        out["match"] = {
            "kind": result.match.kind,
            "pattern": result.match.pattern,
            "value": result.match.value,
            "rule": result.match.rule(),
        }
    sources: list[dict] = []
    if result.record_id:
        record = kb.records[result.record_id]
        out["record"] = {"kind": kb.kinds[result.record_id], **record.model_dump(mode="json", exclude_defaults=True)}
    if result.service_id:
        service = kb.services[result.service_id]
        out["service"] = {
            "id": service.id,
            "name": service.name,
            "category": service.category,
            "functions": list(service.functions),
        }
        sources += _sources(kb, service.id)
    if result.entity_id and result.entity_id in kb.entities:
        if kb.entities[result.entity_id].deprecated:  # retired: its facts are not to be relied on
            out["deprecated"] = True
        chain = control_chain(kb, result.entity_id, result.at)
        operator = chain[0].entity
        controller = chain[-1].entity
        out["operator"] = {"id": operator.id, "name": operator.name, "country": operator.country}
        out["controller"] = {"id": controller.id, "name": controller.name, "country": controller.country}
        out["chain"] = [
            {"id": link.entity.id, "name": link.entity.name, "country": link.entity.country,
             "holding": link.describe_edge() or None}
            for link in chain
        ]
        out["chain_text"] = render_path(chain)
        out["jurisdictions"] = sorted({link.entity.country for link in chain})
        # a service found is provided by its operator; an entity on its own has the roles it has
        roles = None if result.service_id else entity_roles(kb, result.entity_id, result.at)
        exposures = laws_for_entity(kb, result.entity_id, result.at, roles=roles)
        out["laws"] = [item.as_dict() for item in exposures]
        gaps = undocumented_ownership(kb, result.entity_id, result.at, today or dt.date.today())
        if gaps:
            out["undocumented_ownership"] = gaps
        for link in chain:
            sources += _sources(kb, link.entity.id)
        for item in exposures:
            sources += _sources(kb, item.law.id)
        unverified = {}
        for link in chain:
            for field, why in link.entity.unverified.items():
                unverified[f"{link.entity.id}.{field}"] = why
        if unverified:
            out["unverified"] = unverified
    elif result.record_id:
        sources += _sources(kb, result.record_id)
    if result.domain:
        out["domain"] = describe_domain(kb, *result.domain, at=result.at)
        sources += _sources(kb, result.domain[1])
    first_by_url: dict[str, dict] = {}
    for source in sources:
        first_by_url.setdefault(source["url"], source)
    out["sources"] = list(first_by_url.values())
    return out


def describe_domain(kb: KnowledgeBase, domain: str, entity_id: str, at: dt.date) -> dict[str, Any]:
    """The entity that holds ``domain`` (its ``domains:`` list) and that entity's controller at ``at``.
    Holding the domain says who runs the name, not who operates the services found under it."""
    chain = control_chain(kb, entity_id, at)
    holder, controller = chain[0].entity, chain[-1].entity
    return {
        "domain": domain,
        "holder": {"id": holder.id, "name": holder.name, "country": holder.country},
        "controller": {"id": controller.id, "name": controller.name, "country": controller.country},
        "chain_text": render_path(chain),
        "rule": f"entities/{holder.id}.yaml domains: {domain}",
    }


def undocumented_ownership(kb: KnowledgeBase, entity_id: str, at: dt.date, today: dt.date) -> list[dict[str, str]]:
    """Entities of today's control chain that nothing controls at ``at`` and whose next controlling
    owner is documented only from a ``since_before`` bound: the chain at ``at`` stops there for want
    of a source, not because the entity was independent."""
    gaps = []
    for link in control_chain(kb, entity_id, max(today, at)):
        if link.edge is None or controlling_edge(kb, link.entity.id, at) is not None:
            continue
        later = [edge for edge in link.entity.owners
                 if edge.controls() and edge.owner in kb.entities and edge.start > at]
        if not later:
            continue
        edge = min(later, key=lambda e: e.start)
        if edge.since_before is None:
            continue
        owner = kb.entities[edge.owner]
        gaps.append({"entity": link.entity.id, "entity_name": link.entity.name, "owner": owner.id,
                     "owner_name": owner.name, "since_before": edge.since_before.isoformat()})
    return gaps


def _sources(kb: KnowledgeBase, record_id: str) -> list[dict]:
    record = kb.records[record_id]
    return [
        {"record": record_id, **source.model_dump(mode="json", exclude_none=True)}
        for source in record.sources
    ]
