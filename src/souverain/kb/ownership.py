"""Ownership at a date: who holds what, who controls whom, and the chain to the ultimate controller."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from souverain.kb.schema import Entity, OwnershipEdge

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase


@dataclasses.dataclass(frozen=True)
class ChainLink:
    """``entity`` is controlled by the next link through ``edge`` (None for the top of the chain)."""

    entity: Entity
    edge: OwnershipEdge | None

    def describe_edge(self) -> str:
        """``30 %, 51 % votes, board majority`` or ``control``: English data (JSON ``holding``, inside
        ``chain_text``/``path_text``); reports word these terms in their language (``Translator.path``)."""
        if self.edge is None:
            return ""
        parts = []
        if self.edge.capital_pct is not None:
            parts.append(f"{self.edge.capital_pct:g} %")
        if self.edge.votes_pct is not None and self.edge.votes_pct != self.edge.capital_pct:
            parts.append(f"{self.edge.votes_pct:g} % votes")
        if self.edge.board_majority:
            parts.append("board majority")
        if self.edge.control and not parts:
            parts.append("control")
        return ", ".join(parts)


def owners_at(kb: KnowledgeBase, entity_id: str, at: dt.date) -> list[OwnershipEdge]:
    entity = kb.entities.get(entity_id)
    if entity is None:
        return []
    return [edge for edge in entity.owners if edge.valid_at(at)]


def controlling_edge(kb: KnowledgeBase, entity_id: str, at: dt.date) -> OwnershipEdge | None:
    """The edge giving control at ``at``; with several (a data problem), the largest voting share."""
    edges = [edge for edge in owners_at(kb, entity_id, at) if edge.controls() and edge.owner in kb.entities]
    if not edges:
        return None
    return max(edges, key=lambda e: (e.votes_pct or e.capital_pct or 0, e.board_majority))


def control_chain(kb: KnowledgeBase, entity_id: str, at: dt.date) -> list[ChainLink]:
    """From ``entity_id`` up to its ultimate controller (last link). Stops on cycles."""
    chain: list[ChainLink] = []
    seen: set[str] = set()
    current: str | None = entity_id
    while current is not None and current in kb.entities and current not in seen:
        seen.add(current)
        edge = controlling_edge(kb, current, at)
        if edge is not None and edge.owner in seen:
            edge = None
        chain.append(ChainLink(kb.entities[current], edge))
        current = edge.owner if edge else None
    return chain


def ultimate_controller(kb: KnowledgeBase, entity_id: str, at: dt.date) -> Entity | None:
    chain = control_chain(kb, entity_id, at)
    return chain[-1].entity if chain else None


@dataclasses.dataclass
class Stake:
    """What one holder holds of an entity, looked through every level."""

    holder: str
    capital_pct: float = 0.0
    votes_pct: float = 0.0
    paths: list[list[str]] = dataclasses.field(default_factory=list)
    veto: bool = False
    board_majority: bool = False
    undisclosed: bool = False  # a non-controlling stake of unknown size


def stakes(kb: KnowledgeBase, entity_id: str, at: dt.date,
           stop: Callable[[Entity], bool] | None = None) -> dict[str, Stake]:
    """Indirect holdings of every holder, at every level (not looking above holders where ``stop``).

    Shares multiply along each path and add up across paths (a holder reached through two
    subsidiaries counts twice). Votes fall back to capital where votes are unknown. A holder
    that controls an intermediate is credited with that intermediate's full voting power, as
    control carries the votes through; a controlling stake of unknown size counts as a majority.
    """
    found: dict[str, Stake] = {}

    def walk(node: str, capital: float, votes: float, path: list[str]) -> None:
        for edge in owners_at(kb, node, at):
            owner = kb.entities.get(edge.owner)
            if owner is None or edge.owner in path:
                continue
            unknown = edge.capital_pct is None and edge.votes_pct is None
            cap = capital * (edge.capital_pct if edge.capital_pct is not None else edge.votes_pct or 0.0) / 100
            vote_share = edge.votes_pct if edge.votes_pct is not None else edge.capital_pct or 0.0
            vot = votes * (100.0 if edge.controls() else vote_share) / 100
            item = found.setdefault(owner.id, Stake(owner.id))
            item.capital_pct += cap
            item.votes_pct += vot
            item.paths.append([*path, owner.id])
            item.veto |= edge.veto
            item.board_majority |= edge.board_majority or (edge.controls() and node == entity_id)
            item.undisclosed |= unknown and not edge.controls()
            if unknown and edge.controls():
                item.capital_pct = max(item.capital_pct, 50.01)
                item.votes_pct = max(item.votes_pct, 50.01)
            if stop is None or not stop(owner):
                walk(owner.id, cap, vot, [*path, owner.id])

    walk(entity_id, 100.0, 100.0, [entity_id])
    for item in found.values():
        item.capital_pct, item.votes_pct = round(item.capital_pct, 4), round(item.votes_pct, 4)
    return found


def look_through(kb: KnowledgeBase, entity_id: str, at: dt.date) -> dict[str, tuple[float, float]]:
    """``{holder: (capital %, votes %)}`` for every holder at every level (see ``stakes``)."""
    return {holder: (item.capital_pct, item.votes_pct) for holder, item in stakes(kb, entity_id, at).items()}
