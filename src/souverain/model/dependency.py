"""A dependency: one function of one domain, served by a service, run by an operator under a
controller, with the laws that reach it and the evidence it rests on.

``status`` says how it was established: ``identified`` (a KB service matched), ``self-managed``
(no provider matched, but the addresses belong to a known network operator), ``unknown`` (not
enough evidence: never read as "independent"), ``none`` (the function is explicitly absent, e.g.
RFC 7505 null MX).

``tier`` says what the answer rests on: ``verified`` (a KB fingerprint, or a network whose KB
operator entity has its ownership chain), ``registered`` (only the network's registered holder and
registration country are known: the laws of that country's jurisdiction apply, ownership not
researched), ``inferred`` (a mailbox provider deduced from secondary signals behind a gateway or
in a hybrid set-up), ``unknown`` (no answer; ``reason`` says why).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from souverain.model.base import JSONSchema, Model

Function = Literal[
    "email.inbound",
    "email.gateway",
    "email.sending",
    "email.reporting",
    "dns.authoritative",
    "web.hosting",
    "web.cdn",
    "web.third_party",
    "tls.ca",
    "saas",
    "cloud.compute",
    "identity",
    "software.supplier",
    "software.registry",
    "domain.registry",
    "domain.registrar",
]
Status = Literal["identified", "self-managed", "unknown", "none"]
Confidence = Literal["high", "medium", "low"]
Tier = Literal["verified", "registered", "inferred", "unknown"]
STATUSES: tuple[Status, ...] = ("identified", "self-managed", "unknown", "none")
CONFIDENCES: tuple[Confidence, ...] = ("high", "medium", "low")
# what a network under a host is to the data: it holds it (hosting), carries it (a proxy or CDN
# announcing the address: transit) or houses others' servers (colocation)
NetworkRole = Literal["hosting", "transit", "colocation"]
# what an answer rests on, strongest first (see the module docstring)
TIERS: tuple[Tier, ...] = ("verified", "registered", "inferred", "unknown")


def tier_counts(tier: Tier, minimum: Tier) -> bool:
    """Whether an answer of ``tier`` counts when only ``minimum`` and stronger tiers do
    (``unknown`` never counts as an answer)."""
    return tier != "unknown" and TIERS.index(tier) <= TIERS.index(minimum)


# what reason_params may hold: message values (host names, counts, flags), never nested data
ReasonValue = str | int | float | bool | None


@dataclasses.dataclass(frozen=True, slots=True)
class ServiceRef(Model):
    """A service of the knowledge base."""

    id: str
    name: str
    category: str


@dataclasses.dataclass(frozen=True, slots=True)
class EntityRef(Model):
    """A legal entity of the knowledge base, with the country of its seat."""

    id: str
    name: str
    country: str


@dataclasses.dataclass(frozen=True, slots=True)
class ChainEntry(Model):
    """An entity of an ownership chain (operator first); ``holding``: how the next one holds it."""

    id: str
    name: str
    country: str
    holding: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class PathEntry(Model):
    """One entity on the path that brings a law in."""

    entity: str
    name: str
    country: str
    holding: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class LawReach(Model):
    """A law that binds an entity, and the ownership path that makes it bind."""

    id: str
    name: str
    country: str
    effect: str  # compels-access, restricts-transfer, transfer-basis, retention
    via: Literal["seat", "control"]
    status: str  # in-force, ... or unknown
    path: tuple[PathEntry, ...]
    path_text: str


@dataclasses.dataclass(frozen=True, slots=True)
class NetworkRef(Model):
    """The network service (of the knowledge base) that carries another service."""

    id: str
    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class Infrastructure(Model):
    """The network under a named service, when another group controls it: its laws reach the
    data too, and it is shown apart from the brand."""

    service: NetworkRef
    operator: EntityRef
    controller: EntityRef
    chain_text: str
    foreign_laws: tuple[str, ...]
    rule: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class NetworkUse(Model):
    """One network (AS) a dependency's hosts have addresses in, and what it is to the data.

    ``service``/``operator``/``controller`` are null when the knowledge base does not know the AS;
    ``foreign_laws`` are those reaching its controller.
    """

    asn: int
    as_name: str
    addresses: tuple[str, ...]
    role: NetworkRole
    service: NetworkRef | None = None
    operator: EntityRef | None = None
    controller: EntityRef | None = None
    foreign_laws: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Dependency(Model):
    """One function of one domain and who can reach it."""

    COMPUTED: ClassVar[Mapping[str, JSONSchema]] = {
        "foreign_access": {
            "anyOf": [{"type": "boolean"}, {"type": "null"}],
            "description": "foreign laws reach it (null: the controller is not known)",
        },
        "transit_foreign_laws": {
            "type": "array", "items": {"type": "string"},
            "description": "foreign laws reaching the data in transit or in colocation (networks with role "
                           "transit or colocation), apart from the data at rest (foreign_laws)",
        },
    }

    domain: str
    function: Function
    status: Status
    confidence: Confidence
    tier: Tier = dataclasses.field(default="verified", kw_only=True)  # keyword-only: positional order unchanged
    reason: str  # message id under "reason." in the catalogues
    reason_params: Mapping[str, ReasonValue] = dataclasses.field(default_factory=dict)
    subject: str | None = None  # the host name / value the dependency is about
    service: ServiceRef | None = None
    operator: EntityRef | None = None
    controller: EntityRef | None = None
    chain: tuple[ChainEntry, ...] = ()
    chain_text: str | None = None
    laws: tuple[LawReach, ...] = ()
    foreign_laws: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    rule: str | None = None  # the KB rule that fired
    infrastructure: Infrastructure | None = None
    networks: tuple[NetworkUse, ...] = ()  # every network the hosts' addresses are in

    @property
    def foreign_access(self) -> bool | None:
        """True/False when the controller is known; None when the dependency is unknown."""
        if self.controller is None:
            return None
        return bool(self.foreign_laws)

    @property
    def transit_foreign_laws(self) -> tuple[str, ...]:
        """Foreign laws reaching only the networks that carry or house the data (not its holder)."""
        return tuple(sorted({law for net in self.networks if net.role != "hosting" for law in net.foreign_laws}))

    def key(self) -> tuple[str, str, str]:
        return (self.function, self.service.id if self.service else "", self.subject or "")

    def as_dict(self) -> dict[str, Any]:
        # by hand: a scan writes thousands of these
        service, operator, controller = self.service, self.operator, self.controller
        infrastructure = self.infrastructure
        return {
            "domain": self.domain, "function": self.function, "status": self.status,
            "confidence": self.confidence, "tier": self.tier, "reason": self.reason,
            "reason_params": dict(self.reason_params),
            "subject": self.subject, "service": service.as_dict() if service else None,
            "operator": operator.as_dict() if operator else None,
            "controller": controller.as_dict() if controller else None,
            "chain": [link.as_dict() for link in self.chain], "chain_text": self.chain_text,
            "laws": [law.as_dict() for law in self.laws], "foreign_laws": list(self.foreign_laws),
            "evidence": list(self.evidence), "rule": self.rule,
            "infrastructure": infrastructure.as_dict() if infrastructure else None,
            "networks": [net.as_dict() for net in self.networks],
            "foreign_access": self.foreign_access,
            "transit_foreign_laws": list(self.transit_foreign_laws),
        }
