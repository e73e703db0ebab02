"""Authoritative DNS attribution: each name-server provider is a dependency (secondaries included)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from souverain.attribute import dependency
from souverain.attribute.hosts import attribute_host

if TYPE_CHECKING:
    from souverain.kb.ipasn import IPASNTable
    from souverain.kb.view import KBView
    from souverain.model.dependency import Dependency
    from souverain.model.observation import DomainObservation


def attribute_dns(view: KBView, obs: DomainObservation, ip_table: IPASNTable) -> list[Dependency]:
    kb = view.kb
    ns_evidence = [e for e in (obs.ids.get(f"{obs.domain} NS"), obs.ids.get(f"{obs.domain} SOA")) if e]
    if obs.ns_status not in ("NOERROR", "NODATA", "NXDOMAIN") or not obs.ns:
        reason = "ns-lookup-failed" if obs.ns_status not in ("NOERROR", "NODATA", "NXDOMAIN") else "no-ns"
        return [dependency.build(view, obs.domain, "dns.authoritative", status="unknown", confidence="low",
                                 reason=reason, evidence=ns_evidence, status_code=obs.ns_status)]
    grouped: dict[str, dict] = {}
    for host in obs.ns:
        resolved = obs.ns_hosts.get(host)
        found = attribute_host(kb, ip_table, host, resolved, ("ns",))
        evidence = ns_evidence + list(resolved.evidence if resolved else ())
        if found.service_id is not None:
            key = found.service_id
            status = "identified" if found.via != "network" else "self-managed"
        elif found.registered is not None:  # grouped by network: ns1/ns2 of one unknown host
            key = f"registered:{found.registered.asn}"
            status = "registered"
        else:
            key = f"unknown:{host}"
            status = "unknown"
        entry = grouped.setdefault(key, {"hosts": [], "evidence": [], "found": found, "status": status})
        entry["hosts"].append(host)
        entry["evidence"] += evidence
    deps = []
    for key, entry in grouped.items():
        found = entry["found"]
        hosts = ", ".join(entry["hosts"])
        if entry["status"] == "identified":
            deps.append(dependency.build(view, obs.domain, "dns.authoritative", status="identified",
                                         confidence="high", reason="ns-service", service_id=key, subject=hosts,
                                         evidence=entry["evidence"], match=found.match, hosts=hosts))
        elif entry["status"] == "self-managed":
            asn = next(iter(found.networks), None)
            deps.append(dependency.build(view, obs.domain, "dns.authoritative", status="self-managed",
                                         confidence="medium", reason="ns-self-managed", service_id=key,
                                         subject=hosts, evidence=entry["evidence"], match=found.match, hosts=hosts,
                                         asn=asn, as_name=found.as_names.get(asn, "")))
        elif entry["status"] == "registered" and (holder := found.registered) is not None:
            deps.append(dependency.build_registered(view, obs.domain, "dns.authoritative", holder,
                                                    reason="ns-registered", subject=hosts,
                                                    evidence=entry["evidence"], hosts=hosts))
        else:
            networks = ", ".join(f"AS{n} {found.as_names.get(n, '')}".strip() for n in found.networks) or "-"
            deps.append(dependency.build(view, obs.domain, "dns.authoritative", status="unknown",
                                         confidence="low", reason="ns-unrecognised", subject=hosts,
                                         evidence=entry["evidence"], hosts=hosts, networks=networks))
    return deps
