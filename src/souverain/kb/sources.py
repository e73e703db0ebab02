"""Source quality: primary or secondary, and whether an ownership claim rests on enough of them.

A source is *primary* when it says so (``kind: primary``), when its host is a register, official
journal, regulator or filing system (``lists/primary-source-hosts``), or when it is a page of the
record's own organisation or of an entity in its ownership chain (their ``website``): a group's
press release on its own acquisition is primary. Anything else is *secondary* (press, databases).
Hosts listed in ``lists/weak-source-hosts`` (content farms, document mirrors) are weak: they count
for nothing and are reported so that a better source replaces them.

An entity's ownership edges need one primary source, or two secondary ones from different
sites; ``kb stats`` lists the entities that fall short and ``kb validate --strict`` fails on them.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING

from souverain.kb.psl import PublicSuffixList
from souverain.kb.schema import Checklist, Entity, Source, SourceKind

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase

PRIMARY_LIST = "primary-source-hosts"
WEAK_LIST = "weak-source-hosts"


@dataclasses.dataclass(frozen=True)
class SourceProblem:
    record: str
    message: str


def site(url: str) -> str:
    """The registrable domain of a URL's host (``www.sec.gov`` -> ``sec.gov``)."""
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower().rstrip(".")
    return _psl().registrable_domain(host) or host


def source_kind(kb: KnowledgeBase, record_id: str, source: Source) -> SourceKind:
    if source.kind is not None:
        return source.kind
    host = site(str(source.url))
    if host in _hosts(kb, PRIMARY_LIST) or host in _own_sites(kb, record_id):
        return "primary"
    return "secondary"


def is_weak(kb: KnowledgeBase, source: Source) -> bool:
    return source.kind != "primary" and site(str(source.url)) in _hosts(kb, WEAK_LIST)


def ownership_problems(kb: KnowledgeBase) -> list[SourceProblem]:
    """Entities with ownership edges whose sources are neither one primary nor two independent
    secondary ones (weak sources not counted)."""
    problems = []
    for entity in sorted(kb.entities.values(), key=lambda e: e.id):
        if not entity.owners:
            continue
        usable = [s for s in entity.sources if not is_weak(kb, s)]
        if any(source_kind(kb, entity.id, s) == "primary" for s in usable):
            continue
        sites = {site(str(s.url)) for s in usable}
        if len(sites) >= 2:
            continue
        found = f"{len(usable)} secondary source(s) from {len(sites)} site(s)" if usable else "no usable source"
        problems.append(SourceProblem(entity.id, f"ownership rests on {found}: add a primary source "
                                                 "(filing, register, the group's own page) or a second independent one"))
    return problems


def weak_sources(kb: KnowledgeBase) -> list[SourceProblem]:
    return [SourceProblem(rid, f"weak source {source.url}: replace it with a better one")
            for rid, record in sorted(kb.records.items()) for source in record.sources if is_weak(kb, source)]


def kinds_count(kb: KnowledgeBase) -> dict[str, int]:
    counts = {"primary": 0, "secondary": 0, "weak": 0}
    for rid, record in kb.records.items():
        for source in record.sources:
            counts["weak" if is_weak(kb, source) else source_kind(kb, rid, source)] += 1
    return counts


def _hosts(kb: KnowledgeBase, list_id: str) -> frozenset[str]:
    record = kb.records.get(list_id)
    return frozenset(record.values) if isinstance(record, Checklist) else frozenset()


def _own_sites(kb: KnowledgeBase, record_id: str) -> set[str]:
    """Sites of the record's organisation and of every entity above it in any ownership edge."""
    record = kb.records.get(record_id)
    start = getattr(record, "operator", None) if not isinstance(record, Entity) else record_id
    sites: set[str] = set()
    seen: set[str] = set()
    todo = [start] if isinstance(start, str) else []
    while todo:
        entity = kb.entities.get(todo.pop())
        if entity is None or entity.id in seen:
            continue
        seen.add(entity.id)
        if entity.website is not None:
            sites.add(site(str(entity.website)))
        sites |= {site(f"https://{domain}") for domain in getattr(entity, "domains", ())}
        todo += [edge.owner for edge in entity.owners]
    website = getattr(record, "website", None)
    if website is not None:
        sites.add(site(str(website)))
    return sites


@functools.cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList.bundled()
