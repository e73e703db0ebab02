"""Assess one offer: CSF score and SEALs, SecNumCloud §19.6, laws with paths, claims versus facts."""

from __future__ import annotations

import copy
import datetime as dt
from typing import TYPE_CHECKING

from souverain.assess.csf import evaluate, gate
from souverain.assess.secnumcloud import ownership_test, technology_conditions
from souverain.assess.technology import technology_links
from souverain.errors import DataError
from souverain.kb.laws import foreign_access_laws, laws_for_entity
from souverain.kb.ownership import control_chain
from souverain.kb.schema import Entity

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.schema import Assessment

INLINE_ID = "answers-file-provider"


def with_inline_provider(kb: KnowledgeBase, assessment: Assessment) -> tuple[KnowledgeBase, str]:
    """A KB view that also holds the provider an answers file describes inline."""
    if assessment.provider:
        if assessment.provider not in kb.entities:
            raise DataError(f"provider {assessment.provider!r} is not an entity of the knowledge base")
        return kb, assessment.provider
    inline = assessment.provider_entity
    entity = Entity(id=INLINE_ID, name=inline.name, country=inline.country, owners=inline.owners,
                    sources=assessment.sources, as_of=assessment.as_of)
    view = copy.copy(kb)
    view.entities = {**kb.entities, INLINE_ID: entity}
    view.records = {**kb.records, INLINE_ID: entity}
    view.kinds = {**kb.kinds, INLINE_ID: "entities"}
    return view, INLINE_ID


def assess_offer(kb: KnowledgeBase, assessment: Assessment, at: dt.date, profile: str,
                 minimum: int | dict[str, int] | None = None) -> dict:
    framework = kb.records.get(assessment.framework)
    if framework is None or not getattr(framework, "profiles", None):
        raise DataError(f"framework {assessment.framework!r} is missing from the knowledge base")
    if profile not in framework.profiles:
        raise DataError(f"profile {profile!r} unknown; choose one of {', '.join(framework.profiles)}")
    view, entity_id = with_inline_provider(kb, assessment)
    csf = evaluate(view, framework, assessment, entity_id, at, profile)
    seal_by_objective = {o["id"]: o["seal"] for o in csf["objectives"]}
    csf["gate"] = gate(seal_by_objective, csf["seal"], minimum)
    chain = control_chain(view, entity_id, at)
    links = technology_links(view, assessment, entity_id, at)
    snc = view.records.get("secnumcloud")
    snc_result = None
    if snc:
        snc_test = ownership_test(view, view.entities[entity_id], snc.ownership_test, at)
        if snc.technology_test:
            technology_conditions(view, snc.technology_test, links, chain[0].entity.name, snc_test)
        snc_result = snc_test.as_dict()
    csf_home = view.region(framework.technology_test.home_region) if framework.technology_test else view.region("eea")
    exposures = laws_for_entity(view, entity_id, at)
    foreign = {e.law.id for e in foreign_access_laws(view, exposures)}
    return {
        "offer": {"id": assessment.id, "name": assessment.name, "category": assessment.category,
                  "service": assessment.service},
        "at": at.isoformat(),
        "provider": {"id": entity_id, "name": chain[0].entity.name, "country": chain[0].entity.country},
        "controller": {"id": chain[-1].entity.id, "name": chain[-1].entity.name, "country": chain[-1].entity.country},
        "chain": [{"id": l.entity.id, "name": l.entity.name, "country": l.entity.country,
                   "holding": l.describe_edge() or None} for l in chain],
        "laws": [dict(e.as_dict(), foreign_access=e.law.id in foreign) for e in exposures],
        "technology": [link.as_dict(csf_home, chain[0].entity.name) for link in links],
        "csf": csf,
        "secnumcloud_19_6": snc_result,
        "claims": [{"text": c.text, "criterion": c.criterion, "option": c.option,
                    "sources": [s.model_dump(mode="json", exclude_none=True) for s in c.sources]}
                   for c in assessment.claims],
        "certifications": [c.model_dump(mode="json", exclude_none=True) for c in assessment.certifications],
        "sources": [s.model_dump(mode="json", exclude_none=True) for s in assessment.sources],
        "kb_version": kb.version,
    }
