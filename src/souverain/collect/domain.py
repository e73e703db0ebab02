"""Collect the evidence about one domain: the DNS (and web) facts attribution reads.

Every answer becomes an ``Evidence`` item that a person can re-check (``dig @resolver name TYPE``);
the structured fields of the observation (``collect.observation.ObservationBuilder``, frozen into
``model.DomainObservation`` for attribution) point back to evidence ids. Groups of checks are
selected by ``functions``: ``mail`` (MX, SPF, DMARC, TLS-RPT, DKIM, autodiscover, MTA-STS, derived
hosts, apex TXT), ``dns`` (NS, SOA), ``web`` (apex and www addresses and CNAME chains, CAA, HTTP(S)),
``registry`` (offline: the TLD, whose registry the KB names), ``registrar`` (one RDAP request).
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from souverain.collect import reporting
from souverain.collect.dns import Answer, Resolver
from souverain.collect.observation import ObservationBuilder
from souverain.collect.spf import expand_spf
from souverain.kb.psl import PublicSuffixList
from souverain.model.observation import DkimSelector, HostAddresses, ReportDestination

FUNCTION_GROUPS = ("mail", "dns", "web", "registry", "registrar")
# what runs when --functions is not given (registry is offline but opt-in: it adds a dependency)
DEFAULT_GROUPS = ("mail", "dns", "web")
MAX_CNAME_CHAIN = 8
MAX_MX_HOSTS = 10
MAX_NS_HOSTS = 8
MAX_FIRST_PARTY_HOSTS = 20


@dataclasses.dataclass
class CollectOptions:
    dkim_selectors: tuple[str, ...] = ()
    derived_hosts: tuple[str, ...] = ()  # templates with {domain_dashed}
    fetch_site: Callable[[str, list[str]], Awaitable[Any]] | None = None
    # Survey mode: ask the look-through questions (autodiscover, DKIM, derived hosts) only when this
    # says the MX hosts do not already name a mailbox provider; None = always ask (scan).
    needs_look_through: Callable[[list[str]], bool] | None = None
    policy_records: bool = True  # MTA-STS: reported, not needed for attribution
    rdap: Callable[[ObservationBuilder], Awaitable[None]] | None = None  # the registrar look-up


async def collect_domain(resolver: Resolver, domain: str, functions: tuple[str, ...], options: CollectOptions) -> ObservationBuilder:
    """Every group's first questions leave at once; the groups then read their answers in turn.

    ``Resolver.query`` sends when called, so awaiting answers one after the other costs no
    waiting, and a domain needs no task per group or per host (a survey runs millions of them).
    """
    obs = ObservationBuilder(domain, functions)
    web = asyncio.ensure_future(_web(resolver, obs, options)) if "web" in functions else None  # overlaps HTTP
    rdap = asyncio.ensure_future(options.rdap(obs)) if "registrar" in functions and options.rdap else None
    mail = _mail_questions(resolver, domain, options) if "mail" in functions else None
    dns = (resolver.query(domain, "NS"), resolver.query(domain, "SOA")) if "dns" in functions else None
    if mail is not None:
        await _mail(resolver, obs, options, mail)
    if dns is not None:
        await _dns_hosting(resolver, obs, dns)
    if web is not None:
        await web
    if "registry" in functions:  # offline: the TLD, looked up in the KB by attribution
        tld = domain.rstrip(".").rsplit(".", 1)[-1]
        obs.add("kb", "tld", domain, "ok", detail={"tld": tld})
    if rdap is not None:
        await rdap
    obs.nxdomain = _nxdomain(obs)
    return obs


def _nxdomain(obs: ObservationBuilder) -> bool:
    """The domain's name answered NXDOMAIN and no question about it found the name (RFC 8020).

    An NXDOMAIN that comes with records is about the end of a CNAME chain (RFC 6604): the
    domain itself exists, as an alias to a name that does not.
    """
    statuses = obs.dns_statuses(obs.domain)  # read from the answers: no evidence built (a survey row)
    return "NXDOMAIN" in statuses and not statuses & {"NOERROR", "NODATA"}


def send_host(resolver: Resolver, host: str) -> tuple[asyncio.Future, asyncio.Future]:
    """Ask A and AAAA of ``host`` now; ``resolve_host(..., sent=)`` reads them later."""
    return resolver.query(host, "A"), resolver.query(host, "AAAA")


async def resolve_host(resolver: Resolver, obs: ObservationBuilder, host: str, kind: str,
                       sent: tuple[asyncio.Future, asyncio.Future] | None = None) -> HostAddresses:
    """A and AAAA of ``host``, following CNAMEs client-side (bounded, loops detected)."""
    chain: list[str] = []
    evidence: list[str] = []
    current = host
    seen = {host}
    loop = False
    status = "NOERROR"
    for _ in range(MAX_CNAME_CHAIN):
        a_sent, aaaa_sent = sent or send_host(resolver, current)
        sent = None
        a, aaaa = await a_sent, await aaaa_sent
        evidence += [obs.record(a, kind), obs.record(aaaa, kind)]
        ipv4 = a.values("A")
        ipv6 = aaaa.values("AAAA")
        if ipv4 or ipv6:
            # a recursive resolver returns the CNAME chain with the addresses in one answer
            for target in a.cname_chain() or aaaa.cname_chain():
                if target not in seen:
                    seen.add(target)
                    chain.append(target)
            return HostAddresses(host, tuple(chain), tuple(ipv4), tuple(ipv6), tuple(evidence), "NOERROR")
        links = a.cname_chain() or aaaa.cname_chain()
        if not links:
            status = a.status if a.status != "NODATA" else aaaa.status
            break
        for target in links:
            if target in seen:
                loop = True
                break
            seen.add(target)
            chain.append(target)
        if loop:
            status = "CNAME-LOOP"
            break
        current = chain[-1]
    else:
        status = "CNAME-CHAIN-TOO-LONG"
    if status in ("CNAME-LOOP", "CNAME-CHAIN-TOO-LONG"):
        obs.failures.append((f"{host} A/AAAA", status))
    return HostAddresses(host, tuple(chain), (), (), tuple(evidence), status, loop)


def _mail_questions(resolver: Resolver, domain: str, options: CollectOptions) -> dict[str, asyncio.Future]:
    """The mail questions that depend on nothing else, sent at once."""
    sent = {"mx": resolver.query(domain, "MX"), "txt": resolver.query(domain, "TXT"),
            "dmarc": resolver.query(f"_dmarc.{domain}", "TXT"), "tlsrpt": resolver.query(f"_smtp._tls.{domain}", "TXT")}
    if options.policy_records:
        sent["mta_sts"] = resolver.query(f"_mta-sts.{domain}", "TXT")
    return sent


async def _mail(resolver: Resolver, obs: ObservationBuilder, options: CollectOptions,
                sent: dict[str, asyncio.Future]) -> None:
    domain = obs.domain
    mx, txt = await sent["mx"], await sent["txt"]
    obs.record(mx, "mx")
    obs.mx_status = mx.status
    for value in mx.values("MX"):
        preference, _, host = value.partition(" ")
        obs.mx.append((int(preference), host))
    obs.mx.sort()
    if len(obs.mx) == 1 and obs.mx[0][1] in ("", "."):  # RFC 7505 null MX
        obs.null_mx = True
        obs.mx = []
    obs.record(txt, "txt")
    obs.txt_status = txt.status
    obs.txt = txt.values("TXT")
    hosts = [host for _, host in obs.mx[:MAX_MX_HOSTS] if host]
    literals = {host: literal for host in hosts if (literal := ip_literal(host))}
    addresses = [None if host in literals else send_host(resolver, host) for host in hosts]
    obs.spf = await expand_spf(resolver, domain, txt)
    for answer in obs.spf.answers:
        obs.record(answer, "spf")
    if obs.spf.status != "none":  # the evaluation, on the evidence of the record it starts from
        obs.annotate(obs.ids[f"{txt.name} TXT"], spf=obs.spf.summary())
    await _reporting(resolver, obs, sent["dmarc"], sent["tlsrpt"])
    if "mta_sts" in sent:
        mta_sts = await sent["mta_sts"]
        obs.record(mta_sts, "mta-sts")
        obs.mta_sts = next((v for v in mta_sts.values("TXT") if v.lower().startswith("v=stsv1")), None)
    for host, pair in zip(hosts, addresses, strict=True):
        if host in literals:  # an address where a name belongs: nothing to resolve, the MX answer is the evidence
            literal = literals[host]
            v4, v6 = ((literal,), ()) if ":" not in literal else ((), (literal,))
            obs.mx_hosts[host] = HostAddresses(host, (), v4, v6, (obs.ids[f"{mx.name} MX"],), "NOERROR")
            continue
        obs.mx_hosts[host] = await resolve_host(resolver, obs, host, "mx-host", pair)
    if mx.status == "NXDOMAIN":  # nothing exists under a name that does not exist (RFC 8020)
        return
    if options.needs_look_through is None or options.needs_look_through(hosts):
        await _look_through_signals(resolver, obs, options)


def ip_literal(host: str) -> str | None:
    """The address of an MX written as an IP literal (``192.0.2.25``, ``[192.0.2.25]``), else None.

    RFC 5321 wants a host name there; some zones hold an address and some senders deliver to it.
    """
    text = host.strip("[]")
    if ":" not in text and not text[-1:].isdigit():  # a name (the usual case): no parse
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _dmarc_record(answer: Answer) -> str | None:
    return next((v for v in answer.values("TXT") if v.lower().startswith("v=dmarc1")), None)


async def _reporting(resolver: Resolver, obs: ObservationBuilder, dmarc_sent: asyncio.Future,
                     tlsrpt_sent: asyncio.Future) -> None:
    """DMARC and TLS-RPT records, their report destinations, and whether outside ones accept them."""
    domain = obs.domain
    dmarc, tlsrpt = await dmarc_sent, await tlsrpt_sent
    dmarc_id, tlsrpt_id = obs.record(dmarc, "dmarc"), obs.record(tlsrpt, "tls-rpt")
    obs.dmarc = _dmarc_record(dmarc)
    organisation = reporting.organisational_domain(domain)
    if obs.dmarc is None and not dmarc.failed and organisation != domain:  # RFC 7489 §6.6.3 fallback
        dmarc = await resolver.query(f"_dmarc.{organisation}", "TXT")
        obs.dmarc, dmarc_id = _dmarc_record(dmarc), obs.record(dmarc, "dmarc")
        domain = organisation if obs.dmarc else domain
    obs.tlsrpt = next((v for v in tlsrpt.values("TXT") if v.lower().startswith("v=tlsrptv1")), None)
    found = [(d, dmarc_id) for d in reporting.dmarc_destinations(obs.dmarc or "")]
    found += [(d, tlsrpt_id) for d in reporting.tlsrpt_destinations(obs.tlsrpt or "")]
    outside = sorted({d.host for d, _ in found
                      if d.host and d.kind != "tls-rpt" and reporting.external(d.host, domain)})
    sent = [resolver.query(reporting.authorisation_name(domain, host), "TXT") for host in outside]
    answers = [await answer for answer in sent]
    accepts: dict[str, tuple[bool | None, str]] = {}
    for host, answer in zip(outside, answers, strict=True):
        accepted = any(v.lower().startswith("v=dmarc1") for v in answer.values("TXT"))
        accepts[host] = (None if answer.failed else accepted, obs.record(answer, "dmarc-authorisation"))
    for destination, evidence_id in found:
        authorised: bool | None = None
        evidence: tuple[str, ...] = (evidence_id,)
        if destination.host in accepts and destination.kind != "tls-rpt":
            authorised, check_id = accepts[destination.host]
            evidence = (evidence_id, check_id)
        obs.reports.append(ReportDestination(destination.kind, destination.uri, destination.host,
                                             destination.problem, authorised, evidence))


async def _look_through_signals(resolver: Resolver, obs: ObservationBuilder, options: CollectOptions) -> None:
    """Autodiscover, DKIM and derived hosts: what tells who holds the mailboxes behind a filter."""
    domain = obs.domain
    sent = [resolver.query(f"autodiscover.{domain}", "CNAME"), resolver.query(f"_autodiscover._tcp.{domain}", "SRV"),
            *(resolver.query(f"{selector}._domainkey.{domain}", "TXT") for selector in options.dkim_selectors)]
    derived_hosts = [template.format(domain_dashed=domain.replace(".", "-")) for template in options.derived_hosts]
    derived_sent = [send_host(resolver, host) for host in derived_hosts]
    results = [await answer for answer in sent]
    results += [await resolve_host(resolver, obs, host, "derived", pair)
                for host, pair in zip(derived_hosts, derived_sent, strict=True)]
    autodiscover, autodiscover_srv = results[0], results[1]
    obs.record(autodiscover, "autodiscover")
    obs.record(autodiscover_srv, "autodiscover")
    obs.autodiscover = autodiscover.values("CNAME") + [v.split()[-1] for v in autodiscover_srv.values("SRV")]
    index = 2
    for selector in options.dkim_selectors:
        answer: Answer = results[index]
        index += 1
        cnames = answer.cname_chain()
        key = any(v.lower().startswith("v=dkim1") or "p=" in v.lower() for v in answer.values("TXT"))
        if cnames or key:
            obs.record(answer, "dkim")
            obs.dkim[selector] = DkimSelector(tuple(cnames), key, obs.ids[f"{answer.name} TXT"])
        elif answer.failed:
            obs.record(answer, "dkim")
    for template in options.derived_hosts:
        host_addresses: HostAddresses = results[index]
        index += 1
        obs.derived[template] = host_addresses


async def _dns_hosting(resolver: Resolver, obs: ObservationBuilder,
                       sent: tuple[asyncio.Future, asyncio.Future]) -> None:
    ns, soa = await sent[0], await sent[1]
    obs.record(ns, "ns")
    obs.record(soa, "soa")
    obs.ns_status = ns.status
    obs.ns = sorted(set(ns.values("NS")))
    obs.soa = next(iter(soa.values("SOA")), None)
    hosts = obs.ns[:MAX_NS_HOSTS]
    addresses = [send_host(resolver, host) for host in hosts]
    obs.ns_hosts = {host: await resolve_host(resolver, obs, host, "ns-host", pair)
                    for host, pair in zip(hosts, addresses, strict=True)}


async def _web(resolver: Resolver, obs: ObservationBuilder, options: CollectOptions) -> None:
    names = [obs.domain, f"www.{obs.domain}"]
    caa, *resolved = await asyncio.gather(
        resolver.query(obs.domain, "CAA"), *(resolve_host(resolver, obs, name, "web-host") for name in names)
    )
    obs.record(caa, "caa")
    obs.caa = caa.values("CAA")
    obs.web_hosts = dict(zip(names, resolved, strict=True))
    if options.fetch_site is None:
        return
    target = next((h for h in (f"www.{obs.domain}", obs.domain) if obs.web_hosts[h].addresses), None)
    if target is None:
        return
    site = await options.fetch_site(target, list(obs.web_hosts[target].addresses))
    obs.site = site
    obs.site_evidence = obs.add(
        "web", "http", site.requested_url, "ok" if site.error is None else "error",
        at=None, detail={"final_url": site.final_url, "status": site.status, "error": site.error,
                         "address": site.address, "tls": site.tls, "resources": len(site.resources)},
    )


async def resolve_first_party_hosts(resolver: Resolver, obs: ObservationBuilder, first_party: set[str]) -> None:
    """Follow the CNAME chains of the subdomains the page loads from its own domain(s).

    A tracker "cloaked" behind ``metrics.<domain>`` (a CNAME to the tracker's servers) looks
    first-party to the HTML and to browser blockers; its chain shows who really serves it.
    """
    site = obs.site
    if site is None:
        return
    psl = PublicSuffixList.bundled()
    own = {psl.registrable_domain(h) or h for h in first_party | {obs.domain}}
    seen = [r.host for r in getattr(site, "resources", []) or []]
    if obs.browser is not None:
        seen += [host for host, _, _ in obs.browser.observed()]
    hosts: list[str] = []
    for host in dict.fromkeys(h.lower() for h in seen if h):
        try:
            mine = (psl.registrable_domain(host) or host) in own
        except ValueError:
            continue
        if mine and host not in obs.web_hosts and len(hosts) < MAX_FIRST_PARTY_HOSTS:
            hosts.append(host)
    sent = [send_host(resolver, host) for host in hosts]
    for host, pair in zip(hosts, sent, strict=True):
        obs.first_party_hosts[host] = await resolve_host(resolver, obs, host, "first-party-host", pair)
