"""Attribute a host name: by its own name, then its CNAME chain, then the network of its addresses.

The order matters and is the point of souverain's mail and web attribution: a fingerprint on the
name says which *service* it is; failing that, the addresses say whose *network* it runs on, so
an MX ``mail.example.fr`` on AWS addresses is "self-managed on AWS", never "independent". A
network the KB does not know still has a registered holder and country (the IP-to-ASN table):
that is the ``registered`` answer, weaker than a KB operator with its ownership chain.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from souverain.kb.indexes import Match
from souverain.model.observation import HostAddresses

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.ipasn import IPASNTable


@dataclasses.dataclass(slots=True)
class HostAttribution:
    host: str
    via: str  # name, cname, network, none
    match: Match | None = None
    service_id: str | None = None
    networks: dict[int, list[str]] = dataclasses.field(default_factory=dict)  # ASN -> addresses
    as_names: dict[int, str] = dataclasses.field(default_factory=dict)
    unknown_asns: list[int] = dataclasses.field(default_factory=list)
    countries: dict[int, str] = dataclasses.field(default_factory=dict)  # ASN -> registration country

    @property
    def identified(self) -> bool:
        return self.service_id is not None

    @property
    def registered(self) -> RegisteredNetwork | None:
        """When no KB network matched: the network holding most of the addresses, if the table
        gives its registration country (first seen wins a tie)."""
        if self.service_id is not None or not self.networks:
            return None
        asn = max(self.networks, key=lambda n: len(self.networks[n]))
        country = self.countries.get(asn)
        return RegisteredNetwork(asn, self.as_names.get(asn, ""), country) if country else None


@dataclasses.dataclass(frozen=True, slots=True)
class RegisteredNetwork:
    """A network known only by its registration: AS number, holder name, country."""

    asn: int
    name: str
    country: str


def attribute_host(
    kb: KnowledgeBase, ip_table: IPASNTable, host: str, resolved: HostAddresses | None, kinds: tuple[str, ...] | None
) -> HostAttribution:
    idx = kb.indexes
    match = idx.match_host(host, kinds)
    if match:
        return HostAttribution(host, "name", match, match.service)
    if resolved is not None:
        for target in resolved.cnames:
            match = idx.match_host(target, kinds)
            if match:
                return HostAttribution(host, "cname", match, match.service)
    return attribute_addresses(kb, ip_table, host, resolved.addresses if resolved else [])


def attribute_addresses(kb: KnowledgeBase, ip_table: IPASNTable, host: str,
                        addresses: Sequence[str]) -> HostAttribution:
    """The network operator of the addresses (the most frequent known ASN wins)."""
    result = HostAttribution(host, "none")
    votes: dict[str, int] = {}  # a plain dict: a Counter costs more to make than this loop (a survey makes millions)
    for address in addresses:
        hit = ip_table.lookup(address)
        if hit is None:
            continue
        result.networks.setdefault(hit.asn, []).append(address)
        result.as_names[hit.asn] = hit.as_name
        if hit.country:
            result.countries[hit.asn] = hit.country
        match = kb.indexes.match_asn(hit.asn)
        if match is None:
            if hit.asn not in result.unknown_asns:
                result.unknown_asns.append(hit.asn)
            continue
        votes[match.service] = votes.get(match.service, 0) + 1
        if result.match is None or votes[match.service] > votes[result.match.service]:
            # built directly: dataclasses.replace costs several times more (a survey makes millions)
            result.match = Match(match.service, match.kind, match.pattern, address)
    if result.match:
        result.via = "network"
        result.service_id = result.match.service
    return result
