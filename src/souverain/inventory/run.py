"""``souverain inventory``: read inventory files, attribute every item, and build the same
``ScanResult`` a scan builds, so every report format renders it (evidence: ``file:line`` or
``file#/json/pointer``, source ``file``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from souverain.assess.organisation import summarise
from souverain.errors import UsageError
from souverain.inventory import har, kubernetes, saas_list, sbom, sbom_xml, terraform
from souverain.inventory.attribute import Grouper, Names
from souverain.inventory.detect import detect_kind
from souverain.inventory.items import KINDS, Item
from souverain.model.evidence import Evidence, next_id
from souverain.model.scan import ScanMeta, ScanResult, Tool
from souverain.version import CODE_VERSION, OUTPUT_SCHEMA_VERSION

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase


@dataclasses.dataclass
class InventoryOptions:
    org: str = "inventory"
    at: dt.date = dataclasses.field(default_factory=dt.date.today)
    kind: str | None = None  # None: detected per file
    columns: saas_list.Columns = dataclasses.field(default_factory=saas_list.Columns)

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise UsageError(f"--kind: choose among {', '.join(KINDS)} (got {self.kind})")
        if not self.org.strip():
            raise UsageError("--org: give the organisation's name")


def read_items(kb: KnowledgeBase, path: Path, kind: str) -> Iterator[Item]:
    """The items of one file of a known kind."""
    if kind == "terraform":
        local = kb.records.get("terraform-local-providers")
        return terraform.read(path, frozenset(getattr(local, "values", ())))
    if kind == "kubernetes":
        return kubernetes.read(path)
    if kind == "cyclonedx":
        return sbom.read_cyclonedx(path)
    if kind == "cyclonedx-xml":
        return sbom_xml.read_cyclonedx_xml(path)
    if kind == "spdx":
        return sbom.read_spdx(path)
    if kind == "har":
        return har.read(path)
    return saas_list.read(path)


def run_inventory(kb: KnowledgeBase, paths: Sequence[Path], options: InventoryOptions,
                  progress: Callable[[Path], object] | None = None) -> ScanResult:
    if not paths:
        raise UsageError("no inventory file given")
    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    grouper = Grouper(kb, Names.build(kb))
    evidence: list[Evidence] = []
    kinds: list[str] = []
    for path in paths:
        kind = options.kind or detect_kind(path)
        kinds.append(kind)
        if kind == "saas-list":
            items: Iterator[Item] = saas_list.read(path, options.columns)
        else:
            items = read_items(kb, path, kind)
        for item in items:
            item_id = next_id(len(evidence))
            if grouper.add(item, item_id):
                evidence.append(_evidence(item_id, item))
        if progress:
            progress(path)
    view = kb.at(options.at)
    deps = grouper.dependencies(view, options.org)
    finished = dt.datetime.now(dt.UTC)
    return ScanResult(
        schema_version=OUTPUT_SCHEMA_VERSION,
        kb_version=kb.version,
        tool=Tool("souverain", CODE_VERSION),
        scan=ScanMeta(
            id=uuid.uuid4().hex[:12],
            domains=(options.org,),
            at=options.at.isoformat(),
            started=_iso(started),
            finished=_iso(finished),
            duration_s=round(time.perf_counter() - clock, 3),
            functions=tuple(f"inventory:{kind}" for kind in dict.fromkeys(kinds)),
            nameservers=(),
            dns_stats={},
        ),
        summary=summarise(kb, deps, options.at),
        notices=(),
        dependencies=tuple(deps),
        evidence={options.org: tuple(evidence)},
        failures={},
    )


def _evidence(item_id: str, item: Item) -> Evidence:
    detail: dict[str, str | int] = {"what": item.what, "label": item.label}
    path, hash_, where = item.location.rpartition("#")
    if hash_ and where.startswith("/"):
        detail["file"] = path
        if item.kind != "cyclonedx" or "[" not in where:  # element paths of XML have no command
            detail["pointer"] = where
    else:
        path, _, line = item.location.rpartition(":")
        if line.isdigit():
            detail.update(file=path, line=int(line))
    for name in ("terraform", "registry", "purl", "supplier", "region"):
        value = getattr(item, name)
        if value:
            detail[name] = value
    return Evidence(item_id, "file", item.kind, item.location, "ok", detail=detail)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
