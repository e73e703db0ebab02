"""The scan pipeline: targets -> collect -> attribute -> assess, for one organisation's domains.

``scan_one`` is the per-domain function that ``survey`` maps over whole populations, so a scan of
one organisation and a survey of 35,000 communes attribute a domain in exactly the same way.

A scan whose name servers answered no question at all (the network is down, or ``--nameserver``
points nowhere) still returns its result, every function unknown with the failure as reason, and
says so in ``notices`` (``resolver-silent``): per-target failures are data, and the report says
plainly that these are not the targets' failures.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from souverain.assess.organisation import summarise
from souverain.attribute.domain import attribute_domain, notices
from souverain.attribute.targets import validate_host
from souverain.collect.dns import NO_RESPONSE, STATUSES, Resolver
from souverain.collect.domain import (
    DEFAULT_GROUPS,
    FUNCTION_GROUPS,
    CollectOptions,
    collect_domain,
    resolve_first_party_hosts,
    send_host,
)
from souverain.collect.rdap_pace import DEFAULT_QPS
from souverain.errors import UsageError
from souverain.model.scan import BrowserSettings, Failure, Notice, ScanMeta, ScanResult, Tool
from souverain.version import CODE_VERSION, OUTPUT_SCHEMA_VERSION

if TYPE_CHECKING:
    from souverain.collect.observation import ObservationBuilder
    from souverain.collect.page_run import BrowserOptions
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.ipasn import IPASNTable
    from souverain.kb.schema import TagLoader
    from souverain.model.dependency import Dependency, Tier
    from souverain.model.observation import DomainObservation


@dataclasses.dataclass
class ScanOptions:
    functions: tuple[str, ...] = DEFAULT_GROUPS
    nameservers: list[tuple[str, int]] | None = None
    timeout: float = 3.0
    retries: int = 2
    concurrency: int = 64
    qps: float | None = None
    at: dt.date = dataclasses.field(default_factory=dt.date.today)
    min_tier: Tier = "inferred"  # the weakest tier the summary counts (--min-confidence)
    fetch_web: bool = True
    web_timeout: float = 10.0
    connect_to: list[str] = dataclasses.field(default_factory=list)
    ca_file: str | None = None
    dkim_selectors: tuple[str, ...] | None = None  # None: the KB's lists
    # survey mode: look-through and policy records only when attribution needs them, and only the
    # providers' own DKIM selectors (services' fingerprints), not the generic list
    lean: bool = False
    browser: BrowserOptions | None = None  # also run the home page in headless Chromium (opt-in)
    rdap_url: str | None = None  # registrar group: this RDAP server instead of the bootstrap's (--rdap-url)
    rdap_timeout: float = 10.0
    rdap_qps: float = DEFAULT_QPS  # registrar group: requests per second per RDAP server (--rdap-qps)
    address_allowed: Callable[[str], bool] | None = None  # the web fetch connects only where this says yes

    def __post_init__(self) -> None:
        unknown = set(self.functions) - set(FUNCTION_GROUPS)
        if unknown or not self.functions:
            raise UsageError(f"--functions: choose among {', '.join(FUNCTION_GROUPS)} (got {', '.join(self.functions)})")


def normalise_domains(raw: list[str]) -> list[str]:
    """Validated, lowercased, de-duplicated domains in input order (UsageError on a bad one)."""
    seen: dict[str, None] = {}
    for item in raw:
        text = item.strip()
        if "://" in text:
            raise UsageError(f"{item!r}: give a domain name, not a URL")
        seen.setdefault(validate_host(text, item), None)
    if not seen:
        raise UsageError("no domain given")
    return list(seen)


def collect_options(kb: KnowledgeBase, options: ScanOptions, fetcher: Callable | None,
                    rdap: Callable | None = None) -> CollectOptions:
    selectors = options.dkim_selectors
    if selectors is None:
        generic = kb.records.get("dkim-selectors")
        names = [] if options.lean else list(getattr(generic, "values", []))
        for service in kb.services.values():
            names += service.fingerprints.dkim_selectors
        selectors = tuple(dict.fromkeys(names))
    derived = tuple(dict.fromkeys(t for s in kb.services.values() for t in s.fingerprints.derived_hosts))
    needs = None
    if options.lean:
        def needs(hosts: list[str]) -> bool:
            """Look through unless every MX host is named by a mailbox provider's fingerprint."""
            for host in hosts:
                match = kb.indexes.match_host(host, ("mx",))
                if match is None or kb.services[match.service].category != "mail-hosting":
                    return True
            return False
    return CollectOptions(dkim_selectors=selectors, derived_hosts=derived, fetch_site=fetcher,
                          needs_look_through=needs, policy_records=not options.lean, rdap=rdap)


def make_rdap(resolver: Resolver, options: ScanOptions, kb: KnowledgeBase | None = None) -> Callable | None:
    """The registrar look-up of each domain (``--functions registrar``), None when not asked for;
    ``kb``: its list of RDAP servers that IANA's bootstrap leaves out."""
    if "registrar" not in options.functions:
        return None
    from souverain.collect.rdap import kb_servers
    from souverain.collect.registrar import make_rdap_step

    async def resolve(host: str) -> list[str]:
        a_sent, aaaa_sent = send_host(resolver, host)
        a, aaaa = await a_sent, await aaaa_sent
        return aaaa.values("AAAA") + a.values("A")

    return make_rdap_step(override=options.rdap_url, timeout=options.rdap_timeout, resolve=resolve,
                          ca_file=options.ca_file, listed=kb_servers(kb) if kb is not None else None,
                          qps=options.rdap_qps)


def make_fetcher(resolver: Resolver, options: ScanOptions, tag_loaders: Sequence[TagLoader]) -> Callable | None:
    if not options.fetch_web or "web" not in options.functions:
        return None
    from souverain.collect.web import ConnectMap, fetch_site

    connect_map = ConnectMap.parse(options.connect_to) if options.connect_to else None

    async def resolve(host: str) -> list[str]:
        a_sent, aaaa_sent = send_host(resolver, host)
        a, aaaa = await a_sent, await aaaa_sent
        return aaaa.values("AAAA") + a.values("A")

    return functools.partial(fetch_site, timeout=options.web_timeout, connect_map=connect_map,
                             ca_file=options.ca_file, resolve=resolve, tag_loaders=tag_loaders,
                             allow=options.address_allowed)


def make_browser(resolver: Resolver, options: ScanOptions) -> Callable | None:
    """``observe(obs)``: run the fetched home page in headless Chromium (``--browser``), at most
    ``MAX_BROWSERS`` at a time; None when the browser is not asked for."""
    browser = options.browser
    if browser is None or not options.fetch_web or "web" not in options.functions:
        return None
    from souverain.collect.browser import observe_site
    from souverain.collect.page_run import MAX_BROWSERS
    from souverain.collect.web import ConnectMap

    connect_map = ConnectMap.parse(options.connect_to) if options.connect_to else None
    limit = asyncio.Semaphore(MAX_BROWSERS)

    async def observe(obs: ObservationBuilder) -> None:
        async with limit:
            await observe_site(resolver, obs, browser, connect_map=connect_map, ca_file=options.ca_file)

    return observe


async def scan_one(kb: KnowledgeBase, resolver: Resolver, domain: str, options: ScanOptions,
                   collect: CollectOptions, ip_table: IPASNTable,
                   first_party: set[str] | None = None,
                   browser: Callable | None = None) -> tuple[DomainObservation, list[Dependency]]:
    building = await collect_domain(resolver, domain, options.functions, collect)
    if browser is not None:
        await browser(building)
    if building.site is not None:
        await resolve_first_party_hosts(resolver, building, set(first_party or ()))
    obs = building.freeze()
    return obs, attribute_domain(kb.at(options.at), obs, ip_table, first_party)


async def scan_domains(kb: KnowledgeBase, domains: list[str], options: ScanOptions, ip_table: IPASNTable,
                       progress: Callable[[str], Any] | None = None) -> ScanResult:
    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    async with Resolver(options.nameservers, timeout=options.timeout, retries=options.retries,
                        concurrency=max(options.concurrency, 8), qps=options.qps) as resolver:
        collect = collect_options(kb, options, make_fetcher(resolver, options, kb.indexes.tag_loaders),
                                  make_rdap(resolver, options, kb))
        browser = make_browser(resolver, options)
        limit = asyncio.Semaphore(max(1, options.concurrency // 8))

        async def one(domain: str):
            async with limit:
                result = await scan_one(kb, resolver, domain, options, collect, ip_table, set(domains), browser)
            if progress:
                progress(domain)
            return result

        results = await asyncio.gather(*(one(d) for d in domains))
        stats = dict(resolver.stats)
        servers = [_label(server) for server in resolver.nameservers]
    deps = [dep for _, domain_deps in results for dep in domain_deps]
    finished = dt.datetime.now(dt.UTC)
    summary = summarise(kb, deps, options.at, min_tier=options.min_tier)
    missing = tuple(obs.domain for obs, _ in results if obs.nxdomain)
    if missing:
        summary = dataclasses.replace(summary, nonexistent=missing)
    found = [notice for obs, _ in results for notice in notices(obs)]
    if resolver_silent(stats):
        found.insert(0, Notice(None, "resolver-silent", "error", (),
                               {"nameservers": ", ".join(servers)}))
    return ScanResult(
        schema_version=OUTPUT_SCHEMA_VERSION,
        kb_version=kb.version,
        tool=Tool("souverain", CODE_VERSION),
        scan=ScanMeta(
            id=uuid.uuid4().hex[:12],
            domains=tuple(domains),
            at=options.at.isoformat(),
            started=_iso(started),
            finished=_iso(finished),
            duration_s=round(time.perf_counter() - clock, 3),
            functions=tuple(options.functions),
            nameservers=tuple(f"{h}:{p}" for h, p in (options.nameservers or [])) or ("system",),
            dns_stats=stats,
            browser=BrowserSettings(**dataclasses.asdict(options.browser))
            if browser is not None and options.browser is not None else None,
        ),
        summary=summary,
        notices=tuple(found),
        dependencies=tuple(deps),
        evidence={obs.domain: obs.evidence for obs, _ in results},
        failures={obs.domain: _failures(obs) for obs, _ in results if obs.failures},
    )


def resolver_silent(stats: dict) -> bool:
    """No question got any response from the name servers (only timeouts and network errors)."""
    answered = sum(count for status, count in stats.items() if status in STATUSES and status not in NO_RESPONSE)
    return answered == 0 and any(stats.get(status) for status in NO_RESPONSE)


def _failures(obs: DomainObservation) -> tuple[Failure, ...]:
    """The failed queries, with the error behind a network failure (``ConnectionRefusedError``)."""
    return tuple(Failure(query, status, (obs.item(obs.ids[query]).detail.get("error") or None)
                         if query in obs.ids else None)
                 for query, status in obs.failures)


def _label(server: tuple[str, int]) -> str:
    return f"[{server[0]}]:{server[1]}" if ":" in server[0] else f"{server[0]}:{server[1]}"


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
