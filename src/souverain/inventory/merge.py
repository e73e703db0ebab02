"""``scan DOMAIN... --inventory FILE...``: one organisation report over DNS/web findings and the
organisation's own inventories.

The inventory's dependencies are filed under the first scanned domain (the organisation's), their
evidence numbered after that domain's own. A dependency both found (same domain, function and
service) is merged into the scan's, citing all the evidence of both; the summary is computed
again over everything.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from souverain.assess.organisation import summarise
from souverain.model.evidence import id_number, next_id

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.model.dependency import Dependency
    from souverain.model.scan import ScanResult


def merge(kb: KnowledgeBase, scan: ScanResult, inventory: ScanResult) -> ScanResult:
    domain = scan.scan.domains[0]
    own = list(scan.evidence.get(domain, ()))
    renamed: dict[str, str] = {}
    for items in inventory.evidence.values():
        for item in items:
            renamed[item.id] = next_id(len(own))
            own.append(dataclasses.replace(item, id=renamed[item.id]))
    deps = list(scan.dependencies)
    index = {(d.domain, d.function, d.service.id): i for i, d in enumerate(deps) if d.service is not None}
    for dep in inventory.dependencies:
        ids = tuple(renamed[e] for e in dep.evidence)
        moved: Dependency = dataclasses.replace(dep, domain=domain, evidence=ids)
        key = (domain, dep.function, dep.service.id) if dep.service is not None else None
        if key is not None and key in index:
            found = deps[index[key]]
            merged = tuple(sorted(set(found.evidence) | set(ids), key=id_number))
            deps[index[key]] = dataclasses.replace(found, evidence=merged)
            continue
        deps.append(moved)
    summary = summarise(kb, deps, dt.date.fromisoformat(scan.scan.at))
    if scan.summary.nonexistent:
        summary = dataclasses.replace(summary, nonexistent=scan.summary.nonexistent)
    meta = dataclasses.replace(scan.scan, functions=(*scan.scan.functions, *inventory.scan.functions))
    return dataclasses.replace(scan, scan=meta, summary=summary, dependencies=tuple(deps),
                               evidence={**scan.evidence, domain: tuple(own)})
