"""Inventory items -> dependencies, matched through the KB indexes scan uses (host and URL
fingerprints) and the inventory kinds (Terraform provider sources, container registries, package
URL namespaces, SBOM suppliers, Kubernetes provisioners and annotations), then by the exact name
of a KB service or entity.

Items of one function that land on the same service (and region) become one dependency citing
up to ``MAX_EVIDENCE`` of them; the count says how many. An item nothing matches is an
``unknown`` dependency saying what would identify it: nothing is dropped.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from typing import TYPE_CHECKING, Any

from souverain.attribute import dependency
from souverain.kb.psl import PublicSuffixList

if TYPE_CHECKING:
    from souverain.inventory.items import Item
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.indexes import Match
    from souverain.kb.view import KBView
    from souverain.model.dependency import Dependency

MAX_EVIDENCE = 20  # evidence items cited per dependency (the count covers all)
WEB_KINDS = ("host", "cname")  # what a page's requests are matched on, as in scan --browser


@dataclasses.dataclass
class Names:
    """KB services and entities by their exact (case-folded) names and aliases."""

    services: dict[str, str]
    entities: dict[str, str]

    @classmethod
    def build(cls, kb: KnowledgeBase) -> Names:
        services = {_fold(s.name): s.id for s in kb.services.values() if not s.deprecated}
        entities: dict[str, str] = {}
        for entity in kb.entities.values():
            if entity.deprecated:
                continue
            for name in (entity.name, *entity.aliases):
                entities.setdefault(_fold(name), entity.id)
        return cls(services, entities)


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclasses.dataclass
class Group:
    """The items that make one dependency."""

    function: str
    key: str
    what: str
    kind: str
    match: Match | None = None
    service_id: str | None = None
    entity_id: str | None = None
    region: str | None = None
    local: bool = False
    first: str = ""  # label of the first item
    count: int = 0
    evidence: list[str] = dataclasses.field(default_factory=list)


class Grouper:
    """Collects items into groups as they stream by; ``dependencies()`` at the end."""

    def __init__(self, kb: KnowledgeBase, names: Names) -> None:
        self.kb, self.names = kb, names
        self.groups: dict[tuple[str, str, str, str], Group] = {}
        self.psl = PublicSuffixList.bundled()

    def add(self, item: Item, evidence_id: str | None) -> bool:
        """File ``item``; True when its evidence is cited (the caller keeps that evidence)."""
        match, service_id, entity_id = self._match(item)
        if item.local:
            key = f"local:{item.terraform or item.label}"
        elif service_id:
            key = f"service:{service_id}"
        elif entity_id:
            key = f"entity:{entity_id}"
        else:
            key = f"unknown:{self._unknown_key(item)}"
        function = self._function(item, service_id)
        group_key = (function, key, item.region or "", item.what)
        group = self.groups.get(group_key)
        if group is None:
            group = self.groups[group_key] = Group(
                function, key, item.what, item.kind, match, service_id, entity_id, item.region, item.local,
                item.label)
        group.count += 1
        if evidence_id is not None and len(group.evidence) < MAX_EVIDENCE:
            group.evidence.append(evidence_id)
            return True
        return False

    def _function(self, item: Item, service_id: str | None) -> str:
        """A listed application is what its service is: a row naming the mail service is mail
        (``email.inbound``), an identity provider only is ``identity``; other items keep theirs."""
        if item.function != "saas" or service_id is None:
            return item.function
        functions = self.kb.services[service_id].functions
        if "saas" in functions:
            return "saas"
        return "identity" if "identity" in functions else functions[0]

    def _match(self, item: Item) -> tuple[Match | None, str | None, str | None]:
        idx = self.kb.indexes
        if item.local:
            return None, None, None
        candidates: list[Match | None] = []
        if item.terraform:
            candidates.append(idx.match_terraform(item.terraform))
        if item.registry:
            candidates.append(idx.match_host(item.registry, ("registry",)))
        if item.purl:
            candidates.append(idx.match_purl(item.purl))
        candidates += [idx.match_kubernetes(value) for value in item.kubernetes]
        candidates += [idx.match_url(url) for url in item.urls]
        kinds = WEB_KINDS if item.kind == "har" else None
        hosts = item.hosts or tuple(_host(url) for url in item.urls)
        candidates += [idx.match_host(host, kinds) for host in hosts if host]
        if item.supplier:
            candidates.append(idx.match_supplier(item.supplier))
        candidates += [idx.match_supplier(name) for name in item.names]  # product names (Jira, Slack)
        found = next((m for m in candidates if m is not None), None)
        if found is not None:
            return found, found.service, None
        for name in (*item.names, *((item.supplier,) if item.supplier else ())):
            folded = _fold(name)
            if folded in self.names.services:
                return None, self.names.services[folded], None
            if folded in self.names.entities:
                return None, None, self.names.entities[folded]
        return None, None, None

    def _unknown_key(self, item: Item) -> str:
        """What the unmatched items are grouped by: what would identify them."""
        if item.terraform:
            return item.terraform
        if item.registry:
            return item.registry
        if item.purl:
            kind, _, rest = item.purl.removeprefix("pkg:").partition("/")
            namespace = rest.split("@", 1)[0].rsplit("/", 1)[0] if "/" in rest.split("@", 1)[0] else ""
            return f"pkg:{kind}/{namespace}" if namespace else (item.supplier or f"pkg:{kind}/{rest.split('@', 1)[0]}")
        if item.kind == "har" and item.hosts:
            try:
                return self.psl.registrable_domain(item.hosts[0]) or item.hosts[0]
            except ValueError:
                return item.hosts[0]
        if item.supplier:
            return item.supplier
        return item.label

    def dependencies(self, view: KBView, org: str) -> list[Dependency]:
        return [self._dependency(view, org, group) for group in self.groups.values()]

    def _dependency(self, view: KBView, org: str, group: Group) -> Dependency:
        params: dict[str, Any] = {"count": group.count, "what": group.what, "source": group.kind,
                                               "region": group.region or "-", "first": group.first[:120]}
        subject = group.key.split(":", 1)[1]
        if group.region:
            subject = f"{subject} {group.region}"
        if group.local:
            return dependency.build(view, org, group.function, status="none", confidence="high",
                                    reason="inventory-local", subject=subject, evidence=group.evidence,
                                    **params)
        if group.service_id or group.entity_id:
            reason = "inventory-match" if group.match else "inventory-name"
            if group.match:
                params["rule"] = f"{group.match.kind} {group.match.pattern}"
            elif group.service_id:
                params["rule"] = view.kb.services[group.service_id].name
            else:
                params["rule"] = view.kb.entities[group.entity_id].name if group.entity_id else subject
            return dependency.build(view, org, group.function, status="identified",
                                    confidence="high" if group.match else "medium", reason=reason,
                                    service_id=group.service_id, entity_id=group.entity_id, subject=subject,
                                    evidence=group.evidence, match=group.match, **params)
        params["hint"] = _hint(group)
        return dependency.build(view, org, group.function, status="unknown", confidence="low",
                                reason="inventory-unmatched", subject=subject, evidence=group.evidence,
                                tier="unknown", **params)


def _host(url: str) -> str:
    try:
        return urllib.parse.urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _hint(group: Group) -> str:
    """The KB field that would identify these items."""
    if group.kind == "terraform":
        return "fingerprints.terraform"
    if group.what == "image":
        return "fingerprints.registry"
    if group.what in ("storage", "load-balancer"):
        return "fingerprints.kubernetes"
    if group.kind in ("cyclonedx", "spdx") and group.what != "service":
        return "fingerprints.purl / fingerprints.supplier"
    return "fingerprints.host / fingerprints.url"
