"""Every network a host's addresses are in, and what each is to the data it carries.

A host with addresses in several networks is exposed to the laws of every one of them: keeping
only the most frequent AS (as ``hosts.attribute_addresses`` does to name one operator) would drop
a US address among European ones. The role of a network is KB data (``network_role`` on its
service record): ``hosting`` holds the data, ``transit`` (a TCP proxy or CDN announcing the
address) only carries it, ``colocation`` houses other people's servers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from souverain.model.dependency import NetworkRef, NetworkUse

if TYPE_CHECKING:
    from souverain.kb.ipasn import IPASNTable
    from souverain.kb.view import KBView


def network_uses(view: KBView, ip_table: IPASNTable, addresses: Sequence[str]) -> tuple[NetworkUse, ...]:
    """One ``NetworkUse`` per AS of ``addresses``, the AS with most addresses first."""
    kb = view.kb
    grouped: dict[int, list[str]] = {}
    names: dict[int, str] = {}
    for address in addresses:
        hit = ip_table.lookup(address)
        if hit is None:
            continue
        grouped.setdefault(hit.asn, []).append(address)
        names[hit.asn] = hit.as_name
    uses = []
    for asn, members in sorted(grouped.items(), key=lambda item: -len(item[1])):
        match = kb.indexes.match_asn(asn)
        if match is None:
            uses.append(NetworkUse(asn, names[asn], tuple(members), "hosting"))
            continue
        service = kb.services[match.service]
        entity = view.entity(service.operator) if service.operator in kb.entities else None
        uses.append(NetworkUse(asn, names[asn], tuple(members), service.network_role,
                               NetworkRef(service.id, service.name),
                               entity.operator if entity else None, entity.controller if entity else None,
                               entity.foreign_laws if entity else ()))
    return tuple(uses)


def holding(uses: Sequence[NetworkUse]) -> list[NetworkUse]:
    """The known networks that hold the data (role hosting)."""
    return [use for use in uses if use.service is not None and use.role == "hosting"]


def carrying(uses: Sequence[NetworkUse]) -> list[NetworkUse]:
    """The known networks that only carry or house it (transit, colocation)."""
    return [use for use in uses if use.service is not None and use.role != "hosting"]


def describe(uses: Sequence[NetworkUse]) -> str:
    """``AS16276 OVH SAS (FR), AS13335 Cloudflare, Inc. (US, transit)`` for a message."""
    parts = []
    for use in uses:
        facts = [use.controller.country] if use.controller else []
        if use.role != "hosting":
            facts.append(use.role)
        parts.append(f"AS{use.asn} {use.as_name}".strip() + (f" ({', '.join(facts)})" if facts else ""))
    return ", ".join(parts) or "-"
