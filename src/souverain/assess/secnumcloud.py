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

from souverain.assess.sentences import english, message, nested
from souverain.assess.technology import TechnologyLink, item_outcomes
from souverain.kb.ownership import stakes
from souverain.model.assessment import Holding, Message, OwnershipResult, TechnologyCondition

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
    failures: list[Message] = []
    unknowns: list[Message] = []
    seat_ok = entity.country in home
    outside = nested(f"assess.home.{test.home_region}")
    if not seat_ok:
        failures.append(message("assess.snc.seat", country=entity.country, home=outside))
    for item in items:
        share = max(item.capital_pct, item.votes_pct)
        who = {"name": item.name, "country": item.country}
        if share > test.individual_max_pct:
            failures.append(message("assess.snc.individual_cap", **who, capital=item.capital_pct, votes=item.votes_pct,
                                    cap=test.individual_max_pct))
        if item.unknown_share:
            unknowns.append(message("assess.snc.undisclosed", **who))
        if test.forbid_veto and item.veto:
            failures.append(message("assess.snc.veto", **who))
        if test.forbid_board_majority and item.board_majority:
            failures.append(message("assess.snc.board_majority", **who))
    collective_capital = round(sum(h.capital_pct for h in items), 4)
    collective_votes = round(sum(h.votes_pct for h in items), 4)
    if max(collective_capital, collective_votes) > test.collective_max_pct:
        failures.append(message("assess.snc.collective_cap", home=outside, capital=collective_capital,
                                votes=collective_votes, cap=test.collective_max_pct))
    return OwnershipResult(entity.id, at, seat_ok, tuple(items), collective_capital, collective_votes,
                           tuple(english(m) for m in failures), tuple(english(m) for m in unknowns),
                           tuple(test.other_conditions), failure_messages=tuple(failures),
                           unknown_messages=tuple(unknowns))


def technology_conditions(kb: KnowledgeBase, test: TechnologyTest, links: list[TechnologyLink], operator: str,
                          result: OwnershipResult) -> OwnershipResult:
    """``result`` with the technology-provider conditions (§19.6 c): failures, unknowns and one row each."""
    home = kb.region(test.home_region)
    failures, unknowns = list(result.failure_messages), list(result.unknown_messages)
    rows = list(result.technology)
    for rule in test.rules:
        for outcome in item_outcomes(rule, links, home, operator):
            reason = outcome.reason
            said = message("assess.why.condition", condition=rule.applies_to, reason=nested(reason.key, **reason.params))
            if outcome.result == "fail":
                failures.append(said)
            elif outcome.result == "unknown":
                unknowns.append(said)
            provider = outcome.link.provider  # type: ignore[union-attr]  # an item's outcome has its link
            rows.append(TechnologyCondition(rule.applies_to, outcome.result, provider.id, provider.name,
                                            english(reason), reason))
    return dataclasses.replace(result, failures=tuple(english(m) for m in failures),
                               unknowns=tuple(english(m) for m in unknowns), technology=tuple(rows),
                               failure_messages=tuple(failures), unknown_messages=tuple(unknowns))
