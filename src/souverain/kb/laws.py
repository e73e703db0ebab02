"""Which laws reach an entity at a date, and the ownership path that makes them reach it.

Rules are data (``laws/*.yaml``): a law with ``reach: [seat]`` binds entities seated in its
``seat_countries``; with ``control`` it also binds every entity controlled, through the
ownership chain, by such an entity. Jurisdiction follows control, never IP geolocation.

A law with ``applies_to`` binds only providers of those kinds of service (the CLOUD Act reaches
providers of electronic communication or remote computing services, not a turbine maker). Where
a scan or an assessment found the entity as the provider of a service, that role is given; an
entity looked up on its own (``who``) has the roles it declares (``provides``) or those of the
services it operates in the KB, and a law outside them is kept as not applying, with the roles
that would make it apply.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from souverain.kb.ownership import ChainLink, control_chain
from souverain.kb.schema import ROLES_BY_CATEGORY, Law, LawStatus, ServiceRole

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase


@dataclasses.dataclass(frozen=True)
class LawExposure:
    law: Law
    via: str  # "seat" or "control"
    path: tuple[ChainLink, ...]  # from the entity up to the entity that brings the law in
    status: LawStatus | None
    applies: bool = True  # False: the entity provides none of the services the law is scoped to
    requires: tuple[ServiceRole, ...] = ()  # the law's ``applies_to``

    @property
    def in_force(self) -> bool:
        return self.status is not None and self.status.state == "in-force"

    def path_text(self) -> str:
        return render_path(self.path)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.law.id,
            "name": self.law.name,
            "country": self.law.country,
            "effect": self.law.effect,
            "via": self.via,
            "status": self.status.state if self.status else "unknown",
            "path": [
                {"entity": link.entity.id, "name": link.entity.name, "country": link.entity.country,
                 "holding": link.describe_edge() or None}
                for link in self.path
            ],
            "path_text": self.path_text(),
            "applies": self.applies,
            "applies_to": list(self.requires),
        }


def render_path(path: Sequence[ChainLink]) -> str:
    """``AWS European Sovereign Cloud GmbH <- Amazon.com, Inc. (US, 100 %)``."""
    if not path:
        return ""
    text = path[0].entity.name
    for below, above in itertools.pairwise(path):
        detail = ", ".join(part for part in (above.entity.country, below.describe_edge()) if part)
        text += f" <- {above.entity.name} ({detail})"
    if len(path) == 1:
        text += f" ({path[0].entity.country})"
    return text


def entity_roles(kb: KnowledgeBase, entity_id: str, at: dt.date) -> frozenset[ServiceRole]:
    """The kinds of service ``entity_id`` provides, itself or through an entity it controls at
    ``at``: declared (``provides``), else those of the KB services each operates. Empty when
    nothing says so."""
    roles: set[ServiceRole] = set()
    for entity in kb.entities.values():
        if entity.provides is not None and _controls(kb, entity_id, entity.id, at):
            roles |= set(entity.provides)
    for service in kb.services.values():
        if not ROLES_BY_CATEGORY[service.category] or service.operator not in kb.entities:
            continue
        declared = kb.entities[service.operator].provides
        if declared is None and _controls(kb, entity_id, service.operator, at):
            roles |= set(ROLES_BY_CATEGORY[service.category])
    return frozenset(roles)


def _controls(kb: KnowledgeBase, holder: str, entity_id: str, at: dt.date) -> bool:
    return entity_id == holder or any(link.entity.id == holder for link in control_chain(kb, entity_id, at))


def laws_for_entity(kb: KnowledgeBase, entity_id: str, at: dt.date, *,
                    roles: frozenset[ServiceRole] | None = None) -> list[LawExposure]:
    """Every law binding ``entity_id`` at ``at``, each with the shortest path that triggers it.

    ``roles`` None: the entity is the provider of a service found (scan, assessment), so laws
    scoped to providers apply. Otherwise a scoped law applies only if ``roles`` meets its
    ``applies_to``; it is still returned, with ``applies=False``."""
    chain = control_chain(kb, entity_id, at)
    if not chain:
        return []
    exposures: list[LawExposure] = []
    for law in sorted(kb.laws.values(), key=lambda item: item.id):
        if law.deprecated:
            continue
        status = law.status_at(at)
        if status is None:  # not yet enacted at that date
            continue
        scope = tuple(law.applies_to)
        applies = roles is None or not scope or bool(roles & set(scope))
        countries = set(law.seat_countries)
        if chain[0].entity.country in countries and "seat" in law.reach:
            exposures.append(LawExposure(law, "seat", (chain[0],), status, applies, scope))
            continue
        if "control" in law.reach:
            for depth, link in enumerate(chain[1:], start=1):
                if link.entity.country in countries:
                    exposures.append(LawExposure(law, "control", tuple(chain[: depth + 1]), status, applies, scope))
                    break
    return exposures


def foreign_access_laws(kb: KnowledgeBase, exposures: Sequence[LawExposure],
                        home: str = "eu") -> list[LawExposure]:
    """Laws in force that compel access and come from outside the ``home`` region."""
    members = kb.region(home) | {home.upper()}  # laws of the EU itself carry country "EU"
    return [
        item
        for item in exposures
        if item.applies and item.law.effect == "compels-access" and item.in_force
        and item.law.country not in members
    ]


def laws_for_seat(kb: KnowledgeBase, country: str, at: dt.date) -> list[tuple[Law, LawStatus]]:
    """The laws that bind an entity seated in ``country`` by its seat alone, at ``at``: what is
    known of a network's registered holder whose ownership has not been researched."""
    found = []
    for law in sorted(kb.laws.values(), key=lambda item: item.id):
        status = law.status_at(at)
        if law.deprecated or status is None or "seat" not in law.reach:
            continue
        if country in law.seat_countries:
            found.append((law, status))
    return found
