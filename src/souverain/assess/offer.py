"""Assess one offer: CSF score and SEALs, SecNumCloud §19.6, laws with paths, claims versus facts."""

from __future__ import annotations

import copy
import datetime as dt
from typing import TYPE_CHECKING

from souverain.assess.csf import evaluate
from souverain.assess.secnumcloud import ownership_test, technology_conditions
from souverain.assess.technology import source_of, technology_links
from souverain.errors import DataError
from souverain.kb.laws import foreign_access_laws, laws_for_entity
from souverain.kb.ownership import control_chain
from souverain.kb.schema import Entity
from souverain.kb.view import chain_entries, law_reach
from souverain.model.assessment import (
    SCHEMA_VERSION,
    Assessment,
    Basis,
    Certification,
    Claim,
    OfferLaw,
    OfferRef,
)
from souverain.model.dependency import EntityRef

if TYPE_CHECKING:
    from souverain.kb import schema
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.laws import LawExposure

INLINE_ID = "answers-file-provider"


def with_inline_provider(kb: KnowledgeBase, assessment: schema.Assessment) -> tuple[KnowledgeBase, str]:
    """A KB view that also holds the provider an answers file describes inline."""
    if assessment.provider:
        if assessment.provider not in kb.entities:
            raise DataError(f"provider {assessment.provider!r} is not an entity of the knowledge base")
        return kb, assessment.provider
    inline = assessment.provider_entity
    assert inline is not None  # the model requires one of provider and provider_entity
    entity = Entity(id=INLINE_ID, name=inline.name, country=inline.country, owners=inline.owners,
                    sources=assessment.sources, as_of=assessment.as_of)
    view = copy.copy(kb)
    view.entities = {**kb.entities, INLINE_ID: entity}
    view.records = {**kb.records, INLINE_ID: entity}
    view.kinds = {**kb.kinds, INLINE_ID: "entities"}
    return view, INLINE_ID


def assess_offer(kb: KnowledgeBase, assessment: schema.Assessment, at: dt.date, profile: str,
                 minimum: int | dict[str, int] | None = None, basis: Basis = "floor") -> Assessment:
    """``minimum`` SEAL gated on the evidenced floor (default) or the estimate (``basis``)."""
    framework = kb.frameworks.get(assessment.framework)
    if framework is None or not framework.profiles:
        raise DataError(f"framework {assessment.framework!r} is missing from the knowledge base")
    if profile not in framework.profiles:
        raise DataError(f"profile {profile!r} unknown; choose one of {', '.join(framework.profiles)}")
    view, entity_id = with_inline_provider(kb, assessment)
    csf = evaluate(view, framework, assessment, entity_id, at, profile, minimum, basis)
    chain = control_chain(view, entity_id, at)
    links = technology_links(view, assessment, entity_id, at)
    snc = view.frameworks.get("secnumcloud")
    snc_result = None
    if snc is not None and snc.ownership_test is not None:
        snc_result = ownership_test(view, view.entities[entity_id], snc.ownership_test, at)
        if snc.technology_test:
            snc_result = technology_conditions(view, snc.technology_test, links, chain[0].entity.name, snc_result)
    csf_home = view.region(framework.technology_test.home_region) if framework.technology_test else view.region("eea")
    exposures = laws_for_entity(view, entity_id, at)
    foreign = {e.law.id for e in foreign_access_laws(view, exposures)}
    provider, controller = chain[0].entity, chain[-1].entity
    return Assessment(
        schema_version=SCHEMA_VERSION,
        offer=OfferRef(assessment.id, assessment.name, assessment.category, assessment.service, assessment.scope),
        at=at,
        provider=EntityRef(entity_id, provider.name, provider.country),
        controller=EntityRef(controller.id, controller.name, controller.country),
        chain=chain_entries(chain),
        laws=tuple(_offer_law(e, e.law.id in foreign) for e in exposures),
        technology=tuple(link.output(csf_home, provider.name) for link in links),
        csf=csf,
        secnumcloud_19_6=snc_result,
        claims=tuple(Claim(c.text, c.criterion, c.option, tuple(source_of(s) for s in c.sources))
                     for c in assessment.claims),
        certifications=tuple(Certification(c.scheme, c.scope, c.issuer, c.valid_from, c.valid_to, c.status)
                             for c in assessment.certifications),
        sources=tuple(source_of(s) for s in assessment.sources),
        kb_version=kb.version,
    )


def _offer_law(exposure: LawExposure, foreign_access: bool) -> OfferLaw:
    law = law_reach(exposure)
    return OfferLaw(law.id, law.name, law.country, law.effect, law.via, law.status, law.path,
                    law.path_text, foreign_access)
