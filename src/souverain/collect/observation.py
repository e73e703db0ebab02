"""The observation of one domain while it is being collected, frozen for attribution.

Collection fills an ``ObservationBuilder`` step by step (DNS groups, the web fetch, the browser,
first-party hosts); ``freeze()`` gives the ``model.DomainObservation`` attribution reads. The
builder is also the domain's one evidence allocator: every collector adds its evidence through
``add`` (ids ``e1``, ``e2``... in collection order) and DNS answers through ``record``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from souverain.model.evidence import Evidence, Record, RequestRecord, id_number, next_id
from souverain.model.observation import (
    DkimSelector,
    DomainObservation,
    HostAddresses,
    ReportDestination,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from souverain.collect.dns import Answer


@dataclasses.dataclass(slots=True)
class ObservationBuilder:
    domain: str
    functions: tuple[str, ...]
    evidence: list[Evidence] = dataclasses.field(default_factory=list)
    mx: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    mx_status: str | None = None
    null_mx: bool = False
    mx_hosts: dict[str, HostAddresses] = dataclasses.field(default_factory=dict)
    txt: list[str] = dataclasses.field(default_factory=list)
    txt_status: str | None = None
    spf: Any = None  # collect.spf.SPFExpansion
    dmarc: str | None = None
    tlsrpt: str | None = None
    reports: list[ReportDestination] = dataclasses.field(default_factory=list)
    dkim: dict[str, DkimSelector] = dataclasses.field(default_factory=dict)
    autodiscover: list[str] = dataclasses.field(default_factory=list)
    derived: dict[str, HostAddresses] = dataclasses.field(default_factory=dict)
    mta_sts: str | None = None
    ns: list[str] = dataclasses.field(default_factory=list)
    ns_status: str | None = None
    ns_hosts: dict[str, HostAddresses] = dataclasses.field(default_factory=dict)
    soa: str | None = None
    web_hosts: dict[str, HostAddresses] = dataclasses.field(default_factory=dict)
    first_party_hosts: dict[str, HostAddresses] = dataclasses.field(default_factory=dict)
    caa: list[str] = dataclasses.field(default_factory=list)
    site: Any = None  # collect.web.WebResult
    site_evidence: str | None = None
    browser: Any = None  # collect.page_run.BrowserResult
    failures: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    ids: dict[str, str] = dataclasses.field(default_factory=dict)
    nxdomain: bool = False

    def add(self, source: str, kind: str, subject: str, status: str, *,
            records: Sequence[Record | RequestRecord] = (), resolver: str | None = None,
            at: str | None = None, detail: Mapping[str, Any] | None = None) -> str:
        """Record one piece of evidence; its id."""
        item = Evidence(next_id(len(self.evidence)), source, kind,  # type: ignore[arg-type]
                        subject, status, tuple(records), resolver, at,
                        {} if detail is None else detail)
        self.evidence.append(item)
        return item.id

    def item(self, evidence_id: str) -> Evidence:
        return self.evidence[id_number(evidence_id) - 1]  # ids are numbered in order by ``add``

    def annotate(self, evidence_id: str, **detail: Any) -> None:
        """Add to the detail of an item already recorded (what a later step learnt about it)."""
        index = id_number(evidence_id) - 1
        item = self.evidence[index]
        self.evidence[index] = dataclasses.replace(item, detail={**item.detail, **detail})

    def record(self, answer: Answer, kind: str) -> str:
        """Evidence for a DNS answer (one per question, shared by every reader)."""
        key = f"{answer.name} {answer.rdtype}"
        if key in self.ids:
            return self.ids[key]
        detail: dict[str, Any] = {"rdtype": answer.rdtype}
        if answer.error:
            detail["error"] = answer.error
        if answer.tcp:
            detail["tcp"] = True
        evidence_id = self.add("dns", kind, answer.name, answer.status, records=answer.records,
                               resolver=answer.resolver, at=answer.at, detail=detail)
        self.ids[key] = evidence_id
        if answer.failed:
            self.failures.append((key, answer.status))
        return evidence_id

    def freeze(self) -> DomainObservation:
        """The observation attribution reads (the builder is not used after this)."""
        return DomainObservation(
            domain=self.domain, functions=self.functions, evidence=tuple(self.evidence),
            mx=tuple(self.mx), mx_status=self.mx_status, null_mx=self.null_mx,
            mx_hosts=self.mx_hosts, txt=tuple(self.txt),
            txt_status=self.txt_status, spf=self.spf, dmarc=self.dmarc, tlsrpt=self.tlsrpt,
            reports=tuple(self.reports), dkim=self.dkim, autodiscover=tuple(self.autodiscover),
            derived=self.derived, mta_sts=self.mta_sts, ns=tuple(self.ns), ns_status=self.ns_status,
            ns_hosts=self.ns_hosts, soa=self.soa, web_hosts=self.web_hosts,
            first_party_hosts=self.first_party_hosts, caa=tuple(self.caa), site=self.site,
            site_evidence=self.site_evidence, browser=self.browser, failures=tuple(self.failures),
            ids=self.ids, nxdomain=self.nxdomain,
        )
