"""E-mail attribution: inbound mailboxes, filtering gateway, sending services.

Rules (what the peers get wrong, see PEERS.md):
- the primary MX decides; a gateway there is reported as ``email.gateway`` and looked through;
- behind a gateway, the mailbox provider needs a strong signal (autodiscover or a DKIM CNAME)
  or two independent weak ones (SPF include, Exchange Online Protection host derived from the
  domain); a tenant or a verification token alone never proves mailbox hosting;
- an MX no fingerprint names is attributed to the operator of its addresses (self-managed on...),
  and every network its addresses are in counts: a US address among European ones is not outvoted;
- address space of a proxy, CDN or colocation operator (KB ``network_role``: transit, colocation)
  carries or houses the mail without holding it: listed with its role and its laws apart
  (``transit_foreign_laws``), never taken as the mailbox holder;
- mailboxes deduced from secondary signals (behind a gateway, a proxy or a hybrid relay) have the
  tier ``inferred``; weak signals only count when no other mailbox provider's signal contradicts
  them, and a verification token counts only next to another signal of the same operator;
- a hosting provider's MX with a strong signal and a second kind for another operator's mailboxes,
  and none for its own, is a relay in front of them (hybrid set-ups);
- otherwise the answer is ``unknown`` with the reason, never "independent";
- SPF: the domain's own names (itself and names under its registrable domain) are not senders
  of their own: their address ranges are the domain's; an SPF evaluation that breaks (permerror:
  loop, look-up limits...) is reported as a notice with the path that broke it (``spf_notices``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from souverain.attribute import dependency, networks
from souverain.attribute.hosts import HostAttribution, attribute_addresses, attribute_host
from souverain.attribute.networks import network_uses
from souverain.collect.reporting import external
from souverain.kb.indexes import Match
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
    gateway_addresses: dict[str, list[str]] = {}
    inbound: list[Dependency] = []
    for host in primaries:
        resolved = obs.mx_hosts.get(host)
        evidence = mx_evidence + list(resolved.evidence if resolved else ())
        addresses = list(resolved.addresses) if resolved else []
        found = attribute_host(kb, ip_table, host, resolved, ("mx",))
        if found.service_id is not None and found.via != "network":
            service = kb.services[found.service_id]
            if service.category == "mail-gateway":
                gateways.setdefault(service.id, []).extend(evidence)
                gateway_addresses.setdefault(service.id, []).extend(addresses)
                continue
            item = dep(status="identified", confidence="high", reason="mx-service", service_id=service.id,
                       subject=host, evidence=evidence, match=found.match, host=host)
            inbound.append(_on_networks(view, ip_table, item, addresses))
        elif resolved is not None and not addresses:
            inbound.append(dep(status="unknown", confidence="low", reason="mx-no-address", subject=host,
                               evidence=evidence, host=host, status_code=resolved.status))
        elif (holder := found.registered) is not None:
            inbound.append(dependency.build_registered(view, domain, "email.inbound", holder, reason="mx-registered",
                                                       subject=host, evidence=evidence, host=host))
        else:
            inbound.append(_by_network(view, ip_table, dep, host, addresses, evidence, found.as_names))
    for service_id, evidence in gateways.items():
        item = dep("email.gateway", status="identified", confidence="high", reason="mx-gateway",
                   service_id=service_id, subject=", ".join(primaries), evidence=evidence, hosts=", ".join(primaries))
        deps.append(_on_networks(view, ip_table, item, gateway_addresses.get(service_id, [])))
    if gateways and not inbound:
        inbound.append(_look_through(view, obs, mx_evidence, list(gateways)))
    elif inbound and all(d.status in ("unknown", "self-managed") for d in inbound):
        # An MX no provider fingerprint names may still be a filter in front of hosted mailboxes:
        # only strong signals (autodiscover, DKIM CNAME) may say so; a tenant or SPF alone never does.
        # A proxy or colocation address (role transit/colocation) holds nothing: there, agreeing
        # weak signals may name the mailboxes, as behind a known gateway.
        carriers_only = all(d.reason == "mx-transit" for d in inbound)
        behind = _look_through(view, obs, mx_evidence, [], strong_only=not carriers_only,
                               fronts=[d.subject or "" for d in inbound])
        if behind.status == "identified":
            deps += [front.replace(function="email.gateway", reason=_FRONT_REASONS.get(front.reason, "mx-unrecognised-gateway"))
                     for front in inbound]
            inbound = [behind]
    elif inbound and all(d.reason == "mx-service" for d in inbound) and _may_have_strong(obs):
        # Hybrid set-ups: a hosting provider's MX relaying to Microsoft 365 or Google Workspace.
        # A strong signal and a second kind for another operator's mailboxes move them, and only
        # when nothing names the MX's own service (its SPF include would say it sends, hence holds,
        # mail); the relay stays listed as the first hop.
        behind = _look_through(view, obs, mx_evidence, [], strong_only=True, min_kinds=2,
                               fronts=[d.subject or "" for d in inbound])
        operators = {d.operator.id for d in inbound if d.operator}
        if (behind.status == "identified" and behind.operator is not None
                and behind.operator.id not in operators and not _has_signals(view, obs, inbound)):
            deps += [front.replace(function="email.gateway", reason="mx-relay") for front in inbound]
            inbound = [behind]
    return deps + _dedupe(inbound)


_FRONT_REASONS = {"mx-unrecognised": "mx-unrecognised-gateway", "mx-self-managed": "mx-self-managed-gateway",
                  "mx-several-networks": "mx-self-managed-gateway", "mx-ip-literal": "mx-self-managed-gateway",
                  "mx-transit": "mx-transit-front"}


def _by_network(view: KBView, ip_table: IPASNTable, dep, host: str, addresses: list[str],
                evidence: list[str], as_names: dict[int, str]) -> Dependency:
    """An MX no fingerprint names, by the networks of its addresses (all of them count)."""
    uses = network_uses(view, ip_table, addresses)
    hosts_it, carry = networks.holding(uses), networks.carrying(uses)
    listing = networks.describe(uses)
    if hosts_it:
        main = hosts_it[0]
        reason = ("mx-several-networks" if len(uses) > 1 else "mx-ip-literal" if _is_address(host)
                  else "mx-self-managed")
        item = dep(status="self-managed", confidence="medium" if len(hosts_it) == len(uses) else "low",
                   reason=reason, service_id=main.service.id if main.service else None,
                   subject=host, evidence=evidence, match=_asn_match(view, main.asn, main.addresses[0]),
                   host=host, asn=main.asn, as_name=main.as_name, networks=listing)
        laws = set(item.foreign_laws).union(*(use.foreign_laws for use in hosts_it))
        return item.replace(foreign_laws=tuple(sorted(laws)), networks=uses)
    if carry:
        operators = ", ".join(dict.fromkeys(use.operator.name for use in carry if use.operator))
        item = dep(status="unknown", confidence="low", reason="mx-transit", subject=host, evidence=evidence,
                   host=host, operators=operators, roles=", ".join(dict.fromkeys(use.role for use in carry)),
                   networks=listing)
        return item.replace(networks=uses)
    asns = ", ".join(f"AS{u.asn} {u.as_name}".strip() for u in uses) or "-"
    item = dep(status="unknown", confidence="low", reason="mx-unrecognised", subject=host,
               evidence=evidence, host=host, networks=asns)
    return item.replace(networks=uses)


def _on_networks(view: KBView, ip_table: IPASNTable, item: Dependency, addresses: list[str]) -> Dependency:
    """A named service with every network under it: the hosting ones' laws reach the data too."""
    uses = network_uses(view, ip_table, addresses)
    hosts_it = networks.holding(uses)
    if hosts_it:
        main = max(hosts_it, key=lambda use: len(use.addresses))
        if main.service is not None:
            network = HostAttribution(item.subject or "", "network", _asn_match(view, main.asn, main.addresses[0]),
                                      main.service.id)
            item = dependency.add_infrastructure(view, item, network)
    if item.controller is None:
        return item.replace(networks=uses)
    others = [use for use in hosts_it if use.controller and use.controller.id != item.controller.id]
    laws = set(item.foreign_laws).union(*(use.foreign_laws for use in others))
    return item.replace(foreign_laws=tuple(sorted(laws)), networks=uses)  # one copy, not two


def _asn_match(view: KBView, asn: int, address: str):
    match = view.kb.indexes.match_asn(asn)
    return Match(match.service, match.kind, match.pattern, address) if match else None


def _may_have_strong(obs: DomainObservation) -> bool:
    """Whether any strong signal can exist (autodiscover, a DKIM CNAME): the hybrid check needs one."""
    return bool(obs.autodiscover) or any(info.cnames for info in obs.dkim.values())


def _has_signals(view: KBView, obs: DomainObservation, fronts: list[Dependency]) -> bool:
    """Whether any signal (SPF include, DKIM, autodiscover...) names the fronts' own services."""
    own = {d.service.id for d in fronts if d.service}
    return bool(own & set(_collect_signals(view, obs)))


def _collect_signals(view: KBView, obs: DomainObservation) -> dict[str, list[tuple[str, str, str]]]:
    """Mailbox signals per mail-hosting service: [(signal, strength, evidence id)]."""
    kb = view.kb
    idx = kb.indexes
    signals: dict[str, list[tuple[str, str, str]]] = {}

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
            owner = idx.derived.get(template)
            if owner:
                add(idx.match_host(resolved.host, ("mx",)) or _service_match(owner), "derived-host", WEAK,
                    resolved.evidence[0] if resolved.evidence else None)
    if obs.spf:
        for include, _parent in obs.spf.authorised:
            add(idx.match_host(include, ("spf",)), "spf", WEAK, obs.ids.get(f"{include} TXT"))
    # a verification token proves an account with the operator (a tenant), not mailboxes: it
    # counts as one weak signal for the same operator's mailbox service, never alone
    token_operators = {kb.services[match.service].operator for value in obs.txt if (match := idx.match_txt(value))}
    for service_id in list(signals) if token_operators else ():
        service = kb.services[service_id]
        if service.operator in token_operators:
            signals[service.id].append(("token", WEAK,
                                        obs.ids.get(f"{domain} TXT", "")))
    return signals


def _look_through(view: KBView, obs: DomainObservation, mx_evidence: list[str],
                  gateways: list[str], strong_only: bool = False, min_kinds: int = 1,
                  fronts: list[str] | None = None) -> Dependency:
    """Who holds the mailboxes behind a gateway: count independent signals per mail host.

    The answer is ``inferred``: one strong signal, or weak signals of two kinds that no other
    mailbox provider's signal contradicts.
    """
    kb = view.kb
    domain = obs.domain
    signals = _collect_signals(view, obs)

    def score(item: tuple[str, list]) -> tuple[int, int]:
        kinds = {signal.split(":")[0] for signal, _, _ in item[1]}
        strong = sum(1 for _, strength, _ in item[1] if strength == STRONG)
        return (strong, len(kinds))

    ranked = sorted(signals.items(), key=score, reverse=True)
    qualified = [(sid, sigs) for sid, sigs in ranked
                 if score((sid, sigs))[1] >= min_kinds
                 and (score((sid, sigs))[0] >= 1 or (not strong_only and score((sid, sigs))[1] >= 2))]
    # weak signals only: every other provider's signal is a disagreement
    qualified = [(sid, sigs) for sid, sigs in qualified if score((sid, sigs))[0] >= 1 or len(ranked) == 1]
    names = ", ".join(kb.services[s].name for s in gateways) or ", ".join(fronts or [h for _, h in obs.mx[:3]])
    if not qualified:
        candidates = ", ".join(f"{kb.services[s].name} ({', '.join(sorted({g.split(':')[0] for g, _, _ in sig}))})"
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
    # autodiscover alone (or any one kind of signal) stays low; never high behind a front
    confidence: Confidence = "medium" if strong >= 1 and kinds >= 2 else "low"
    evidence = mx_evidence + [e for _, _, e in sigs if e]
    return dependency.build(view, domain, "email.inbound", status="identified", confidence=confidence,
                            reason="behind-gateway", service_id=service_id, evidence=evidence, tier="inferred",
                            gateway=names, signals=", ".join(sorted({s for s, _, _ in sigs})))


def _service_match(service_id: str) -> Match:
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

    if ":" not in text and not text[-1:].isdigit():  # a name: no parse
        return False
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
            seen[key] = seen[key].replace(evidence=merged)
            continue
        seen[key] = item
    return list(seen.values())
