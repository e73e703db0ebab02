"""Knowledge-base pages: an entity (ownership timeline, laws with their paths, services and their
alternatives), a service (operator, chain, laws, fingerprints, alternatives) and a law (what it
compels, whom it reaches), each linking to the others."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from souverain.kb.schema import ALTERNATIVE_CATEGORIES, ROLES_BY_CATEGORY, Fingerprints, Service
from souverain.report.i18n import Translator
from souverain.web import api
from souverain.web.timeline import timeline_svg

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.schema import Alternative, Entity, Law

MAX_ALTERNATIVES = 6
MAX_REACHED = 300  # rows of a law page's tables (a US law reaches hundreds of entities)


def alternatives_of(kb: KnowledgeBase, service: Service) -> list[Alternative]:
    """The service's own ``alternatives``, those that name it in ``replaces``, then European ones
    whose categories can replace its category (as the scan's recommendations choose them)."""
    home = kb.region("europe")
    view = kb.at(dt.date.today())
    named = [kb.alternatives[a] for a in service.alternatives if a in kb.alternatives]
    named += [alt for alt in kb.alternatives.values() if service.id in alt.replaces and alt not in named]
    wanted = set(ALTERNATIVE_CATEGORIES.get(service.category, ()))
    fitting = sorted((alt for alt in kb.alternatives.values()
                      if alt not in named and not alt.deprecated and wanted & set(alt.categories)
                      and (not alt.functions or set(alt.functions) & set(service.functions))
                      and alt.vendor in kb.entities and view.entity(alt.vendor).controller.country in home),
                     key=lambda alt: alt.name)
    return [alt for alt in named + fitting if not alt.deprecated][:MAX_ALTERNATIVES]


def alternative_rows(kb: KnowledgeBase, alternatives: list[Alternative]) -> list[dict[str, Any]]:
    return [{"id": alt.id, "name": alt.name, "vendor": alt.vendor, "vendor_name": kb.entity_name(alt.vendor),
             "country": alt.hq_country, "open_source": alt.open_source, "self_hostable": alt.self_hostable}
            for alt in alternatives]


def law_name(law: Law, lang: str) -> str:
    return (law.name_fr if lang == "fr" and law.name_fr else law.name)


def entity_context(kb: KnowledgeBase, entity: Entity, at: dt.date, t: Translator) -> dict[str, Any]:
    from souverain.attribute.who import who

    item = who(kb, entity.id, at).data
    owners = [{"owner": edge.owner, "name": kb.entity_name(edge.owner), "capital": edge.capital_pct,
               "since": edge.since, "since_before": edge.since_before, "until": edge.until,
               "controls": edge.controls()}
              for edge in sorted(entity.owners, key=lambda e: e.start)]
    subsidiaries = sorted({(other.id, other.name) for other in kb.entities.values()
                           for edge in other.owners if edge.owner == entity.id and edge.valid_at(at)},
                          key=lambda pair: pair[1])
    services = [{"id": s.id, "name": s.name, "category": s.category,
                 "alternatives": alternative_rows(kb, alternatives_of(kb, s))}
                for s in sorted(kb.services.values(), key=lambda s: s.name) if s.operator == entity.id]
    return {"record": entity, "item": item, "owners": owners, "subsidiaries": subsidiaries, "services": services,
            "timeline": timeline_svg(kb, entity, at, t)}


def fingerprint_summary(fingerprints: Fingerprints) -> list[dict[str, Any]]:
    """Each kind of fingerprint the service has: how many patterns, and the first few."""
    rows = []
    for field, values in fingerprints.model_dump(exclude_defaults=True).items():
        if isinstance(values, list) and values:
            rows.append({"kind": field, "count": len(values), "first": [str(v) for v in values[:4]]})
    return rows


def service_context(kb: KnowledgeBase, service: Service, at: dt.date) -> dict[str, Any]:
    from souverain.attribute.who import who

    item = who(kb, service.id, at).data
    functions = [(f, kb.functions[f].name if f in kb.functions else f) for f in service.functions]
    return {"record": service, "item": item, "functions": functions,
            "fingerprints": fingerprint_summary(service.fingerprints),
            "alternatives": alternative_rows(kb, alternatives_of(kb, service))}


def law_context(kb: KnowledgeBase, law: Law, at: dt.date, lang: str) -> dict[str, Any]:
    """Whom the law reaches at ``at``: every entity whose seat or controller brings it in (with
    the path), and the services they operate whose category gives a role the law is scoped to."""
    view = kb.at(at)
    reached: dict[str, dict[str, Any]] = {}
    for entity in sorted(kb.entities.values(), key=lambda e: e.name.casefold()):
        if entity.deprecated:
            continue
        exposure = next((e for e in view.laws(entity.id) if e.law.id == law.id), None)
        if exposure is not None:
            reached[entity.id] = {"id": entity.id, "name": entity.name, "country": entity.country,
                                  "via": exposure.via, "path_text": exposure.path_text()}
    scope = set(law.applies_to)
    services = [{"id": s.id, "name": s.name, "category": s.category, "operator": reached[s.operator]}
                for s in sorted(kb.services.values(), key=lambda s: s.name.casefold())
                if s.operator in reached and not s.deprecated
                and (not scope or scope & set(ROLES_BY_CATEGORY[s.category]))]
    entities = list(reached.values())
    current = law.status_at(at)
    return {"record": law, "name": law_name(law, lang), "law_status": current,
            "history": sorted(law.status, key=lambda s: s.since),
            "entities": entities[:MAX_REACHED], "entity_count": len(entities),
            "services": services[:MAX_REACHED], "service_count": len(services), "limit": MAX_REACHED}


async def page(request: Request, kind: str, rid: str) -> Response:
    """The page of an entity, a service or a law (``kind`` as ``kb.kinds`` names it)."""
    from souverain.web.pages import language, render

    kb = api.knowledge()
    at = api.parse_at(request.query_params.get("at"))
    lang = language(request)
    if kind == "entities":
        context = entity_context(kb, kb.entities[rid], at, Translator(lang, api.report_kb()[0]))
        return render(request, "kb_entity.html.j2", at=at, **context)
    if kind == "services":
        return render(request, "kb_service.html.j2", at=at, **service_context(kb, kb.services[rid], at))
    return render(request, "kb_law.html.j2", at=at, **law_context(kb, kb.laws[rid], at, lang))


KINDS = ("entities", "services", "laws")
