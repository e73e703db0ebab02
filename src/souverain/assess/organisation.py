"""Organisation-level summary: which functions foreign laws reach, a weighted score, alternatives.

Function weights (criticality) are KB data (``functions/``). Unknown dependencies are shown as
unknown and counted as exposed in the worst-case figure, never silently as safe. With a minimum
tier (``--min-confidence``), answers of weaker tiers count as unknown in the summary (the
dependencies themselves are reported unchanged).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING

from souverain.kb.schema import ALTERNATIVE_CATEGORIES, AlternativeCategory
from souverain.kb.schema import Alternative as AlternativeRecord
from souverain.model.dependency import TIERS, EntityRef, Tier, tier_counts
from souverain.model.scan import (
    Alternative,
    Counts,
    FunctionState,
    FunctionSummary,
    LawRef,
    Score,
    ScorePart,
    Summary,
    Verdict,
)

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.model.dependency import Dependency

MAX_ALTERNATIVES = 10  # per function
PER_SERVICE = 3  # per exposed service of that function


def counted(deps: list[Dependency], minimum: Tier) -> list[Dependency]:
    """``deps`` as the summary counts them: an answer weaker than ``minimum`` is unknown."""
    if minimum == "inferred":  # the weakest answering tier: everything counts
        return deps
    return [dep if dep.tier == "unknown" or tier_counts(dep.tier, minimum)
            else dataclasses.replace(dep, status="unknown", operator=None, controller=None, chain=(),
                                     laws=(), foreign_laws=(), infrastructure=None)
            for dep in deps]


def function_state(items: list[Dependency]) -> FunctionState:
    """exposed / unknown / not-exposed / absent for the dependencies of one function."""
    if any(d.controller is not None and d.foreign_laws for d in items):
        return "exposed"
    if any(d.status == "unknown" for d in items):
        return "unknown"
    return "not-exposed" if any(d.controller is not None for d in items) else "absent"


def verdict(kb: KnowledgeBase, deps: list[Dependency]) -> str:
    """The verdict of ``summarise`` alone (a survey needs nothing else per domain)."""
    by_function: dict[str, list[Dependency]] = {}
    for dep in deps:
        by_function.setdefault(dep.function, []).append(dep)
    states = [(function_state(items), getattr(kb.records.get(function), "criticality", 1))
              for function, items in by_function.items()]
    return _verdict([state for state, critical in states if critical >= 4], [state for state, _ in states])


def _verdict(critical_states: list[str], states: list[str]) -> Verdict:
    if "exposed" in critical_states:
        return "exposed"
    if "exposed" in states:
        return "partly-exposed"
    return "undetermined" if "unknown" in critical_states else "not-exposed"


def summarise(kb: KnowledgeBase, deps: list[Dependency], at: dt.date, alternatives: bool = True,
              min_tier: Tier = "inferred") -> Summary:
    tiers = Counter(dep.tier for dep in deps)
    deps = counted(deps, min_tier)
    by_function: dict[str, list[Dependency]] = {}
    for dep in deps:
        by_function.setdefault(dep.function, []).append(dep)
    functions: list[FunctionSummary] = []
    for function, items in by_function.items():
        info = kb.records.get(function)
        criticality = getattr(info, "criticality", 1)
        name = getattr(info, "name", function)
        name_fr = getattr(info, "name_fr", None) or name
        known = [d for d in items if d.controller is not None]
        exposed = [d for d in known if d.foreign_laws]
        unknown = sum(1 for d in items if d.status == "unknown")
        state = function_state(items)
        functions.append(FunctionSummary(
            function, name, name_fr, criticality, state,
            services=tuple(sorted({d.service.name for d in items if d.service})),
            controllers=tuple(sorted({f"{d.controller.name} ({d.controller.country})"
                                      for d in known if d.controller})),
            laws=tuple(sorted({law for d in exposed for law in d.foreign_laws})),
            unknown=unknown,
        ))
    functions.sort(key=lambda f: (-f.criticality, f.function))
    weight = sum(f.criticality for f in functions if f.state != "absent")
    exposed_weight = sum(f.criticality for f in functions if f.state == "exposed")
    unknown_weight = sum(f.criticality for f in functions if f.state == "unknown")
    score = Score(
        exposure_pct=round(100 * exposed_weight / weight, 1) if weight else 0.0,
        exposure_worst_case_pct=round(100 * (exposed_weight + unknown_weight) / weight, 1) if weight else 0.0,
        parts=tuple(ScorePart(f.function, f.criticality, f.state) for f in functions),
    )
    critical_exposed = tuple(f.function for f in functions if f.state == "exposed" and f.criticality >= 4)
    critical_unknown = tuple(f.function for f in functions if f.state == "unknown" and f.criticality >= 4)
    laws = sorted({law for f in functions for law in f.laws})
    return Summary(
        verdict=_verdict([f.state for f in functions if f.criticality >= 4], [f.state for f in functions]),
        critical_exposed=critical_exposed,
        critical_unknown=critical_unknown,
        laws=tuple(LawRef(law, kb.laws[law].name, kb.laws[law].country) for law in laws),
        functions=tuple(functions),
        score=score,
        alternatives=alternatives_for(kb, deps, at) if alternatives else {},
        counts=Counts(
            dependencies=len(deps),
            exposed=sum(1 for d in deps if d.foreign_laws),
            unknown=sum(1 for d in deps if d.status == "unknown"),
            by_tier={tier: tiers[tier] for tier in TIERS},
        ),
        min_confidence=min_tier,
    )


def alternatives_for(kb: KnowledgeBase, deps: list[Dependency], at: dt.date) -> dict[str, tuple[Alternative, ...]]:
    """European alternatives for each function that foreign laws reach, relevant to the services
    found: an alternative that names a service in ``replaces``, or whose categories can replace
    the service's category (``ALTERNATIVE_CATEGORIES``): a fonts CDN gets font hosting, never a
    payment provider. Those naming a service found come first."""
    home = kb.region("europe")
    view = kb.at(at)
    exposed: dict[str, dict[str, set[AlternativeCategory]]] = {}  # function -> service id -> categories wanted
    for dep in deps:
        if dep.foreign_laws and dep.service is not None:
            service = kb.services.get(dep.service.id)
            wanted = set(ALTERNATIVE_CATEGORIES.get(service.category, ())) if service else set()
            exposed.setdefault(dep.function, {})[dep.service.id] = wanted
    out: dict[str, tuple[Alternative, ...]] = {}
    for function, services in sorted(exposed.items()):
        chosen: dict[str, tuple[AlternativeRecord, EntityRef, list[str], bool]] = {}
        for sid, wanted in sorted(services.items()):  # up to PER_SERVICE for each service found
            candidates = []
            for alt in kb.alternatives.values():
                named = sid in alt.replaces
                fits = bool(wanted & set(alt.categories)) and (not alt.functions or function in alt.functions)
                if alt.deprecated or not (named or fits):
                    continue
                if alt.vendor not in kb.entities:
                    continue
                controller = view.entity(alt.vendor).controller
                if controller.country not in home:
                    continue
                candidates.append((not named, alt.name, alt, controller))
            for not_named, _, alt, controller in sorted(candidates, key=lambda item: item[:2])[:PER_SERVICE]:
                _, _, found, was_named = chosen.setdefault(alt.id, (alt, controller, [], False))
                found.append(sid)
                chosen[alt.id] = (alt, controller, found, was_named or not not_named)
        ranked = sorted(chosen.values(), key=lambda item: (not item[3], item[0].name))[:MAX_ALTERNATIVES]
        out[function] = tuple(
            Alternative(alt.id, alt.name, kb.entity_name(alt.vendor), controller.country, alt.open_source,
                        alt.self_hostable, str(alt.website), named, alt.facts[0],
                        replaces_found=tuple(kb.services[sid].name for sid in found),
                        foreign_laws=tuple(e.law.id for e in view.foreign_laws(alt.vendor)),
                        secnumcloud=_secnumcloud(kb, alt.vendor, alt.service),
                        assessment=_assessment(kb, alt.vendor, alt.service))
            for alt, controller, found, named in ranked
        )
    return out


def _secnumcloud(kb: KnowledgeBase, vendor: str, service_id: str | None) -> bool:
    """A SecNumCloud qualification held (not in progress) by the service or an assessed offer of the vendor."""
    service = kb.services.get(service_id) if service_id else None
    certifications = list(service.certifications) if service else []
    certifications += [c for a in kb.assessments.values() if a.provider == vendor for c in a.certifications]
    return any("secnumcloud" in c.scheme.lower() and c.status == "certified" for c in certifications)


def _assessment(kb: KnowledgeBase, vendor: str, service_id: str | None) -> str | None:
    """The CSF assessment of the alternative's own service, else of an offer of its vendor."""
    assessed = sorted(kb.assessments.items())
    own = next((rid for rid, a in assessed if service_id and a.service == service_id), None)
    return own or next((rid for rid, a in assessed if a.provider == vendor), None)
