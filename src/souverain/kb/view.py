"""The knowledge base at a date: control chains and laws, each worked out once per entity.

``kb.at(date)`` returns the same ``KBView`` for the same date. A survey attributes thousands of
domains to the same few operators: the ownership walk and the law look-up are done on the first
request for an entity and then read from the view's memo (a plain dict look-up). The KB is
read-only, so what a view returns is shared by every caller: never mutate it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from souverain.kb.laws import (
    LawExposure,
    foreign_access_laws,
    laws_for_entity,
    laws_for_seat,
    render_path,
)
from souverain.kb.ownership import ChainLink, control_chain
from souverain.model.dependency import ChainEntry, EntityRef, LawReach, PathEntry

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase


@dataclasses.dataclass(frozen=True, slots=True)
class EntityView:
    """One entity at a date, as the outputs show it: what a dependency says about its operator."""

    operator: EntityRef
    controller: EntityRef  # the ultimate controller
    chain: tuple[ChainEntry, ...]  # operator first, controller last, each with its "holding"
    chain_text: str
    laws: tuple[LawReach, ...]  # every law that binds the entity, with the path that makes it bind
    foreign_laws: tuple[str, ...]  # ids of the laws in force that compel access from outside the EU


class KBView:
    """Queries of ``kb`` at ``at``, memoised per entity (see the module docstring)."""

    __slots__ = ("_chains", "_entities", "_foreign", "_laws", "_registered", "at", "kb")

    def __init__(self, kb: KnowledgeBase, at: dt.date) -> None:
        self.kb = kb
        self.at = at
        self._chains: dict[str, tuple[ChainLink, ...]] = {}
        self._laws: dict[str, tuple[LawExposure, ...]] = {}
        self._foreign: dict[str, tuple[LawExposure, ...]] = {}
        self._entities: dict[str, EntityView] = {}
        self._registered: dict[tuple[int, str, str], EntityView] = {}

    def control_chain(self, entity_id: str) -> tuple[ChainLink, ...]:
        """From the entity up to its ultimate controller (empty for an id the KB does not hold)."""
        found = self._chains.get(entity_id)
        if found is None:
            found = self._chains[entity_id] = tuple(control_chain(self.kb, entity_id, self.at))
        return found

    def laws(self, entity_id: str) -> tuple[LawExposure, ...]:
        """Every law binding the entity, each with the shortest path that triggers it."""
        found = self._laws.get(entity_id)
        if found is None:
            found = self._laws[entity_id] = tuple(laws_for_entity(self.kb, entity_id, self.at))
        return found

    def foreign_laws(self, entity_id: str) -> tuple[LawExposure, ...]:
        """The laws in force that compel access and come from outside the EU."""
        found = self._foreign.get(entity_id)
        if found is None:
            found = tuple(foreign_access_laws(self.kb, self.laws(entity_id)))
            self._foreign[entity_id] = found
        return found

    def entity(self, entity_id: str) -> EntityView:
        """Operator, controller, chain and laws of an entity (KeyError if the KB lacks it)."""
        found = self._entities.get(entity_id)
        if found is None:
            found = self._entities[entity_id] = self._describe(entity_id)
        return found

    def registered_holder(self, asn: int, name: str, country: str) -> EntityView:
        """A network's registered holder, known only by its AS name and registration country:
        treated as an entity seated there with no researched parents (the laws of that country
        that bind by seat). Its id, ``as<number>``, is not a KB record id."""
        key = (asn, name, country)
        found = self._registered.get(key)
        if found is None:
            found = self._registered[key] = self._describe_holder(asn, name, country)
        return found

    def _describe_holder(self, asn: int, name: str, country: str) -> EntityView:
        holder = EntityRef(f"as{asn}", name or f"AS{asn}", country)
        path = (PathEntry(holder.id, holder.name, country, None),)
        path_text = f"{holder.name} ({country})"
        laws = laws_for_seat(self.kb, country, self.at)
        members = self.kb.region("eu") | {"EU"}  # as in foreign_access_laws
        foreign = tuple(law.id for law, status in laws
                        if law.effect == "compels-access" and status.state == "in-force" and law.country not in members)
        return EntityView(
            operator=holder, controller=holder,
            chain=(ChainEntry(holder.id, holder.name, country, None),),
            chain_text=path_text,
            laws=tuple(LawReach(law.id, law.name, law.country, law.effect, "seat", status.state, path, path_text)
                       for law, status in laws),
            foreign_laws=foreign,
        )

    def _describe(self, entity_id: str) -> EntityView:
        if entity_id not in self.kb.entities:
            raise KeyError(entity_id)
        chain = self.control_chain(entity_id)
        operator, controller = chain[0].entity, chain[-1].entity
        return EntityView(
            operator=EntityRef(operator.id, operator.name, operator.country),
            controller=EntityRef(controller.id, controller.name, controller.country),
            chain=chain_entries(chain),
            chain_text=render_path(chain),
            laws=tuple(law_reach(item) for item in self.laws(entity_id)),
            foreign_laws=tuple(item.law.id for item in self.foreign_laws(entity_id)),
        )


def chain_entries(chain: Sequence[ChainLink]) -> tuple[ChainEntry, ...]:
    """An ownership chain as the outputs show it."""
    return tuple(ChainEntry(link.entity.id, link.entity.name, link.entity.country,
                            link.describe_edge() or None) for link in chain)


def law_reach(exposure: LawExposure) -> LawReach:
    """A law binding an entity and the path that makes it bind, as the outputs show it."""
    law = exposure.law
    via: Any = exposure.via  # "seat" or "control"
    path = tuple(PathEntry(link.entity.id, link.entity.name, link.entity.country,
                           link.describe_edge() or None) for link in exposure.path)
    status = exposure.status.state if exposure.status else "unknown"
    return LawReach(law.id, law.name, law.country, law.effect, via, status, path,
                    exposure.path_text())
