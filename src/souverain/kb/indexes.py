"""Derived look-up structures, built from the records, never edited by hand.

Host suffixes are matched on DNS label boundaries: ``x.mail.protection.outlook.com`` is tried as
itself, then ``mail.protection.outlook.com``, ``protection.outlook.com``..., so the longest
fingerprint wins and ``evilgoogle.com`` can never match ``google.com``.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from typing import TYPE_CHECKING

from souverain.kb.hostnames import normalise_host
from souverain.kb.schema import TagLoader

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase

HOST_KINDS = ("mx", "spf", "dkim", "autodiscover", "report", "ns", "cname", "host", "registry")
# prefixes that name the public registry in a Terraform provider source address
TERRAFORM_REGISTRIES = ("registry.terraform.io/", "registry.opentofu.org/")
_MEMO_SIZE = 2_048  # hosts remembered by ``match_host`` (cleared when full: bounded memory)


@dataclasses.dataclass(frozen=True)
class Match:
    service: str
    kind: str  # fingerprint kind that fired (mx, spf, host, txt, ca, asn...)
    pattern: str  # the fingerprint value that fired
    value: str  # what it was matched against

    def rule(self) -> str:
        return f"services/{self.service}.yaml fingerprints.{self.kind}: {self.pattern}"


@dataclasses.dataclass
class Indexes:
    hosts: dict[str, list[tuple[str, str]]]  # suffix -> [(service, kind)]
    txt: list[tuple[str, str]]  # (lowercase prefix, service)
    ca: dict[str, str]  # lowercase issuer organisation -> service
    asn: dict[int, str]  # ASN -> service
    header: list[tuple[str, str, str]]  # (lowercase header name, lowercase value prefix, service)
    urls: dict[str, list[tuple[str, str]]] = dataclasses.field(default_factory=dict)  # host suffix -> [(path prefix, service)]
    tag_loaders: tuple[TagLoader, ...] = ()  # loaders/ records, by id: what pages' snippets load
    domains: dict[str, str] = dataclasses.field(default_factory=dict)  # entity domain -> entity id
    terraform: dict[str, str] = dataclasses.field(default_factory=dict)  # namespace/type -> service
    purl: dict[str, list[tuple[str, str]]] = dataclasses.field(default_factory=dict)  # type -> [(namespace, service)]
    supplier: dict[str, str] = dataclasses.field(default_factory=dict)  # lowercase name -> service
    kubernetes: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (prefix, service), longest first
    registries: dict[str, str] = dataclasses.field(default_factory=dict)  # TLD -> entity running its registry
    registrars: dict[int, str] = dataclasses.field(default_factory=dict)  # IANA registrar id -> entity
    # derived-host template -> the first service (in KB order, deprecated ones included) that lists it
    derived: dict[str, str] = dataclasses.field(default_factory=dict)
    # (host, kinds) -> match_host's answer: a survey matches the same provider hosts for every domain
    _host_memo: dict[tuple[str, tuple[str, ...] | None], Match | None] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False)
    # ``txt`` by the first characters every prefix has (``_txt_head`` of them): a domain's TXT
    # values are each compared with one bucket, not with every token the KB knows
    _txt_head: int = dataclasses.field(default=0, init=False, repr=False, compare=False)
    _txt_heads: dict[str, list[tuple[str, str]]] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._txt_head = min((len(prefix) for prefix, _ in self.txt), default=0)
        for prefix, service in self.txt:  # in ``txt`` order (longest first) within each bucket
            self._txt_heads.setdefault(prefix[:self._txt_head], []).append((prefix, service))

    @classmethod
    def build(cls, kb: KnowledgeBase) -> Indexes:
        hosts: dict[str, list[tuple[str, str]]] = {}
        txt: list[tuple[str, str]] = []
        ca: dict[str, str] = {}
        asn: dict[int, str] = {}
        header: list[tuple[str, str, str]] = []
        urls: dict[str, list[tuple[str, str]]] = {}
        terraform: dict[str, str] = {}
        purl: dict[str, list[tuple[str, str]]] = {}
        supplier: dict[str, str] = {}
        kubernetes: list[tuple[str, str]] = []
        for service in kb.services.values():
            if service.deprecated:
                continue
            fp = service.fingerprints
            for kind in HOST_KINDS:
                for suffix in getattr(fp, kind):
                    hosts.setdefault(suffix, []).append((service.id, kind))
            for pattern in fp.url:
                suffix, path = pattern.split("/", 1)
                urls.setdefault(suffix, []).append(("/" + path, service.id))
            txt.extend((prefix.lower(), service.id) for prefix in fp.txt)
            ca.update((name.lower(), service.id) for name in fp.ca)
            asn.update((number, service.id) for number in fp.asn)
            for rule in fp.header:
                name, _, prefix = rule.partition(":")
                header.append((name.lower(), prefix.lower(), service.id))
            terraform.update((address, service.id) for address in fp.terraform)
            for pattern in fp.purl:
                kind, namespace = pattern.split("/", 1)
                purl.setdefault(kind, []).append((namespace.lower(), service.id))
            supplier.update((name.strip().lower(), service.id) for name in fp.supplier)
            kubernetes.extend((prefix, service.id) for prefix in fp.kubernetes)
        txt.sort(key=lambda item: -len(item[0]))  # longest prefix first
        header.sort(key=lambda item: -len(item[1]))
        for prefixes in urls.values():
            prefixes.sort(key=lambda item: -len(item[0]))  # longest path first
        loaders = tuple(record for _, record in sorted(kb.records.items())
                        if isinstance(record, TagLoader) and not record.deprecated)
        domains = {domain: entity.id for entity in kb.entities.values() if not entity.deprecated
                   for domain in entity.domains}
        for namespaces in purl.values():
            namespaces.sort(key=lambda item: -len(item[0]))
        kubernetes.sort(key=lambda item: -len(item[0]))
        entities = sorted(kb.entities.items())
        registries = {tld: eid for eid, entity in entities for tld in entity.registry_tlds}
        registrars = {entity.iana_registrar_id: eid for eid, entity in entities if entity.iana_registrar_id is not None}
        derived: dict[str, str] = {}
        for service in kb.services.values():
            for template in service.fingerprints.derived_hosts:
                derived.setdefault(template, service.id)
        return cls(hosts, txt, ca, asn, header, urls, loaders, domains, terraform, purl, supplier, kubernetes,
                   registries, registrars, derived)

    def match_host(self, host: str, kinds: tuple[str, ...] | None = None) -> Match | None:
        """Longest fingerprint suffix of ``host`` (restricted to ``kinds`` if given)."""
        key = (host, kinds)
        memo = self._host_memo
        if key in memo:
            return memo[key]
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        found = memo[key] = self._match_host(host, kinds)
        return found

    def _match_host(self, host: str, kinds: tuple[str, ...] | None) -> Match | None:
        try:
            name = normalise_host(host)
        except ValueError:
            return None
        labels = name.split(".")
        for i in range(len(labels)):
            suffix = ".".join(labels[i:])
            for service, kind in self.hosts.get(suffix, ()):
                if kinds is None or kind in kinds:
                    return Match(service, kind, suffix, name)
        return None

    def domain_holder(self, host: str) -> tuple[str, str] | None:
        """(domain, entity id) of the entity domain ``host`` is or lies under, on label boundaries."""
        try:
            name = normalise_host(host)
        except ValueError:
            return None
        labels = name.split(".")
        for i in range(len(labels) - 1):
            suffix = ".".join(labels[i:])
            if suffix in self.domains:
                return suffix, self.domains[suffix]
        return None

    def match_url(self, url: str) -> Match | None:
        """A ``url`` fingerprint: host suffix on label boundaries (longest first), then path prefix."""
        if not self.urls:
            return None
        parts = urllib.parse.urlsplit(url)
        try:
            name = normalise_host(parts.hostname or "")
        except ValueError:
            return None
        path = parts.path or "/"
        labels = name.split(".")
        for i in range(len(labels)):
            suffix = ".".join(labels[i:])
            for prefix, service in self.urls.get(suffix, ()):
                if path.startswith(prefix):
                    return Match(service, "url", suffix + prefix, url[:200])
        return None

    def match_txt(self, value: str) -> Match | None:
        lowered = value.strip().strip('"').lower()
        for prefix, service in self._txt_heads.get(lowered[:self._txt_head], ()):
            if lowered.startswith(prefix):
                return Match(service, "txt", prefix, value)
        return None

    def match_ca(self, organisation: str) -> Match | None:
        service = self.ca.get(organisation.strip().lower())
        return Match(service, "ca", organisation, organisation) if service else None

    def match_headers(self, headers: dict[str, str]) -> list[Match]:
        """Services revealed by HTTP response headers (name present, value starting with prefix)."""
        lowered = {k.lower(): str(v).lower() for k, v in headers.items()}
        found: dict[str, Match] = {}
        for name, prefix, service in self.header:
            if name in lowered and lowered[name].startswith(prefix) and service not in found:
                rule = f"{name}:{prefix}" if prefix else name
                found[service] = Match(service, "header", rule, f"{name}: {lowered[name][:80]}")
        return list(found.values())

    def match_asn(self, number: int) -> Match | None:
        service = self.asn.get(number)
        return Match(service, "asn", str(number), str(number)) if service else None

    def match_terraform(self, source: str) -> Match | None:
        """A Terraform provider source address (``registry.terraform.io/hashicorp/aws``, ``hashicorp/aws``).

        Only the public registries' addresses are matched: a provider from a private registry host
        is someone else's namespace, whatever it is called."""
        address = source.strip().lower()
        for registry in TERRAFORM_REGISTRIES:
            address = address.removeprefix(registry)
        service = self.terraform.get(address)
        return Match(service, "terraform", address, source) if service else None

    def match_purl(self, purl: str) -> Match | None:
        """A package URL's type and namespace: ``maven/com.oracle`` matches ``pkg:maven/com.oracle.database/ojdbc``
        (namespaces on ``.`` or ``/`` boundaries; longest first)."""
        text = purl.strip()
        if not text.lower().startswith("pkg:"):
            return None
        kind, _, rest = text[4:].lstrip("/").partition("/")
        namespace = urllib.parse.unquote(rest.split("@", 1)[0].split("?", 1)[0].rsplit("/", 1)[0]).lower()
        if not namespace or namespace == rest.lower():
            return None
        for pattern, service in self.purl.get(kind.lower(), ()):
            if namespace == pattern or namespace.startswith((pattern + ".", pattern + "/")):
                return Match(service, "purl", f"{kind.lower()}/{pattern}", purl[:200])
        return None

    def match_supplier(self, name: str) -> Match | None:
        service = self.supplier.get(" ".join(name.split()).lower())
        return Match(service, "supplier", name, name) if service else None

    def match_kubernetes(self, value: str) -> Match | None:
        """A storage provisioner (``ebs.csi.aws.com``) or an annotation key (``service.beta.kubernetes.io/aws-...``)."""
        lowered = value.strip().lower()
        for prefix, service in self.kubernetes:
            if lowered.startswith(prefix):
                return Match(service, "kubernetes", prefix, value[:200])
        return None
