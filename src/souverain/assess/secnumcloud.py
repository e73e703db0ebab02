"""SecNumCloud 3.2 §19.6 ownership test, computed from the ownership graph at a date.

Holdings are looked through (``kb.ownership.stakes``): a path stops at the first holder outside
the home region (the EU), whose share is the product of the shares along the path (votes carried
whole through an intermediate it controls). Each such holder is checked against the individual cap, their sum
against the collective cap; veto rights and board majorities held from outside fail the test.
The contract-level conditions (technical access, notification of changes) cannot be derived
from ownership facts: they are reported as ``unknown``, never as passed. Where the offer names its
technology providers, ``technology_conditions`` applies the framework's ``technology_test`` rows
(§19.6 c: a third party seated or controlled outside the EU must have no technical ability to obtain
the data) to each of them: a provider that runs the stack fails, one that ships updates or supports
it is ``unknown`` (whether that gives access depends on controls the KB does not hold).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from souverain.assess.technology import TechnologyLink, item_outcomes
from souverain.kb.ownership import stakes
from souverain.model.assessment import Holding, OwnershipResult, TechnologyCondition

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.schema import Entity, OwnershipTest, TechnologyTest


def ownership_test(kb: KnowledgeBase, entity: Entity, test: OwnershipTest, at: dt.date) -> OwnershipResult:
    home = kb.region(test.home_region)
    outside = stakes(kb, entity.id, at, stop=lambda owner: owner.country not in home)
    holdings = {
        holder: Holding(holder, kb.entities[holder].name, kb.entities[holder].country, item.capital_pct,
                        item.votes_pct, tuple(tuple(path) for path in item.paths), item.veto, item.board_majority,
                        item.undisclosed)
        for holder, item in outside.items() if kb.entities[holder].country not in home
    }
    items = sorted(holdings.values(), key=lambda h: -max(h.capital_pct, h.votes_pct))
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
    return OwnershipResult(entity.id, at, seat_ok, tuple(items), collective_capital, collective_votes,
                           tuple(failures), tuple(unknowns), tuple(test.other_conditions))


def technology_conditions(kb: KnowledgeBase, test: TechnologyTest, links: list[TechnologyLink], operator: str,
                          result: OwnershipResult) -> OwnershipResult:
    """``result`` with the technology-provider conditions (§19.6 c): failures, unknowns and one row each."""
    home = kb.region(test.home_region)
    failures, unknowns, rows = list(result.failures), list(result.unknowns), list(result.technology)
    for rule in test.rules:
        for outcome in item_outcomes(rule, links, home, operator):
            text = f"{rule.applies_to}: {outcome.reason}"
            if outcome.result == "fail":
                failures.append(text)
            elif outcome.result == "unknown":
                unknowns.append(text)
            provider = outcome.link.provider  # type: ignore[union-attr]  # an item's outcome has its link
            rows.append(TechnologyCondition(rule.applies_to, outcome.result, provider.id, provider.name,
                                            outcome.reason))
    return dataclasses.replace(result, failures=tuple(failures), unknowns=tuple(unknowns), technology=tuple(rows))
