"""All attribution rules for one domain's observation, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from souverain.attribute import dependency
from souverain.attribute.dns_hosting import attribute_dns
from souverain.attribute.mail import attribute_mail, spf_notices
from souverain.attribute.registrar import attribute_registrar
from souverain.attribute.registry import attribute_registry
from souverain.attribute.reporting import attribute_reporting
from souverain.attribute.saas import attribute_saas
from souverain.attribute.web import attribute_web
from souverain.model.scan import Notice

if TYPE_CHECKING:
    from souverain.kb.ipasn import IPASNTable
    from souverain.kb.view import KBView
    from souverain.model.dependency import Dependency
    from souverain.model.observation import DomainObservation

# the function that stands for each group of checks when there is nothing to attribute
KEY_FUNCTIONS = {"mail": "email.inbound", "dns": "dns.authoritative", "web": "web.hosting"}


def attribute_domain(view: KBView, obs: DomainObservation, ip_table: IPASNTable,
                     first_party: set[str] | None = None) -> list[Dependency]:
    if obs.nxdomain:
        return nonexistent(view, obs)
    deps: list[Dependency] = []
    if "mail" in obs.functions:
        deps += attribute_mail(view, obs, ip_table)
        deps += attribute_saas(view, obs)
        deps += attribute_reporting(view, obs)
    if "dns" in obs.functions:
        deps += attribute_dns(view, obs, ip_table)
    if "web" in obs.functions:
        deps += attribute_web(view, obs, ip_table, set(first_party or ()) | {obs.domain})
    if "registry" in obs.functions:
        deps += attribute_registry(view, obs)
    if "registrar" in obs.functions:
        deps += attribute_registrar(view, obs)
    return deps


def nonexistent(view: KBView, obs: DomainObservation) -> list[Dependency]:
    """A domain that does not exist has no service to attribute: each key function says so.

    ``unknown`` (with high confidence in the fact): never counted as "not exposed", and not mistaken
    for a domain without MX whose mail would go to its own address (implicit MX).
    """
    evidence = [item.id for item in obs.evidence
                if item.source == "dns" and item.subject == obs.domain and item.status == "NXDOMAIN"]
    return [dependency.build(view, obs.domain, KEY_FUNCTIONS[group], status="unknown", confidence="high",
                             reason="domain-nxdomain", evidence=evidence, name=obs.domain)
            for group in obs.functions if group in KEY_FUNCTIONS]


def notices(obs: DomainObservation) -> list[Notice]:
    """What the reader must see besides the dependencies: a domain that does not exist, a broken SPF."""
    if obs.nxdomain:
        evidence = tuple(item.id for item in obs.evidence
                         if item.source == "dns" and item.subject == obs.domain and item.status == "NXDOMAIN")
        return [Notice(obs.domain, "domain-nxdomain", "error", evidence, {"domain": obs.domain})]
    return spf_notices(obs) if "mail" in obs.functions else []
