"""EU Cloud Sovereignty Framework: answers -> points, SEAL per objective, weakest-link overall SEAL.

Four criteria are computed from the ownership graph and the law table, never typed in
(``derived`` in the framework data): SOV-1.1 control, SOV-2.1 jurisdiction, SOV-2.2 exposure to
extraterritorial laws, SOV-2.3 compelled-access pathways. A typed answer or a marketing claim
for those criteria is kept as a *claim* and compared with the computed answer. Unknown answers
count as the worst option (0 points, lowest SEAL) and are listed as unknown.

Criteria marked ``derived: technology`` are computed from the offer's technology providers
(``assess.technology``, rows in the framework's ``technology_test``) when one of them is foreign.
That answer is a ceiling: a typed answer above it is a claim the facts contradict, a typed answer
below it stands (its evidence is more specific). Without a foreign provider the typed answer, or
unknown, counts as before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from souverain.assess.secnumcloud import OwnershipResult, ownership_test
from souverain.assess.technology import rule_outcome, technology_links
from souverain.errors import DataError
from souverain.kb.laws import foreign_access_laws, laws_for_entity
from souverain.kb.ownership import control_chain
from souverain.model.assessment import (
    AnswerSource,
    CriterionResult,
    CsfResult,
    Gate,
    ObjectiveResult,
    Profile,
)

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.schema import Assessment, Criterion, CriterionOption, Framework, OwnershipTest

@dataclasses.dataclass
class DerivedAnswer:
    option: str
    reason: str


def derive(kb: KnowledgeBase, entity_id: str, at: dt.date, home_test: OwnershipResult,
           test: OwnershipTest) -> dict[str, DerivedAnswer]:
    """The four criteria that follow from ownership and laws; thresholds from the framework data."""
    home = kb.region(test.home_region)
    chain = control_chain(kb, entity_id, at)
    entity, controller = chain[0].entity, chain[-1].entity
    exposures = foreign_access_laws(kb, laws_for_entity(kb, entity_id, at))
    names = ", ".join(sorted({e.law.name for e in exposures}))
    path = " <- ".join(f"{link.entity.name} ({link.entity.country})" for link in chain)
    out: dict[str, DerivedAnswer] = {}
    if controller.country not in home:
        option = "outside-eu" if entity.country not in home else "mostly-outside-eu"
        out["SOV-1.1"] = DerivedAnswer(option, f"ultimate controller outside the EU/EEA: {path}")
    elif max(home_test.collective_capital, home_test.collective_votes) > test.individual_max_pct:
        out["SOV-1.1"] = DerivedAnswer("mostly-eu", f"controlled from the EU/EEA ({path}); holders outside it have "
                                       f"{home_test.collective_votes:g} % of votes")
    else:
        out["SOV-1.1"] = DerivedAnswer("entirely-eu", f"controlled from the EU/EEA: {path}")
    countries = {link.entity.country for link in chain}
    if countries <= home:
        out["SOV-2.1"] = DerivedAnswer("exclusively-eu", f"every entity in the control chain is in the EU/EEA: {path}")
    elif entity.country not in home and controller.country not in home:
        out["SOV-2.1"] = DerivedAnswer("non-eu", f"seat and control outside the EU/EEA: {path}")
    else:
        out["SOV-2.1"] = DerivedAnswer("mixed", f"the control chain spans jurisdictions: {path}")
    if exposures:
        via_seat = any(e.via == "seat" for e in exposures)
        out["SOV-2.2"] = DerivedAnswer("fully-exposed" if via_seat else "eu-subsidiary-contractual",
                                       f"reached by {names} through {exposures[0].path_text()}")
        out["SOV-2.3"] = DerivedAnswer("compelled-access", f"{names} can compel access ({exposures[0].path_text()})")
    else:
        if home_test.status == "pass":
            out["SOV-2.2"] = DerivedAnswer("verified-immunity", "no foreign law that compels access reaches the "
                                           "control chain, and holders outside the EU stay under the §19.6 caps")
        else:
            detail = "; ".join(home_test.failures + home_test.unknowns) or "ownership test not passed"
            out["SOV-2.2"] = DerivedAnswer("legal-shielding", f"not reached through control, but: {detail}")
        out["SOV-2.3"] = DerivedAnswer("always-rejected", "no compelled-access pathway through the ownership chain "
                                       "(as far as the knowledge base knows)")
    return out


def derive_technology(kb: KnowledgeBase, framework: Framework, assessment: Assessment, entity_id: str,
                      at: dt.date) -> dict[str, DerivedAnswer]:
    """Criteria answered by the framework's technology rows, for offers with a foreign technology provider."""
    test = framework.technology_test
    if test is None or not assessment.technology:
        return {}
    home = kb.region(test.home_region)
    links = technology_links(kb, assessment, entity_id, at)
    operator = kb.entities[entity_id].name
    out = {}
    for rule in test.rules:
        outcome = rule_outcome(rule, links, home, operator)
        if outcome is not None:
            out[rule.applies_to] = DerivedAnswer(outcome.result, outcome.reason)
    return out


def evaluate(kb: KnowledgeBase, framework: Framework, assessment: Assessment, entity_id: str,
             at: dt.date, profile_id: str, minimum: int | dict[str, int] | None = None) -> CsfResult:
    """Score, SEAL per objective and overall, derived answers, claims versus facts, unknowns, and
    the ``minimum`` SEAL gate."""
    profile = framework.profiles[profile_id]
    if framework.ownership_test is None:
        raise DataError(f"frameworks/{framework.id}.yaml has no ownership_test: the derived criteria need one")
    home_test = ownership_test(kb, kb.entities[entity_id], framework.ownership_test, at)
    derived = derive(kb, entity_id, at, home_test, framework.ownership_test)
    derived.update(derive_technology(kb, framework, assessment, entity_id, at))
    claims: dict = {}
    criteria_options = {c.id: {o.id: o for o in c.options} for o_ in framework.objectives for c in o_.criteria}
    for claim in assessment.claims:  # several claims on one criterion: the most favourable one is compared
        options = criteria_options.get(claim.criterion or "", {})
        if claim.option not in options:
            continue
        current = claims.get(claim.criterion)
        if current is None or (options[claim.option].seal or 0, options[claim.option].points) > \
                (options[current.option].seal or 0, options[current.option].points):
            claims[claim.criterion] = claim
    results: list[CriterionResult] = []
    for objective in framework.objectives:
        for criterion in objective.criteria:
            results.append(_criterion(criterion, objective.id, assessment, derived, claims))
    objectives = []
    for objective in framework.objectives:
        items = [r for r in results if r.objective == objective.id]
        seals = [r.seal for r in items if r.seal is not None]
        points = sum(r.points for r in items)
        objectives.append(ObjectiveResult(
            id=objective.id, name=objective.name, weight=profile.weights.get(objective.id, 0.0),
            points=round(points, 2), max_points=round(sum(r.max_points for r in items), 2),
            seal=min(seals) if seals else None,
            unknown=sum(1 for r in items if r.source == "unknown"),
            limiting=tuple(r.id for r in items if seals and r.seal == min(seals)),
        ))
    seal_by_objective = {o.id: o.seal for o in objectives}
    if profile.method == "objective-seal":
        parts = objective_parts(seal_by_objective, profile.weights)
    else:
        parts = {o.id: round(o.points / 1000 * profile.weights.get(o.id, 0.0), 4) for o in objectives}
    raw = sum(parts.values())
    cap = framework.score_cap_pct or 100.0
    known = [s for s in seal_by_objective.values() if s is not None]
    answered = [r.seal for r in results if r.seal is not None and r.source != "unknown"]
    seal = min(known) if known else None
    return CsfResult(
        profile=Profile(profile_id, profile.name, profile.method, profile.weights),
        score_pct=round(min(raw, cap), 2),
        score_raw_pct=round(raw, 4),
        score_parts=parts,
        objectives=tuple(objectives),
        seal=seal,
        seal_known_only=min(answered) if answered else None,
        criteria=tuple(results),
        unknown=tuple(r.id for r in results if r.source == "unknown"),
        contradictions=tuple(r for r in results if r.contradiction),
        unsupported_claims=tuple(r for r in results if r.unsupported),
        gate=gate(seal_by_objective, seal, minimum),
    )


def objective_parts(seal_by_objective: dict[str, int | None], weights: dict[str, float]) -> dict[str, float]:
    """v1.2.1 document formula: weight x SEAL / 4 per objective (an unknown SEAL counts as 0)."""
    return {sov: round(weight * (seal_by_objective.get(sov) or 0) / 4, 4) for sov, weight in weights.items()}


def objective_score(seal_by_objective: dict[str, int | None], weights: dict[str, float]) -> float:
    return round(sum(objective_parts(seal_by_objective, weights).values()), 4)


def _criterion(criterion: Criterion, objective: str, assessment: Assessment, derived: dict[str, DerivedAnswer],
               claims: dict) -> CriterionResult:
    options = {o.id: o for o in criterion.options}
    worst = min(criterion.options, key=lambda o: (o.points, o.seal if o.seal is not None else 5))
    max_points = max(o.points for o in criterion.options)
    answer = assessment.answers.get(criterion.id)
    claimed = None
    source: AnswerSource
    evidence: str | None
    typed_option = options.get(answer.option) if answer and answer.option else None
    if criterion.derived and criterion.id in derived:
        chosen = options.get(derived[criterion.id].option)
        if chosen is None:  # framework data and derivation disagree on option ids: fail loudly in tests
            raise KeyError(f"{criterion.id}: derived option {derived[criterion.id].option!r} not in the framework")
        source, evidence = "derived", derived[criterion.id].reason
        claim = claims.get(criterion.id)
        if (criterion.derived == "technology" and answer is not None and typed_option is not None
                and _rank(typed_option) < _rank(chosen)):
            # below the ceiling the technology facts allow: the typed answer and its evidence stand
            evidence = f"{answer.evidence or '-'} (the technology facts allow at most {chosen.id}: {evidence})"
            chosen, source = typed_option, answer.kind
            claimed = claim.option if claim else None
        else:
            typed = answer.option if answer and answer.option else None
            claimed = typed or (claim.option if claim else None)
    elif answer and answer.option in options:
        chosen, source, evidence = options[answer.option], answer.kind, answer.evidence
        claim = claims.get(criterion.id)
        claimed = claim.option if claim else None
    else:
        chosen, source, evidence = worst, "unknown", None
        claim = claims.get(criterion.id)
        claimed = claim.option if claim else None
    contradiction = unsupported = False
    if claimed and claimed in options and claimed != chosen.id:
        claimed_option = options[claimed]
        better = (claimed_option.seal or 0) > (chosen.seal or 0) or claimed_option.points > chosen.points
        if source == "unknown":
            unsupported = better
        else:
            contradiction = better
    return CriterionResult(
        criterion.id, objective, criterion.name, chosen.id, chosen.label, chosen.points, max_points, chosen.seal,
        source, evidence, criterion.mapping, claimed if claimed != chosen.id else None, contradiction, unsupported,
    )


def _rank(option: CriterionOption) -> tuple[int, float]:
    return (option.seal if option.seal is not None else 0, option.points)


def gate(seal_by_objective: dict[str, int | None], overall: int | None, minimum: int | dict[str, int] | None) -> Gate:
    """Minimum SEAL: one level for every objective (weakest link) or a level per objective."""
    if minimum is None:
        return Gate(None, None, ())
    if isinstance(minimum, int):
        failing = tuple(sov for sov, seal in seal_by_objective.items() if (seal or 0) < minimum)
        return Gate(minimum, (overall or 0) >= minimum, failing)
    failing = tuple(sov for sov, level in minimum.items() if (seal_by_objective.get(sov) or 0) < level)
    return Gate(minimum, not failing, failing)
