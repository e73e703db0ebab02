"""EU Cloud Sovereignty Framework: answers -> points, SEAL per objective, weakest-link overall SEAL.

Four criteria are computed from the ownership graph and the law table, never typed in
(``derived`` in the framework data): SOV-1.1 control, SOV-2.1 jurisdiction, SOV-2.2 exposure to
extraterritorial laws, SOV-2.3 compelled-access pathways. A typed answer or a marketing claim
for those criteria is kept as a *claim* and compared with the computed answer.

Two readings of the answers make the headline. The *estimate* counts every answer but unknown
(unknown criteria are left out, and an objective without any answer leaves its weight to the
others); the number of ``assessor`` answers (our judgement) is shown beside it. The *evidenced
floor* counts unknown and assessor answers as the worst option (0 points, lowest SEAL), so only
derived, documented and self-declared answers lift it. ``--min-seal`` gates on the floor unless
asked to gate on the estimate.

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
from souverain.assess.sentences import english, laws, message, nested
from souverain.assess.technology import rule_outcome, source_of, technology_links
from souverain.errors import DataError
from souverain.kb.laws import foreign_access_laws, laws_for_entity
from souverain.kb.ownership import control_chain
from souverain.model.assessment import (
    AnswerSource,
    Basis,
    CriterionResult,
    CsfResult,
    Gate,
    Headline,
    Message,
    ObjectiveResult,
    Profile,
)

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.schema import Assessment, Criterion, CriterionOption, Framework, OwnershipTest

@dataclasses.dataclass
class DerivedAnswer:
    option: str
    reason: Message


def derive(kb: KnowledgeBase, entity_id: str, at: dt.date, home_test: OwnershipResult,
           test: OwnershipTest) -> dict[str, DerivedAnswer]:
    """The four criteria that follow from ownership and laws; thresholds from the framework data."""
    home = kb.region(test.home_region)
    chain = control_chain(kb, entity_id, at)
    entity, controller = chain[0].entity, chain[-1].entity
    exposures = foreign_access_laws(kb, laws_for_entity(kb, entity_id, at))
    path = " <- ".join(f"{link.entity.name} ({link.entity.country})" for link in chain)
    out: dict[str, DerivedAnswer] = {}
    if controller.country not in home:
        option = "outside-eu" if entity.country not in home else "mostly-outside-eu"
        out["SOV-1.1"] = DerivedAnswer(option, message("assess.why.controller_outside", path=path))
    elif max(home_test.collective_capital, home_test.collective_votes) > test.individual_max_pct:
        out["SOV-1.1"] = DerivedAnswer("mostly-eu", message("assess.why.controlled_mostly", path=path,
                                                            votes=home_test.collective_votes))
    else:
        out["SOV-1.1"] = DerivedAnswer("entirely-eu", message("assess.why.controlled_entirely", path=path))
    countries = {link.entity.country for link in chain}
    if countries <= home:
        out["SOV-2.1"] = DerivedAnswer("exclusively-eu", message("assess.why.chain_in_eu", path=path))
    elif entity.country not in home and controller.country not in home:
        out["SOV-2.1"] = DerivedAnswer("non-eu", message("assess.why.chain_outside", path=path))
    else:
        out["SOV-2.1"] = DerivedAnswer("mixed", message("assess.why.chain_mixed", path=path))
    if exposures:
        via_seat = any(e.via == "seat" for e in exposures)
        reach = exposures[0].path_text()
        out["SOV-2.2"] = DerivedAnswer("fully-exposed" if via_seat else "eu-subsidiary-contractual",
                                       message("assess.why.reached_by", laws=laws(exposures), path=reach))
        out["SOV-2.3"] = DerivedAnswer("compelled-access", message("assess.why.can_compel", laws=laws(exposures),
                                                                   path=reach))
    else:
        if home_test.status == "pass":
            out["SOV-2.2"] = DerivedAnswer("verified-immunity", message("assess.why.immune"))
        else:
            detail = [nested(m.key, **m.params) for m in home_test.failure_messages + home_test.unknown_messages]
            out["SOV-2.2"] = DerivedAnswer("legal-shielding", message(
                "assess.why.shielded_but", detail=detail or nested("assess.why.ownership_not_passed")))
        out["SOV-2.3"] = DerivedAnswer("always-rejected", message("assess.why.no_pathway"))
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
             at: dt.date, profile_id: str, minimum: int | dict[str, int] | None = None,
             basis: Basis = "floor") -> CsfResult:
    """Estimate and evidenced floor (score, SEAL per objective and overall), derived answers,
    claims versus facts, unknowns, and the ``minimum`` SEAL gate on ``basis``."""
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
    worst: dict[str, CriterionOption] = {}
    for objective in framework.objectives:
        for criterion in objective.criteria:
            results.append(_criterion(criterion, objective.id, assessment, derived, claims))
            worst[criterion.id] = _worst(criterion)
    estimate = _readings(framework, profile_id, results, worst, "estimate")
    floor = _readings(framework, profile_id, results, worst, "floor")
    objectives = []
    for objective in framework.objectives:
        items = [r for r in results if r.objective == objective.id]
        est, flo = estimate.objectives[objective.id], floor.objectives[objective.id]
        objectives.append(ObjectiveResult(
            id=objective.id, name=objective.name, weight=profile.weights.get(objective.id, 0.0),
            max_points=round(sum(r.max_points for r in items), 2),
            points_estimate=round(est.points, 2), seal_estimate=est.seal,
            points_floor=round(flo.points, 2), seal_floor=flo.seal,
            unknown=sum(1 for r in items if r.source == "unknown"),
            assessor=sum(1 for r in items if r.source == "assessor"),
            limiting=flo.limiting,
        ))
    headlines = {"estimate": estimate.headline, "floor": floor.headline}
    chosen = headlines[basis]
    return CsfResult(
        profile=Profile(profile_id, profile.name, profile.method, profile.weights),
        estimate=estimate.headline,
        floor=floor.headline,
        assessor=tuple(r.id for r in results if r.source == "assessor"),
        objectives=tuple(objectives),
        criteria=tuple(results),
        unknown=tuple(r.id for r in results if r.source == "unknown"),
        contradictions=tuple(r for r in results if r.contradiction),
        unsupported_claims=tuple(r for r in results if r.unsupported),
        gate=gate(dict(chosen.seal_by_objective), chosen.seal, minimum, basis),
    )


@dataclasses.dataclass
class _ObjectiveReading:
    points: float  # estimate: answered points rescaled to the objective's maximum
    seal: int | None
    limiting: tuple[str, ...]
    counted: bool  # at least one criterion counted


@dataclasses.dataclass
class _Reading:
    headline: Headline
    objectives: dict[str, _ObjectiveReading]


def _readings(framework: Framework, profile_id: str, results: list[CriterionResult],
              worst: dict[str, CriterionOption], basis: Basis) -> _Reading:
    """One reading of the answers. The floor puts unknown and assessor answers at the worst option;
    the estimate leaves unknown criteria out (an objective with none answered is left out too, and
    the weights of the others are rescaled to 100)."""
    profile = framework.profiles[profile_id]
    objectives: dict[str, _ObjectiveReading] = {}
    for objective in framework.objectives:
        counted: list[tuple[str, float, float, int | None]] = []  # id, points, max points, seal
        for r in (r for r in results if r.objective == objective.id):
            if r.source == "unknown" and basis == "estimate":
                continue
            if r.source == "assessor" and basis == "floor":
                low = worst[r.id]
                counted.append((r.id, low.points, r.max_points, low.seal))
            else:
                counted.append((r.id, r.points, r.max_points, r.seal))
        seals = [c[3] for c in counted if c[3] is not None]
        seal = min(seals) if seals else None
        full = sum(r.max_points for r in results if r.objective == objective.id)
        answered_max = sum(c[2] for c in counted)
        points = sum(c[1] for c in counted) * (full / answered_max) if answered_max else 0.0
        objectives[objective.id] = _ObjectiveReading(
            points, seal, tuple(c[0] for c in counted if seals and c[3] == seal), bool(counted))
    weights = {sov: w for sov, w in profile.weights.items() if objectives.get(sov) and objectives[sov].counted}
    total = sum(weights.values())
    scale = sum(profile.weights.values()) / total if total else 0.0
    seal_by_objective = {sov: o.seal for sov, o in objectives.items()}
    if profile.method == "objective-seal":
        parts = {sov: round(part * scale, 4) for sov, part in objective_parts(seal_by_objective, weights).items()}
    else:
        parts = {sov: round(objectives[sov].points / 1000 * w * scale, 4) for sov, w in weights.items()}
    raw = sum(parts.values())
    cap = framework.score_cap_pct or 100.0
    known = [s for sov, s in seal_by_objective.items() if s is not None and sov in weights]
    counted_ids = [r for r in results if not (r.source == "unknown" and basis == "estimate")]
    if basis == "estimate":
        at_worst = sum(1 for r in results if r.source == "unknown")
    else:
        at_worst = sum(1 for r in results if r.source in ("unknown", "assessor"))
    headline = Headline(
        basis=basis, score_pct=round(min(raw, cap), 2), score_raw_pct=round(raw, 4), score_parts=parts,
        seal=min(known) if known else None, seal_by_objective=seal_by_objective,
        counted=len(counted_ids) - (at_worst if basis == "floor" else 0), at_worst=at_worst,
    )
    return _Reading(headline, objectives)


def _worst(criterion: Criterion) -> CriterionOption:
    return min(criterion.options, key=lambda o: (o.points, o.seal if o.seal is not None else 5))


def objective_parts(seal_by_objective: dict[str, int | None], weights: dict[str, float]) -> dict[str, float]:
    """v1.2.1 document formula: weight x SEAL / 4 per objective (an unknown SEAL counts as 0)."""
    return {sov: round(weight * (seal_by_objective.get(sov) or 0) / 4, 4) for sov, weight in weights.items()}


def objective_score(seal_by_objective: dict[str, int | None], weights: dict[str, float]) -> float:
    return round(sum(objective_parts(seal_by_objective, weights).values()), 4)


def _criterion(criterion: Criterion, objective: str, assessment: Assessment, derived: dict[str, DerivedAnswer],
               claims: dict) -> CriterionResult:
    options = {o.id: o for o in criterion.options}
    worst = _worst(criterion)
    max_points = max(o.points for o in criterion.options)
    answer = assessment.answers.get(criterion.id)
    claimed = None
    source: AnswerSource
    evidence: str | None
    said: Message | None = None  # the evidence of a derived answer, by message id
    typed_option = options.get(answer.option) if answer and answer.option else None
    if criterion.derived and criterion.id in derived:
        chosen = options.get(derived[criterion.id].option)
        if chosen is None:  # framework data and derivation disagree on option ids: fail loudly in tests
            raise KeyError(f"{criterion.id}: derived option {derived[criterion.id].option!r} not in the framework")
        source, said, evidence = "derived", derived[criterion.id].reason, None
        claim = claims.get(criterion.id)
        if (criterion.derived == "technology" and answer is not None and typed_option is not None
                and _rank(typed_option) < _rank(chosen)):
            # below the ceiling the technology facts allow: the typed answer and its evidence stand
            ceiling = {"en": chosen.id, **({"fr": chosen.label_fr} if chosen.label_fr else {})}
            said = message("assess.why.below_ceiling", evidence={"quoted": answer.evidence or "-"}, option=ceiling,
                           reason=nested(said.key, **said.params))
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
        if source in ("unknown", "assessor"):  # a judgement does not contradict a claim: it is not evidence
            unsupported = better
        else:
            contradiction = better
    if said is not None:
        evidence = english(said)
    given = answer if answer is not None and source != "derived" else None  # a derived one: the answer is a claim
    return CriterionResult(
        criterion.id, objective, criterion.name, chosen.id, chosen.label, chosen.points, max_points, chosen.seal,
        source, evidence, criterion.mapping, claimed if claimed != chosen.id else None, contradiction, unsupported,
        confidence=given.confidence if given and source != "unknown" else None,
        rationale=given.rationale if given else None,
        searched=tuple(given.searched) if given else (),
        sources=tuple(source_of(s) for s in given.sources) if given else (),
        evidence_message=said,
    )


def _rank(option: CriterionOption) -> tuple[int, float]:
    return (option.seal if option.seal is not None else 0, option.points)


def gate(seal_by_objective: dict[str, int | None], overall: int | None, minimum: int | dict[str, int] | None,
         basis: Basis = "floor") -> Gate:
    """Minimum SEAL: one level for every objective (weakest link) or a level per objective."""
    if minimum is None:
        return Gate(None, None, (), basis)
    if isinstance(minimum, int):
        failing = tuple(sov for sov, seal in seal_by_objective.items() if (seal or 0) < minimum)
        return Gate(minimum, (overall or 0) >= minimum, failing, basis)
    failing = tuple(sov for sov, level in minimum.items() if (seal_by_objective.get(sov) or 0) < level)
    return Gate(minimum, not failing, failing, basis)
