"""Technology an offer runs on: who supplies it, who controls the supplier, which laws reach it.

An assessment's ``technology`` items name a provider entity (Microsoft for Bleu, Google for S3NS,
VMware for a private cloud...). The provider's control chain at a date and the laws that reach it
come from the same ownership walk and law table as the offer's own provider, so an acquisition
(VMware -> Broadcom) changes the answer from its completion date on.

What a foreign dependency means for a criterion is data: a framework's ``technology_test`` lists,
per criterion (or §19.6 condition), rows that match technology items on their dependency level,
component and the provider's role in updates, keys and support. This module only matches rows in
order, on the items whose provider is seated or controlled outside the test's home region, and
renders the path that made the row fire (``Bleu SAS -> licensed stack ... from Microsoft
Corporation (US) -> CLOUD Act, FISA 702``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from souverain.assess.sentences import english, laws, message, nested
from souverain.kb.laws import LawExposure, foreign_access_laws, laws_for_entity, render_path
from souverain.kb.ownership import ChainLink, control_chain
from souverain.model.assessment import Message, Source, TechnologyItem, TechnologyLaw
from souverain.model.dependency import EntityRef

if TYPE_CHECKING:
    from souverain.kb import schema
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.schema import (
        Assessment,
        Entity,
        TechnologyDependency,
        TechnologyMatch,
        TechnologyRule,
    )


@dataclasses.dataclass
class TechnologyLink:
    """One technology item of an offer, resolved at a date."""

    item: TechnologyDependency
    provider: Entity
    chain: list[ChainLink]  # from the provider up to its ultimate controller
    laws: list[LawExposure]  # foreign laws that compel access and reach the provider
    same_controller: bool  # the offer's operator and the provider share their ultimate controller

    @property
    def controller(self) -> Entity:
        return self.chain[-1].entity

    def foreign(self, home: frozenset[str]) -> bool:
        """Seated outside ``home``, or controlled by an entity seated outside it (§19.6 c wording)."""
        return any(link.entity.country not in home for link in self.chain)

    def path_message(self, operator: str, row: TechnologyMatch | None = None) -> Message:
        """``operator -> <row's because, or the dependency level> <provider chain> [what] -> laws``."""
        item = self.item
        component = nested(f"component.{item.component}")
        what = (nested("assess.why.what_product", component=component, product={"quoted": item.product}) if item.product
                else nested("assess.why.what", component=component))
        because: dict = ({"en": row.because, **({"fr": row.because_fr} if row.because_fr else {})} if row
                         else nested(f"assess.level.{item.dependency}"))
        params = {"operator": operator, "because": because, "chain": render_path(self.chain), "what": what}
        if self.laws:
            return message("assess.why.tech_path_laws", **params, laws=laws(self.laws))
        return message("assess.why.tech_path", **params)

    def path(self, operator: str) -> str:
        return english(self.path_message(operator))

    def output(self, home: frozenset[str], operator: str) -> TechnologyItem:
        """The item as the assessment shows it."""
        item, controller = self.item, self.controller
        return TechnologyItem(
            entity=self.provider.id, name=self.provider.name, country=self.provider.country,
            controller=EntityRef(controller.id, controller.name, controller.country),
            component=item.component, product=item.product, dependency=item.dependency,
            open_source=item.open_source, updates_from_provider=item.updates_from_provider,
            keys_from_provider=item.keys_from_provider, support_from_provider=item.support_from_provider,
            foreign=self.foreign(home), same_controller=self.same_controller,
            chain_text=render_path(self.chain), path=self.path(operator),
            laws=tuple(TechnologyLaw(e.law.id, e.law.name, e.via, e.path_text())  # type: ignore[arg-type]
                       for e in self.laws),
            note=item.note, sources=tuple(source_of(s) for s in item.sources),
        )


def source_of(source: schema.Source) -> Source:
    """A KB source as the outputs show it."""
    return Source(str(source.url), source.title, source.retrieved, source.published, source.publisher)


def technology_links(kb: KnowledgeBase, assessment: Assessment, entity_id: str, at: dt.date) -> list[TechnologyLink]:
    """The offer's technology items valid at ``at`` whose provider is in the KB, with chains and laws."""
    operator_chain = control_chain(kb, entity_id, at)
    operator_controller = operator_chain[-1].entity.id if operator_chain else entity_id
    links = []
    for item in assessment.technology:
        if not item.valid_at(at) or item.entity not in kb.entities:
            continue
        chain = control_chain(kb, item.entity, at)
        laws = foreign_access_laws(kb, laws_for_entity(kb, item.entity, at))
        links.append(TechnologyLink(item, kb.entities[item.entity], chain, laws,
                                    chain[-1].entity.id == operator_controller))
    return links


def matches(row: TechnologyMatch, link: TechnologyLink) -> bool:
    item = link.item
    facts = (
        (row.dependency, item.dependency),
        (row.component, item.component),
        (row.open_source, item.open_source),
        (row.updates, item.updates_from_provider),
        (row.keys, item.keys_from_provider),
        (row.support, item.support_from_provider),
    )
    if any(allowed is not None and value not in allowed for allowed, value in facts):
        return False
    return row.same_controller is None or row.same_controller == link.same_controller


@dataclasses.dataclass
class Outcome:
    """What a rule gives for one technology item (or for the offer: the first row any item matches)."""

    result: str
    reason: Message
    link: TechnologyLink | None
    row_index: int  # position of the matching row; len(rows) for ``otherwise``


def item_outcomes(rule: TechnologyRule, links: list[TechnologyLink], home: frozenset[str],
                  operator: str) -> list[Outcome]:
    """Per foreign item: the first row it matches, else ``otherwise`` (items matching nothing are left out)."""
    out = []
    for link in links:
        if not link.foreign(home):
            continue
        for index, row in enumerate(rule.rows):
            if matches(row, link):
                out.append(Outcome(row.result, link.path_message(operator, row), link, index))
                break
        else:
            if rule.otherwise:
                out.append(Outcome(rule.otherwise, link.path_message(operator), link, len(rule.rows)))
    return out


def rule_outcome(rule: TechnologyRule, links: list[TechnologyLink], home: frozenset[str],
                 operator: str) -> Outcome | None:
    """The first row (rows go from worst to best) that any foreign item matches; None when none does."""
    outcomes = item_outcomes(rule, links, home, operator)
    return min(outcomes, key=lambda o: o.row_index) if outcomes else None
