"""Attribute a host name: by its own name, then its CNAME chain, then the network of its addresses.

The order matters and is the point of souverain's mail and web attribution: a fingerprint on the
name says which *service* it is; failing that, the addresses say whose *network* it runs on, so
an MX ``mail.example.fr`` on AWS addresses is "self-managed on AWS", never "independent". A
network the KB does not know still has a registered holder and country (the IP-to-ASN table):
that is the ``registered`` answer, weaker than a KB operator with its ownership chain.

A survey names the same provider hosts (``aspmx.l.google.com``, the name servers of a DNS host)
for thousands of domains: ``HostMemo`` works out each host's facts once per KB view and IP table
and hands the same frozen answer to every domain.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from souverain.attribute.networks import network_uses
from souverain.model.observation import HostAddresses

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.indexes import Match
    from souverain.kb.ipasn import IPASNTable
    from souverain.kb.view import KBView
    from souverain.model.dependency import NetworkUse

MEMO_SIZE = 8192  # entries per table of a HostMemo: a survey may meet millions of distinct hosts


@dataclasses.dataclass(frozen=True, slots=True)
class HostAttribution:
    """Frozen and shared (``HostMemo``): never mutate it, nor its dicts and lists."""

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
    networks: dict[int, list[str]] = {}
    as_names: dict[int, str] = {}
    countries: dict[int, str] = {}
    unknown_asns: list[int] = []
    best: Match | None = None
    votes: dict[str, int] = {}  # a plain dict: a Counter costs more to make than this loop (a survey makes millions)
    for address in addresses:
        hit = ip_table.lookup(address)
        if hit is None:
            continue
        networks.setdefault(hit.asn, []).append(address)
        as_names[hit.asn] = hit.as_name
        if hit.country:
            countries[hit.asn] = hit.country
        match = kb.indexes.match_asn(hit.asn)
        if match is None:
            if hit.asn not in unknown_asns:
                unknown_asns.append(hit.asn)
            continue
        votes[match.service] = votes.get(match.service, 0) + 1
        if best is None or votes[match.service] > votes[best.service]:
            best = dataclasses.replace(match, value=address)
    if best:
        return HostAttribution(host, "network", best, best.service, networks, as_names, unknown_asns, countries)
    return HostAttribution(host, "none", None, None, networks, as_names, unknown_asns, countries)


class HostMemo:
    """Host-level answers of one KB view and one IP table, each worked out once (``host_memo``).

    A key holds every input of the answer (the host, the fingerprint kinds, its CNAME chain and
    addresses): two domains naming the same host with the same addresses get the same answer,
    one whose provider answered other addresses gets its own. Each table is bounded: the oldest
    entry goes first (a provider host dropped is worked out again at its next use).
    """

    __slots__ = ("_addresses", "_hosts", "_uses", "ip_table", "size", "view")

    def __init__(self, view: KBView, ip_table: IPASNTable, size: int = MEMO_SIZE) -> None:
        self.view = view
        self.ip_table = ip_table
        self.size = size
        self._hosts: dict[tuple[str, tuple[str, ...] | None, tuple[str, ...], tuple[str, ...]], HostAttribution] = {}
        self._addresses: dict[tuple[str, tuple[str, ...]], HostAttribution] = {}
        self._uses: dict[tuple[str, ...], tuple[NetworkUse, ...]] = {}

    def attribute_host(self, host: str, resolved: HostAddresses | None,
                       kinds: tuple[str, ...] | None) -> HostAttribution:
        """``attribute_host`` of this view and table, memoised."""
        key = (host, kinds, resolved.cnames, resolved.addresses) if resolved is not None else (host, kinds, (), ())
        found = self._hosts.get(key)
        if found is None:
            found = attribute_host(self.view.kb, self.ip_table, host, resolved, kinds)
            self._store(self._hosts, key, found)
        return found

    def attribute_addresses(self, host: str, addresses: tuple[str, ...]) -> HostAttribution:
        """``attribute_addresses`` of this view and table, memoised."""
        key = (host, addresses)
        found = self._addresses.get(key)
        if found is None:
            found = attribute_addresses(self.view.kb, self.ip_table, host, addresses)
            self._store(self._addresses, key, found)
        return found

    def network_uses(self, addresses: tuple[str, ...]) -> tuple[NetworkUse, ...]:
        """``networks.network_uses`` of this view and table, memoised (a tuple of frozen uses)."""
        found = self._uses.get(addresses)
        if found is None:
            found = network_uses(self.view, self.ip_table, addresses)
            self._store(self._uses, addresses, found)
        return found

    def __len__(self) -> int:
        return len(self._hosts) + len(self._addresses) + len(self._uses)

    def _store(self, table: dict, key: object, value: object) -> None:
        if len(table) >= self.size:
            del table[next(iter(table))]
        table[key] = value


def host_memo(view: KBView, ip_table: IPASNTable) -> HostMemo:
    """The memo of ``view`` for ``ip_table``: it lives as long as the view (``kb.at(date)``), so a
    survey worker keeps it from one partition to the next; another KB, date or IP table never
    reads it (a new table replaces it)."""
    memo = view.memos.get("hosts")
    if not isinstance(memo, HostMemo) or memo.ip_table is not ip_table:
        memo = HostMemo(view, ip_table)
        view.memos["hosts"] = memo
    return memo
