"""SecNumCloud 3.2 §19.6 ownership test, computed from the ownership graph at a date.

Holdings are looked through: a path stops at the first holder outside the home region (the EU),
whose share is the product of the shares along the path (votes carried whole through an
intermediate it controls). Each such holder is checked against the individual cap, their sum
against the collective cap; veto rights and board majorities held from outside fail the test.
The contract-level conditions (technical access, notification of changes) cannot be derived
from ownership facts: they are reported as ``unknown``, never as passed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from souverain.kb.ownership import owners_at

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.schema import Entity, OwnershipTest


@dataclasses.dataclass
class Holding:
    holder: str
    name: str
    country: str
    capital_pct: float
    votes_pct: float
    paths: list[list[str]]
    veto: bool = False
    board_majority: bool = False
    unknown_share: bool = False


@dataclasses.dataclass
class OwnershipResult:
    entity: str
    at: dt.date
    seat_ok: bool
    holdings: list[Holding]
    collective_capital: float
    collective_votes: float
    failures: list[str]
    unknowns: list[str]
    other_conditions: list[str]

    @property
    def status(self) -> str:
        if self.failures:
            return "fail"
        if self.unknowns:
            return "unknown"
        return "pass"

    def as_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["at"] = self.at.isoformat()
        data["status"] = self.status
        return data


def ownership_test(kb: KnowledgeBase, entity: Entity, test: OwnershipTest, at: dt.date) -> OwnershipResult:
    home = kb.region(test.home_region)
    holdings: dict[str, Holding] = {}

    def walk(node: str, capital: float, votes: float, path: list[str], seen: frozenset[str]) -> None:
        for edge in owners_at(kb, node, at):
            owner = kb.entities.get(edge.owner)
            if owner is None or edge.owner in seen:
                continue
            unknown = edge.capital_pct is None and edge.votes_pct is None
            cap_share = edge.capital_pct if edge.capital_pct is not None else (edge.votes_pct or 0.0)
            vote_share = edge.votes_pct if edge.votes_pct is not None else (edge.capital_pct or 0.0)
            cap = capital * cap_share / 100
            vot = votes * (100.0 if edge.controls() else vote_share) / 100
            if owner.country not in home:
                item = holdings.setdefault(owner.id, Holding(owner.id, owner.name, owner.country, 0.0, 0.0, []))
                item.capital_pct += cap
                item.votes_pct += vot
                item.paths.append([*path, owner.id])
                item.veto |= edge.veto
                item.board_majority |= edge.board_majority or (edge.controls() and node == entity.id)
                item.unknown_share |= unknown and not edge.controls()
                if unknown and edge.controls():
                    item.capital_pct = max(item.capital_pct, 50.01)
                    item.votes_pct = max(item.votes_pct, 50.01)
                continue  # a non-home holder: its own owners are outside the question
            walk(owner.id, cap, vot, [*path, owner.id], seen | {owner.id})

    walk(entity.id, 100.0, 100.0, [entity.id], frozenset({entity.id}))
    items = sorted(holdings.values(), key=lambda h: -max(h.capital_pct, h.votes_pct))
    for item in items:
        item.capital_pct = round(item.capital_pct, 4)
        item.votes_pct = round(item.votes_pct, 4)
    failures: list[str] = []
    unknowns: list[str] = []
    seat_ok = entity.country in home
    if not seat_ok:
        failures.append(f"registered seat in {entity.country}, outside the {test.home_region.upper()}")
    for item in items:
        share = max(item.capital_pct, item.votes_pct)
        if share > test.individual_max_pct:
            failures.append(f"{item.name} ({item.country}) holds {item.capital_pct:g} % of capital and "
                            f"{item.votes_pct:g} % of votes, over the {test.individual_max_pct:g} % individual cap")
        if item.unknown_share:
            unknowns.append(f"{item.name} ({item.country}) holds an undisclosed stake")
        if test.forbid_veto and item.veto:
            failures.append(f"{item.name} ({item.country}) has a veto right")
        if test.forbid_board_majority and item.board_majority:
            failures.append(f"{item.name} ({item.country}) can appoint a majority of the governing bodies")
    collective_capital = round(sum(h.capital_pct for h in items), 4)
    collective_votes = round(sum(h.votes_pct for h in items), 4)
    if max(collective_capital, collective_votes) > test.collective_max_pct:
        failures.append(f"holders outside the {test.home_region.upper()} hold {collective_capital:g} % of capital and "
                        f"{collective_votes:g} % of votes together, over the {test.collective_max_pct:g} % cap")
    return OwnershipResult(entity.id, at, seat_ok, items, collective_capital, collective_votes, failures, unknowns,
                           list(test.other_conditions))
