"""All attribution rules for one domain's observation, in one place."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from souverain.attribute.dns_hosting import attribute_dns
from souverain.attribute.mail import attribute_mail
from souverain.attribute.reporting import attribute_reporting
from souverain.attribute.saas import attribute_saas
from souverain.attribute.web import attribute_web

if TYPE_CHECKING:
    from souverain.attribute.dependency import Dependency
    from souverain.collect.domain import DomainObservation
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.ipasn import IPASNTable


def attribute_domain(kb: KnowledgeBase, at: dt.date, obs: DomainObservation, ip_table: IPASNTable,
                     first_party: set[str] | None = None) -> list[Dependency]:
    deps: list[Dependency] = []
    if "mail" in obs.functions:
        deps += attribute_mail(kb, at, obs, ip_table)
        deps += attribute_saas(kb, at, obs)
        deps += attribute_reporting(kb, at, obs)
    if "dns" in obs.functions:
        deps += attribute_dns(kb, at, obs, ip_table)
    if "web" in obs.functions:
        deps += attribute_web(kb, at, obs, ip_table, set(first_party or ()) | {obs.domain})
    return deps
