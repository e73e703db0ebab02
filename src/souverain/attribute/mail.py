"""E-mail attribution: inbound mailboxes, filtering gateway, sending services.

Rules (what the peers get wrong, see PEERS.md):
- the primary MX decides; a gateway there is reported as ``email.gateway`` and looked through;
- behind a gateway, the mailbox provider needs a strong signal (autodiscover or a DKIM CNAME)
  or two independent weak ones (SPF include, Exchange Online Protection host derived from the
  domain); a tenant or a verification token alone never proves mailbox hosting;
- an MX no fingerprint names is attributed to the operator of its addresses (self-managed on...);
- otherwise the answer is ``unknown`` with the reason, never "independent";
- SPF: the domain's own names (itself and names under its registrable domain) are not senders
  of their own: their address ranges are the domain's; an SPF evaluation that breaks (permerror:
  loop, look-up limits...) is reported as a notice with the path that broke it (``spf_notices``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from souverain.attribute import dependency
from souverain.attribute.hosts import attribute_addresses, attribute_host
from souverain.collect.reporting import external
from souverain.model.dependency import Confidence
from souverain.model.evidence import id_number
from souverain.model.scan import Notice

if TYPE_CHECKING:
    from souverain.kb.ipasn import IPASNTable
    from souverain.kb.view import KBView
    from souverain.model.dependency import Dependency
    from souverain.model.observation import DomainObservation

MAX_SPF_RANGES = 20
MAX_SPF_NOTICES = 10
STRONG, WEAK = "strong", "weak"


def attribute_mail(view: KBView, obs: DomainObservation, ip_table: IPASNTable) -> list[Dependency]:
    deps = _inbound(view, obs, ip_table)
    deps += _sending(view, obs, ip_table)
    return deps


def _inbound(view: KBView, obs: DomainObservation, ip_table: IPASNTable) -> list[Dependency]:
    kb = view.kb
    domain = obs.domain
    mx_evidence = [obs.ids[f"{domain} MX"]] if f"{domain} MX" in obs.ids else []

    def dep(function: str = "email.inbound", **kwargs) -> Dependency:
        kwargs.setdefault("evidence", mx_evidence)
        return dependency.build(view, domain, function, **kwargs)

    if obs.mx_status not in ("NOERROR", "NODATA", "NXDOMAIN"):
        return [dep(status="unknown", confidence="low", reason="mx-lookup-failed", status_code=obs.mx_status)]
    if obs.null_mx:
        return [dep(status="none", confidence="high", reason="null-mx")]
    if not obs.mx:
        return [dep(status="unknown", confidence="low", reason="no-mx")]

    primary_preference = obs.mx[0][0]
    primaries = [host for preference, host in obs.mx if preference == primary_preference]
    deps: list[Dependency] = []
    gateways: dict[str, list[str]] = {}
    networks: dict[str, list[str]] = {}
    inbound: list[Dependency] = []
    for host in primaries:
        resolved = obs.mx_hosts.get(host)
        evidence = mx_evidence + list(resolved.evidence if resolved else ())
        found = attribute_host(kb, ip_table, host, resolved, ("mx",))
        if found.service_id is not None and found.via != "network":
            service = kb.services[found.service_id]
            if service.category == "mail-gateway":
                gateways.setdefault(service.id, []).extend(evidence)
                networks.setdefault(service.id, []).extend(resolved.addresses if resolved else [])
                continue
            item = dep(status="identified", confidence="high", reason="mx-service", service_id=service.id,
                       subject=host, evidence=evidence, match=found.match, host=host)
            inbound.append(dependency.add_infrastructure(view, item, attribute_addresses(
                kb, ip_table, host, resolved.addresses if resolved else [])))
        elif found.identified:
            asn = next(iter(found.networks), None)
            inbound.append(dep(status="self-managed", confidence="medium", reason="mx-self-managed",
                               service_id=found.service_id, subject=host, evidence=evidence, match=found.match,
                               host=host, asn=asn, as_name=found.as_names.get(asn, "") if asn is not None else ""))
        elif resolved is not None and not resolved.addresses:
            inbound.append(dep(status="unknown", confidence="low", reason="mx-no-address", subject=host,
                               evidence=evidence, host=host, status_code=resolved.status))
        elif (holder := found.registered) is not None:
            inbound.append(dependency.build_registered(view, domain, "email.inbound", holder, reason="mx-registered",
                                                       subject=host, evidence=evidence, host=host))
        else:
            asns = ", ".join(f"AS{n} {found.as_names.get(n, '')}".strip() for n in found.networks) or "-"
            inbound.append(dep(status="unknown", confidence="low", reason="mx-unrecognised", subject=host,
                               evidence=evidence, host=host, networks=asns))
    for service_id, evidence in gateways.items():
        item = dep("email.gateway", status="identified", confidence="high", reason="mx-gateway",
                   service_id=service_id, subject=", ".join(primaries), evidence=evidence, hosts=", ".join(primaries))
        deps.append(dependency.add_infrastructure(view, item, attribute_addresses(
            kb, ip_table, service_id, networks.get(service_id, []))))
    if gateways and not inbound:
        inbound.append(_look_through(view, obs, mx_evidence, list(gateways)))
    elif inbound and all(d.status in ("unknown", "self-managed") for d in inbound):
        # An MX no provider fingerprint names may still be a filter in front of hosted mailboxes:
        # only strong signals (autodiscover, DKIM CNAME) may say so; a tenant or SPF alone never does.
        behind = _look_through(view, obs, mx_evidence, [], strong_only=True)
        if behind.status == "identified":
            deps += [dataclasses.replace(front, function="email.gateway",
                                         reason="mx-unrecognised-gateway" if front.status == "unknown"
                                         else "mx-self-managed-gateway")
                     for front in inbound]
            inbound = [behind]
    return deps + _dedupe(inbound)


def _look_through(view: KBView, obs: DomainObservation, mx_evidence: list[str],
                  gateways: list[str], strong_only: bool = False) -> Dependency:
    """Who holds the mailboxes behind a gateway: count independent signals per mail host."""
    kb = view.kb
    idx = kb.indexes
    signals: dict[str, list[tuple[str, str, str]]] = {}  # service -> [(signal, strength, evidence)]

    def add(match, signal: str, strength: str, evidence: str | None) -> None:
        if match and kb.services[match.service].category == "mail-hosting":
            signals.setdefault(match.service, []).append((signal, strength, evidence or ""))

    domain = obs.domain
    for target in obs.autodiscover:
        add(idx.match_host(target, ("autodiscover", "mx")), "autodiscover", STRONG,
            obs.ids.get(f"autodiscover.{domain} CNAME") or obs.ids.get(f"_autodiscover._tcp.{domain} SRV"))
    for selector, info in obs.dkim.items():
        for target in info.cnames:
            add(idx.match_host(target, ("dkim",)), f"dkim:{selector}", STRONG, info.evidence)
    for template, resolved in obs.derived.items():
        if resolved.addresses:
            owner = next((s.id for s in kb.services.values() if template in s.fingerprints.derived_hosts), None)
            if owner:
                add(idx.match_host(resolved.host, ("mx",)) or _service_match(owner), "derived-host", WEAK,
                    resolved.evidence[0] if resolved.evidence else None)
    if obs.spf:
        for include, _parent in obs.spf.authorised:
            add(idx.match_host(include, ("spf",)), "spf", WEAK, obs.ids.get(f"{include} TXT"))

    def score(item: tuple[str, list]) -> tuple[int, int]:
        kinds = {signal.split(":")[0] for signal, _, _ in item[1]}
        strong = sum(1 for _, strength, _ in item[1] if strength == STRONG)
        return (strong, len(kinds))

    ranked = sorted(signals.items(), key=score, reverse=True)
    qualified = [(sid, sigs) for sid, sigs in ranked
                 if score((sid, sigs))[0] >= 1 or (not strong_only and score((sid, sigs))[1] >= 2)]
    names = ", ".join(kb.services[s].name for s in gateways) or ", ".join(h for _, h in obs.mx[:3])
    if not qualified:
        candidates = ", ".join(f"{kb.services[s].name} ({', '.join(sorted({g for g, _, _ in sig}))})"
                               for s, sig in ranked) or "-"
        return dependency.build(view, domain, "email.inbound", status="unknown", confidence="low",
                                reason="gateway-hides-backend", evidence=mx_evidence, gateway=names,
                                candidates=candidates)
    if len(qualified) > 1 and score(qualified[0]) == score(qualified[1]):
        candidates = ", ".join(kb.services[s].name for s, _ in qualified)
        return dependency.build(view, domain, "email.inbound", status="unknown", confidence="low",
                                reason="gateway-ambiguous-backend", evidence=mx_evidence, gateway=names,
                                candidates=candidates)
    service_id, sigs = qualified[0]
    strong, kinds = score((service_id, sigs))
    confidence: Confidence = "medium" if strong >= 1 and kinds >= 2 else "low"
    evidence = mx_evidence + [e for _, _, e in sigs if e]
    return dependency.build(view, domain, "email.inbound", status="identified", confidence=confidence,
                            reason="behind-gateway", service_id=service_id, evidence=evidence, tier="inferred",
                            gateway=names, signals=", ".join(sorted({s for s, _, _ in sigs})))


def _service_match(service_id: str):
    from souverain.kb.indexes import Match

    return Match(service_id, "derived_hosts", "{domain_dashed}", service_id)


def _sending(view: KBView, obs: DomainObservation, ip_table: IPASNTable) -> list[Dependency]:
    kb = view.kb
    idx = kb.indexes
    found: dict[str, dict] = {}
    unknown: list[Dependency] = []
    if obs.spf:
        for include, parent in obs.spf.authorised:
            evidence = [e for e in (obs.ids.get(f"{parent} TXT"), obs.ids.get(f"{include} TXT")) if e]
            match = idx.match_host(include, ("spf", "mx"))
            if match:
                entry = found.setdefault(match.service, {"evidence": [], "match": match, "via": set()})
                entry["evidence"] += evidence
                entry["via"].add("spf")
            elif not external(include, obs.domain):
                continue  # the domain's own SPF names: their ranges are read below as the domain's
            elif parent == obs.domain or idx.match_host(parent, ("spf",)) is None:
                unknown.append(dependency.build(view, obs.domain, "email.sending", status="unknown",
                                                confidence="low", reason="spf-include-unknown", subject=include,
                                                evidence=evidence, include=include))
        # only the domain's own ranges (its record and its own included names): a provider's
        # included netblocks say nothing new
        own = {owner for _, owner in obs.spf.ip_ranges}
        own = {owner for owner in own if owner == obs.domain or not external(owner, obs.domain)}
        own_ranges = [(value, owner) for value, owner in obs.spf.ip_ranges if owner in own]
        for value, owner in own_ranges[:MAX_SPF_RANGES]:
            address = value.split("/", 1)[0]
            hit = attribute_addresses(kb, ip_table, value, [address]) if _is_address(address) else None
            if hit and hit.service_id is not None:
                entry = found.setdefault(hit.service_id, {"evidence": [], "match": hit.match, "via": set()})
                entry["evidence"] += [e for e in (obs.ids.get(f"{owner} TXT"),) if e]
                entry["via"].add("spf-ip")
    for selector, info in obs.dkim.items():
        for target in info.cnames:
            match = idx.match_host(target, ("dkim",))
            if match:
                entry = found.setdefault(match.service, {"evidence": [], "match": match, "via": set()})
                entry["evidence"].append(info.evidence)
                entry["via"].add(f"dkim:{selector}")
    deps = []
    for service_id, entry in found.items():
        via = entry["via"]
        network_only = via == {"spf-ip"}
        deps.append(dependency.build(
            view, obs.domain, "email.sending",
            status="self-managed" if network_only else "identified",
            confidence="low" if network_only else "high",
            reason="sending-network" if network_only else "sending-service",
            service_id=service_id, evidence=entry["evidence"], match=entry["match"], via=", ".join(sorted(via)),
        ))
    return deps + unknown


def spf_notices(obs: DomainObservation) -> list[Notice]:
    """What breaks the domain's SPF evaluation (RFC 7208 permerror), and repeated includes.

    A notice's ``id`` is a message id under "notice." in the catalogues. A broken record must be
    seen: receivers treat it as a permerror.
    """
    spf = obs.spf
    if spf is None:
        return []
    evidence = (obs.ids[f"{obs.domain} TXT"],) if f"{obs.domain} TXT" in obs.ids else ()
    notices = []
    for error in spf.errors[:MAX_SPF_NOTICES]:
        notices.append(Notice(obs.domain, f"spf-{error.kind}", "error", evidence, {
            "path": " -> ".join(error.path), "target": error.path[-1], "detail": error.detail,
            "lookups": spf.lookups, "voids": spf.void_lookups}))
    if spf.duplicates:
        names = ", ".join(f"{name} (x{count})" for name, count in spf.duplicates.items())
        notices.append(Notice(obs.domain, "spf-duplicates", "warning", evidence,
                              {"names": names, "lookups": spf.lookups}))
    return notices


def _is_address(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _dedupe(deps: list[Dependency]) -> list[Dependency]:
    seen: dict[tuple, Dependency] = {}
    for item in deps:
        key = (item.function, item.service.id if item.service else item.subject, item.status)
        if key in seen:
            merged = tuple(sorted(set(seen[key].evidence + item.evidence), key=id_number))
            seen[key] = dataclasses.replace(seen[key], evidence=merged)
            continue
        seen[key] = item
    return list(seen.values())
