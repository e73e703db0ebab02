"""Web attribution: hosting, CDN, certificate authority and third parties embedded in the home page
(named in its HTML, or seen requested when it ran in headless Chromium with ``--browser``).

Hosting comes from the CNAME chain (a cloud platform or CDN named by its fingerprint), response
headers that reveal a CDN, then the network operator of the addresses. Behind a CDN whose own
network serves the addresses, the origin is hidden: hosting is ``unknown``, never guessed.
"""

from __future__ import annotations

import collections
import ipaddress
from typing import TYPE_CHECKING

from souverain.attribute import dependency
from souverain.attribute.hosts import attribute_addresses
from souverain.kb.psl import PublicSuffixList

if TYPE_CHECKING:
    from souverain.kb.ipasn import IPASNTable
    from souverain.kb.view import KBView
    from souverain.model.dependency import Dependency
    from souverain.model.observation import DomainObservation

MAX_UNKNOWN_THIRD_PARTIES = 50


def attribute_web(view: KBView, obs: DomainObservation, ip_table: IPASNTable,
                  first_party: set[str]) -> list[Dependency]:
    kb = view.kb
    idx = kb.indexes
    host = next((h for h in (f"www.{obs.domain}", obs.domain) if obs.web_hosts.get(h) and obs.web_hosts[h].addresses), None)
    if host is None:
        statuses = {h.status for h in obs.web_hosts.values()}
        failed = statuses - {"NOERROR", "NODATA", "NXDOMAIN"}
        evidence = [e for h in obs.web_hosts.values() for e in h.evidence]
        if failed:
            return [dependency.build(view, obs.domain, "web.hosting", status="unknown", confidence="low",
                                     reason="web-lookup-failed", evidence=evidence, status_code=", ".join(sorted(failed)))]
        return [dependency.build(view, obs.domain, "web.hosting", status="none", confidence="high",
                                 reason="no-website", evidence=evidence)]
    resolved = obs.web_hosts[host]
    site = obs.site
    site_evidence = [obs.site_evidence] if obs.site_evidence else []
    deps: list[Dependency] = []
    hosting: Dependency | None = None
    cdn: Dependency | None = None
    for target in resolved.cnames:
        match = idx.match_host(target, ("cname",))
        if match is None:
            continue
        category = kb.services[match.service].category
        if category == "cdn" and cdn is None:
            cdn = dependency.build(view, obs.domain, "web.cdn", status="identified", confidence="high",
                                   reason="cname-service", service_id=match.service, subject=host,
                                   evidence=resolved.evidence, match=match, host=host, target=target)
        elif category != "cdn" and hosting is None:
            hosting = dependency.build(view, obs.domain, "web.hosting", status="identified", confidence="high",
                                       reason="cname-service", service_id=match.service, subject=host,
                                       evidence=resolved.evidence, match=match, host=host, target=target)
    if cdn is None and site is not None and getattr(site, "headers", None):
        for match in idx.match_headers(site.headers):
            if kb.services[match.service].category == "cdn":
                cdn = dependency.build(view, obs.domain, "web.cdn", status="identified", confidence="medium",
                                       reason="header-service", service_id=match.service, subject=host,
                                       evidence=site_evidence, match=match, header=match.value)
                break
    network = attribute_addresses(kb, ip_table, host, resolved.addresses)
    if hosting is None:
        cdn_operator = kb.services[cdn.service.id].operator if cdn and cdn.service else None
        network_operator = kb.services[network.service_id].operator if network.service_id is not None else None
        asns = ", ".join(f"AS{n} {network.as_names.get(n, '')}".strip() for n in network.networks) or "-"
        if cdn is not None and (network_operator is None or network_operator == cdn_operator):
            hosting = dependency.build(view, obs.domain, "web.hosting", status="unknown", confidence="low",
                                       reason="origin-behind-cdn", subject=host, evidence=resolved.evidence,
                                       host=host, cdn=cdn.service.name if cdn.service else "")
        elif network.identified:
            hosting = dependency.build(view, obs.domain, "web.hosting", status="identified", confidence="medium",
                                       reason="web-network", service_id=network.service_id, subject=host,
                                       evidence=resolved.evidence, match=network.match, host=host, networks=asns)
        elif (holder := network.registered) is not None:
            hosting = dependency.build_registered(view, obs.domain, "web.hosting", holder, reason="web-registered",
                                                  subject=host, evidence=resolved.evidence, host=host)
        else:
            hosting = dependency.build(view, obs.domain, "web.hosting", status="unknown", confidence="low",
                                       reason="web-unrecognised", subject=host, evidence=resolved.evidence,
                                       host=host, networks=asns)
    deps.append(hosting)
    if cdn is not None:
        deps.append(cdn)
    if site is None:
        return deps
    deps += _certificate(view, obs, site, site_evidence)
    deps += _third_parties(view, obs, site, site_evidence, first_party | {host}, ip_table)
    return deps


def _certificate(view, obs, site, evidence) -> list[Dependency]:
    kb = view.kb
    tls = site.tls
    if not tls:
        if site.error and not site.status:
            return [dependency.build(view, obs.domain, "tls.ca", status="unknown", confidence="low",
                                     reason="site-unreachable", evidence=evidence, error=site.error)]
        return [dependency.build(view, obs.domain, "tls.ca", status="none", confidence="medium",
                                 reason="no-https", evidence=evidence)]
    issuer = tls.get("issuer_organization") or tls.get("issuer_common_name") or ""
    match = kb.indexes.match_ca(issuer) if issuer else None
    if match is None:
        return [dependency.build(view, obs.domain, "tls.ca", status="unknown", confidence="low",
                                 reason="ca-unknown", subject=issuer, evidence=evidence, issuer=issuer or "-")]
    return [dependency.build(view, obs.domain, "tls.ca", status="identified", confidence="high",
                             reason="ca-issuer", service_id=match.service, subject=issuer, evidence=evidence,
                             match=match, issuer=issuer, verified=tls.get("verified"))]


def _third_parties(view, obs, site, evidence, first_party: set[str], ip_table) -> list[Dependency]:
    """Third parties the page loads: from its HTML (``evidence``: the fetch) and, with
    ``--browser``, from what Chromium saw it request (each host's own browser evidence, and what
    became of each request: a request refused, blocked or failed still shows the dependency, but
    is never said to have loaded). An IP-literal host is attributed by its network."""
    kb = view.kb
    psl = PublicSuffixList.bundled()
    own = {psl.registrable_domain(h) or h for h in first_party}
    own_addresses = {a for resolved in obs.web_hosts.values() for a in resolved.addresses}
    by_service: dict[str, dict] = {}
    unknown: dict[str, dict] = {}
    addresses: dict[str, dict] = {}
    browser = obs.browser
    seen = [(r.host, r.url, "html", evidence, None) for r in getattr(site, "resources", []) or []]
    if browser is not None:
        outcomes = browser.outcomes()
        seen += [(host, url, "browser", browser.host_evidence.get(host, []), outcomes.get(url))
                 for host, url, _ in browser.observed()]
    for host, url, via, ids, outcome in seen:
        host = (host or "").lower()
        if not host:
            continue
        address = _ip_literal(host)
        if address is not None:
            if address in own_addresses:
                continue  # the site's own server, by its address
            entry = addresses.setdefault(address, _entry(None))
        else:
            try:
                registrable = psl.registrable_domain(host) or host
            except ValueError:
                continue
            if registrable in own:
                cloaked = _cloaked(kb, obs, host, own)
                if cloaked is None:
                    continue
                match, target = cloaked
                entry = by_service.setdefault(match.service, _entry(match))
                entry["cloaked"].setdefault(host, target)
                entry["evidence"].update(obs.first_party_hosts[host].evidence)
            else:
                match = kb.indexes.match_url(url) or kb.indexes.match_host(host, ("host", "cname"))
                entry = (unknown.setdefault(registrable, _entry(None)) if match is None
                         else by_service.setdefault(match.service, _entry(match)))
        entry["urls"].setdefault(url, None)
        entry["hosts"].setdefault(address or host, None)
        entry["via"].add(via)
        entry["evidence"].update(ids)
        if via == "browser":  # one outcome per URL ("loaded" when any request for it loaded)
            entry["outcomes"][url] = outcome or ("no-response", None)
    deps = []
    for service_id, entry in sorted(by_service.items()):
        if entry["cloaked"]:  # served under the site's own name: say so first, it is the finding
            host, target = next(iter(entry["cloaked"].items()))
            reason, params = "third-party-cname-cloaked", {"count": len(entry["urls"]), "host": host, "target": target}
        else:
            reason, params = _reason(entry, "third-party-service", "third-party-browser")
        deps.append(dependency.build(view, obs.domain, "web.third_party", status="identified", confidence="high",
                                     reason=reason, service_id=service_id, subject=next(iter(entry["urls"]))[:200],
                                     evidence=sorted(entry["evidence"]), match=entry["match"], **params))
    for registrable, entry in sorted(unknown.items())[:MAX_UNKNOWN_THIRD_PARTIES]:
        reason, params = _reason(entry, "third-party-unknown", "third-party-browser-unknown")
        deps.append(dependency.build(
            view, obs.domain, "web.third_party", status="unknown", confidence="low", reason=reason,
            subject=registrable, evidence=sorted(entry["evidence"]), **{**params, "host": registrable}))
    for address, entry in sorted(addresses.items())[:MAX_UNKNOWN_THIRD_PARTIES]:
        network = attribute_addresses(kb, ip_table, address, [address])
        networks = ", ".join(f"AS{n} {network.as_names.get(n, '')}".strip() for n in network.networks) or "-"
        if network.identified:
            reason, params = _reason(entry, "third-party-address", "third-party-address")
            deps.append(dependency.build(view, obs.domain, "web.third_party", status="identified",
                                         confidence="medium", reason=reason, service_id=network.service_id,
                                         subject=address, evidence=sorted(entry["evidence"]), match=network.match,
                                         **{**params, "networks": networks}))
        elif (holder := network.registered) is not None:
            reason, params = _reason(entry, "third-party-address-registered", "third-party-address-registered")
            deps.append(dependency.build_registered(view, obs.domain, "web.third_party", holder, reason=reason,
                                                    subject=address, evidence=sorted(entry["evidence"]), **params))
        else:
            reason, params = _reason(entry, "third-party-address-unknown", "third-party-address-unknown")
            deps.append(dependency.build(view, obs.domain, "web.third_party", status="unknown", confidence="low",
                                         reason=reason, subject=address, evidence=sorted(entry["evidence"]),
                                         **{**params, "networks": networks}))
    if browser is not None and browser.outcome != "ok":
        deps.append(dependency.build(view, obs.domain, "web.third_party", status="unknown", confidence="low",
                                     reason="browser-failed", subject=browser.url,
                                     evidence=[browser.page_evidence] if browser.page_evidence else [],
                                     error=browser.error or browser.outcome))
    return deps


def _reason(entry: dict, named: str, seen: str) -> tuple[str, dict]:
    """(reason, params) for an entry: ``named`` when the page's HTML names it (what the page
    loads, whatever became of our browser's requests: the evidence says); else ``seen`` when the
    browser loaded some of it (counting what loaded); else what stopped every request."""
    host = next(iter(entry["hosts"]))
    outcomes = list(entry["outcomes"].values())
    loaded = [o for o in outcomes if o[0] == "loaded"]
    if "html" in entry["via"]:
        return named, {"count": len(entry["urls"]), "host": host}
    if loaded:
        return seen, {"count": len(loaded), "host": host}
    (outcome, detail), _ = collections.Counter(outcomes).most_common(1)[0]
    params = {"count": len(entry["outcomes"]), "host": host, "detail": detail or outcome}
    if outcome == "refused":
        return "third-party-browser-refused", params
    if outcome == "blocked":
        return "third-party-browser-blocked", params
    return "third-party-browser-failed", params


def _ip_literal(host: str) -> str | None:
    """The address, when ``host`` is an IP literal (never a name with a "registrable domain")."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def _entry(match) -> dict:
    return {"match": match, "urls": {}, "hosts": {}, "via": set(), "evidence": set(), "cloaked": {}, "outcomes": {}}


def _cloaked(kb, obs, host: str, own: set[str]):
    """(match, CNAME target) when a first-party ``host`` is a CNAME to a known third-party service.

    Only services that are third parties of web pages count: a subdomain on a CDN or a hosting
    provider is the site's own hosting, not a tracker in disguise.
    """
    resolved = obs.first_party_hosts.get(host)
    if resolved is None:
        return None
    psl = PublicSuffixList.bundled()
    for target in resolved.cnames:
        try:
            if (psl.registrable_domain(target) or target) in own:
                continue
        except ValueError:
            continue
        match = kb.indexes.match_host(target, ("host", "cname"))
        if match is not None and "web.third_party" in kb.services[match.service].functions:
            return match, target
    return None
