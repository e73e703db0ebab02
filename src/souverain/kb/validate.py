"""Cross-record checks: references, ownership cycles, duplicates, fingerprints, shares."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

from souverain.kb.problems import Loc, Problem, line_of
from souverain.kb.psl import PublicSuffixList
from souverain.kb.schema import Alternative, Assessment, Checklist, Entity, Law, Service

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.loader import RawRecord

Report = Callable[[str, Loc, str], None]  # (record id, field location, message)

HOST_KINDS = ("mx", "spf", "dkim", "autodiscover", "report", "ns", "cname", "host")
SINGULAR = {
    "entities": "an entity",
    "services": "a service",
    "laws": "a law",
    "alternatives": "an alternative",
    "regions": "a region",
    "lists": "a list",
    "loaders": "a tag loader",
    "functions": "a function",
    "frameworks": "a framework",
    "assessments": "an assessment",
}


def cross_check(kb: KnowledgeBase, raw: list[RawRecord]) -> list[Problem]:
    problems: list[Problem] = []
    first_seen: dict[str, RawRecord] = {}
    for item in raw:
        if item.record is None:
            continue
        rid = item.record.id
        if rid in first_seen:
            problems.append(
                Problem(item.shown_path, line_of(item.lines, ("id",)), "id", f"duplicate id, also {first_seen[rid].shown_path}")
            )
        else:
            first_seen[rid] = item

    def report(rid: str, loc: Loc, message: str) -> None:
        item = kb.sources[rid]
        from souverain.kb.problems import format_field

        problems.append(Problem(item.shown_path, line_of(item.lines, loc), format_field(loc), message))

    def expect(rid: str, loc: Loc, ref: str | None, kind: str) -> None:
        if ref is None:
            return
        if ref not in kb.records:
            report(rid, loc, f"unknown {SINGULAR[kind].split()[-1]} {ref!r}")
        elif kb.kinds[ref] != kind:
            report(rid, loc, f"{ref!r} is {SINGULAR[kb.kinds[ref]]}, expected {SINGULAR[kind]}")

    for rid, record in kb.records.items():
        if isinstance(record, Entity):
            for i, edge in enumerate(record.owners):
                expect(rid, ("owners", i, "owner"), edge.owner, "entities")
                if edge.owner == rid:
                    report(rid, ("owners", i, "owner"), "an entity cannot own itself")
            _check_shares(record, report)
        elif isinstance(record, Service):
            expect(rid, ("operator",), record.operator, "entities")
            for i, alt in enumerate(record.alternatives):
                expect(rid, ("alternatives", i), alt, "alternatives")
        elif isinstance(record, Alternative):
            expect(rid, ("vendor",), record.vendor, "entities")
            expect(rid, ("service",), record.service, "services")
            for i, ref in enumerate(record.replaces):
                expect(rid, ("replaces", i), ref, "services")
        elif isinstance(record, Assessment):
            expect(rid, ("framework",), record.framework, "frameworks")
            expect(rid, ("provider",), record.provider, "entities")
            expect(rid, ("service",), record.service, "services")
            for i, tech in enumerate(record.technology):
                expect(rid, ("technology", i, "entity"), tech.entity, "entities")
        elif isinstance(record, Law):
            for i, status in enumerate(record.status):
                if status.until and status.until < status.since:
                    report(rid, ("status", i, "until"), "until is before since")
        elif isinstance(record, Checklist):
            _rdap_servers(kb, record, expect, report)
    problems.extend(_cycles(kb, report))
    problems.extend(_fingerprints(kb, report))
    _domains(kb, report)
    _registries(kb, report)
    from souverain.kb.schema import FUNCTIONS

    for rid in kb.records:
        if kb.kinds[rid] == "functions" and rid not in FUNCTIONS:
            report(rid, ("id",), f"unknown function id; known: {', '.join(FUNCTIONS)}")
    for region in ("eu",):
        if region not in kb.regions:
            problems.append(Problem(str(kb.root), 1, "regions", f"required region {region!r} is missing"))
    return problems


def _check_shares(entity: Entity, report: Report) -> None:
    # every first day an edge is asserted: its `since`, or its `since_before` bound
    dates = {edge.start for edge in entity.owners} | {dt.date(1900, 1, 1), dt.date.today()}
    for at in sorted(dates):
        valid = [edge for edge in entity.owners if edge.valid_at(at)]
        for field in ("capital_pct", "votes_pct"):
            total = sum(getattr(edge, field) or 0 for edge in valid)
            if total > 100.5:
                report(entity.id, ("owners",), f"{field} of owners adds up to {total:g} % at {at}")
                return
        controllers = [edge for edge in valid if edge.controls()]
        if len(controllers) > 1:
            names = ", ".join(edge.owner for edge in controllers)
            report(entity.id, ("owners",), f"several controlling owners at {at}: {names}")
            return


def _cycles(kb: KnowledgeBase, report: Report) -> list[Problem]:
    """Ownership cycles among edges valid at the same date (checked at every edge boundary)."""
    found: set[frozenset[str]] = set()
    boundaries = {dt.date(1900, 1, 1)}
    for entity in kb.entities.values():
        for edge in entity.owners:
            boundaries.update(d for d in (edge.start, edge.until) if d)
    for at in sorted(boundaries):
        graph = {
            eid: [e.owner for e in ent.owners if e.valid_at(at) and e.owner in kb.entities]
            for eid, ent in kb.entities.items()
        }
        state: dict[str, int] = {}
        for start, owners in graph.items():
            stack = [(start, iter(owners))]
            path = [start]
            state[start] = state.get(start, 0) or 1
            if state[start] == 2:
                continue
            while stack:
                node, children = stack[-1]
                child = next(children, None)
                if child is None:
                    state[node] = 2
                    stack.pop()
                    path.pop()
                elif state.get(child) == 1 and child in path:
                    cycle = path[path.index(child) :]
                    key = frozenset(cycle)
                    if key not in found:
                        found.add(key)
                        report(cycle[0], ("owners",), "ownership cycle: " + " -> ".join([*cycle, child]) + f" (at {at})")
                elif state.get(child, 0) == 0:
                    state[child] = 1
                    path.append(child)
                    stack.append((child, iter(graph[child])))
    return []


def _rdap_servers(kb: KnowledgeBase, record: Checklist, expect: Callable[[str, Loc, str | None, str], None],
                  report: Report) -> None:
    """An RDAP server's ``registry`` is the entity that runs its TLD."""
    for i, server in enumerate(record.rdap_servers):
        expect(record.id, ("rdap_servers", i, "registry"), server.registry, "entities")
        entity = kb.entities.get(server.registry or "")
        if entity is not None and server.tld not in entity.registry_tlds:
            report(record.id, ("rdap_servers", i, "registry"),
                   f"entities/{entity.id}.yaml does not list {server.tld!r} in its registry_tlds")


def _registries(kb: KnowledgeBase, report: Report) -> None:
    """A TLD has one registry; an IANA registrar id names one entity."""
    tlds: dict[str, str] = {}
    registrars: dict[int, str] = {}
    for eid, entity in kb.entities.items():
        for i, tld in enumerate(entity.registry_tlds):
            other = tlds.setdefault(tld, eid)
            if other != eid:
                report(eid, ("registry_tlds", i), f"TLD {tld!r} is also run by entities/{other}.yaml")
        if entity.iana_registrar_id is not None:
            other = registrars.setdefault(entity.iana_registrar_id, eid)
            if other != eid:
                report(eid, ("iana_registrar_id",), f"IANA registrar id {entity.iana_registrar_id} is also "
                       f"given to entities/{other}.yaml")


def _domains(kb: KnowledgeBase, report: Report) -> None:
    """Each entity domain is a registrable domain (not a public suffix) held by one entity only."""
    psl = PublicSuffixList.bundled()
    holders: dict[str, str] = {}
    for eid, entity in kb.entities.items():
        for i, domain in enumerate(entity.domains):
            if psl.registrable_domain(domain) != domain:
                report(eid, ("domains", i), f"{domain!r} is not a registrable domain (a public suffix, or a name "
                       f"under {psl.registrable_domain(domain)!r}): list the domain the entity registered")
            other = holders.setdefault(domain, eid)
            if other != eid:
                report(eid, ("domains", i), f"domain {domain!r} is also held by entities/{other}.yaml")


def _fingerprints(kb: KnowledgeBase, report: Report) -> list[Problem]:
    psl = PublicSuffixList.bundled()
    owners: dict[tuple[str, str], str] = {}
    hosts: dict[str, str] = {}
    for sid, service in kb.services.items():
        fp = service.fingerprints
        for kind in (*HOST_KINDS, "url", "txt", "header", "ca", "asn", "terraform", "purl", "supplier", "kubernetes"):
            values = getattr(fp, kind)
            seen_here: set[str] = set()
            for i, value in enumerate(values):
                key_value = str(value).lower()
                loc = ("fingerprints", kind, i)
                if key_value in seen_here:
                    report(sid, loc, f"{value!r} is listed twice")
                    continue
                seen_here.add(key_value)
                if kind in HOST_KINDS:
                    if psl.is_public_suffix(key_value):
                        report(sid, loc, f"{value!r} is a public suffix: it would match every domain under it")
                    other = hosts.get(key_value)
                    if other and other != sid:
                        report(sid, loc, f"duplicate fingerprint {value!r}, also in services/{other}.yaml")
                    hosts.setdefault(key_value, sid)
                    continue
                if kind == "url" and psl.is_public_suffix(key_value.split("/", 1)[0]):
                    report(sid, loc, f"{value!r}: its host is a public suffix: it would match every domain under it")
                other = owners.get((kind, key_value))
                if other and other != sid:
                    report(sid, loc, f"duplicate fingerprint {kind} {value!r}, also in services/{other}.yaml")
                owners.setdefault((kind, key_value), sid)
    # TXT prefixes that are prefixes of one another would make matches order-dependent
    prefixes = sorted(owners_key[1] for owners_key in owners if owners_key[0] == "txt")
    for shorter, longer in itertools.pairwise(prefixes):
        if longer.startswith(shorter):
            sid = owners[("txt", longer)]
            if owners[("txt", shorter)] != sid:
                report(sid, ("fingerprints", "txt"), f"TXT prefix {longer!r} starts with {shorter!r} of another service")
    return []
