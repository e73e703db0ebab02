"""``domain.registry``: the registry that runs the domain's top-level domain, from the KB.

Offline: the TLD is the last label of the name, and the operator is the entity whose
``registry_tlds`` lists it (IANA root zone database). The registry keeps the delegation, so
whoever controls it can suspend or redirect the domain: the laws that reach it are attributed
like those of any operator (ownership chain at the scan's date).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from souverain.attribute import dependency

if TYPE_CHECKING:
    from souverain.kb.view import KBView
    from souverain.model.dependency import Dependency
    from souverain.model.observation import DomainObservation

FUNCTION = "domain.registry"


def tld_of(domain: str) -> str:
    return domain.rstrip(".").rsplit(".", 1)[-1].lower()


def attribute_registry(view: KBView, obs: DomainObservation) -> list[Dependency]:
    evidence = [item.id for item in obs.evidence if item.source == "kb" and item.kind == "tld"]
    tld = tld_of(obs.domain)
    entity_id = view.kb.indexes.registries.get(tld)
    if entity_id is None:
        return [dependency.build(view, obs.domain, FUNCTION, status="unknown", confidence="low",
                                 reason="registry-unknown", subject=tld, evidence=evidence, tld=tld)]
    dep = dependency.build(view, obs.domain, FUNCTION, status="identified", confidence="high",
                           reason="registry-tld", entity_id=entity_id, subject=tld, evidence=evidence,
                           tld=tld, registry=view.kb.entities[entity_id].name)
    return [dep.replace(rule=f"entities/{entity_id}.yaml: registry_tlds {tld}")]
