"""A dependency: one function of one domain, served by a service, run by an operator under a controller.

Built from evidence ids and the KB rule that fired. ``status`` says how it was established:
``identified`` (a KB service matched), ``self-managed`` (no provider matched, but the addresses
belong to a known network operator), ``unknown`` (not enough evidence: never read as "independent"),
``none`` (the function is explicitly absent, e.g. RFC 7505 null MX).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from souverain.kb.indexes import Match
    from souverain.kb.view import KBView

STATUSES = ("identified", "self-managed", "unknown", "none")
CONFIDENCES = ("high", "medium", "low")


@dataclasses.dataclass
class Dependency:
    domain: str
    function: str
    status: str
    confidence: str
    reason: str  # message id under "reason." in the catalogues
    reason_params: dict[str, Any] = dataclasses.field(default_factory=dict)
    subject: str | None = None  # the host name / value the dependency is about
    service: dict | None = None
    operator: dict | None = None
    controller: dict | None = None
    chain: list[dict] = dataclasses.field(default_factory=list)
    chain_text: str | None = None
    laws: list[dict] = dataclasses.field(default_factory=list)
    foreign_laws: list[str] = dataclasses.field(default_factory=list)
    evidence: list[str] = dataclasses.field(default_factory=list)
    rule: str | None = None
    infrastructure: dict | None = None  # the network under a named service, when another group runs it

    @property
    def foreign_access(self) -> bool | None:
        """True/False when the controller is known; None when the dependency is unknown."""
        if self.controller is None:
            return None
        return bool(self.foreign_laws)

    def key(self) -> tuple[str, str, str]:
        return (self.function, self.service["id"] if self.service else "", self.subject or "")

    def as_dict(self) -> dict:
        # hand-written: dataclasses.asdict deep-copies every nested value, which dominated survey time
        return {
            "domain": self.domain, "function": self.function, "status": self.status,
            "confidence": self.confidence, "reason": self.reason, "reason_params": dict(self.reason_params),
            "subject": self.subject, "service": self.service, "operator": self.operator,
            "controller": self.controller, "chain": self.chain, "chain_text": self.chain_text,
            "laws": self.laws, "foreign_laws": list(self.foreign_laws), "evidence": list(self.evidence),
            "rule": self.rule, "infrastructure": self.infrastructure, "foreign_access": self.foreign_access,
        }


def build(
    view: KBView,
    domain: str,
    function: str,
    *,
    status: str,
    confidence: str,
    reason: str,
    service_id: str | None = None,
    entity_id: str | None = None,
    subject: str | None = None,
    evidence: list[str] | None = None,
    match: Match | None = None,
    **reason_params: Any,
) -> Dependency:
    dep = Dependency(domain, function, status, confidence, reason, reason_params, subject,
                     evidence=sorted(set(evidence or []), key=_evidence_order), rule=match.rule() if match else None)
    if service_id:
        service = view.kb.services[service_id]
        dep.service = {"id": service.id, "name": service.name, "category": service.category}
        entity_id = entity_id or service.operator
    if entity_id and entity_id in view.kb.entities:
        entity = view.entity(entity_id)
        dep.operator, dep.controller = entity.operator, entity.controller
        dep.chain, dep.chain_text = entity.chain, entity.chain_text
        dep.laws, dep.foreign_laws = entity.laws, entity.foreign_laws
    return dep


def add_infrastructure(view: KBView, dep: Dependency, network) -> None:
    """Record the network operator under a named service when another group controls it.

    A mail service run on a hyperscaler's address space is reached by the laws of both: the
    infrastructure provider has the data in its possession or custody. Its foreign laws are added
    to the dependency's, with the infrastructure shown separately (never hidden behind the brand).
    """
    if network is None or not network.identified or dep.controller is None:
        return
    service = view.kb.services[network.service_id]
    entity = view.entity(service.operator)
    if entity.controller["id"] == dep.controller["id"]:
        return
    dep.infrastructure = {
        "service": {"id": service.id, "name": service.name},
        "operator": entity.operator, "controller": entity.controller, "chain_text": entity.chain_text,
        "foreign_laws": entity.foreign_laws, "rule": network.match.rule() if network.match else None,
    }
    dep.foreign_laws = sorted(set(dep.foreign_laws) | set(entity.foreign_laws))


def _evidence_order(evidence_id: str) -> int:
    return int(evidence_id[1:]) if evidence_id[1:].isdigit() else 0
