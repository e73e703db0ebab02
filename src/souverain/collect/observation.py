"""The observation of one domain while it is being collected, frozen for attribution.

Collection fills an ``ObservationBuilder`` step by step (DNS groups, the web fetch, the browser,
first-party hosts); ``freeze()`` gives the ``model.DomainObservation`` attribution reads. The
builder is also the domain's one evidence allocator: every collector adds its evidence through
``add`` (ids ``e1``, ``e2``... in collection order) and DNS answers through ``record``.

``record`` keeps the answer itself (an immutable tuple already): its ``Evidence`` is built when
someone reads ``evidence`` or ``item()`` (a scan's output, notices), never for a survey row, which
reads only ids.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, cast

from souverain.model.evidence import (
    Evidence,
    PendingAnswer,
    Record,
    RequestRecord,
    expanded,
    id_number,
    next_id,
)
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
    entries: list[Evidence | PendingAnswer] = dataclasses.field(default_factory=list)  # in id order
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

    @property
    def evidence(self) -> list[Evidence]:
        """Every item so far, in id order (the answers ``record`` kept become ``Evidence`` here)."""
        entries = self.entries
        for index, entry in enumerate(entries):
            if not isinstance(entry, Evidence):
                entries[index] = expanded(index + 1, entry)
        return cast("list[Evidence]", entries)

    def add(self, source: str, kind: str, subject: str, status: str, *,
            records: Sequence[Record | RequestRecord] = (), resolver: str | None = None,
            at: str | None = None, detail: Mapping[str, Any] | None = None) -> str:
        """Record one piece of evidence; its id."""
        item = Evidence(next_id(len(self.entries)), source, kind,  # type: ignore[arg-type]
                        subject, status, tuple(records), resolver, at,
                        {} if detail is None else detail)
        self.entries.append(item)
        return item.id

    def item(self, evidence_id: str) -> Evidence:
        index = id_number(evidence_id) - 1  # ids are numbered in order by ``add`` and ``record``
        item = self.entries[index] = expanded(index + 1, self.entries[index])
        return item

    def annotate(self, evidence_id: str, **detail: Any) -> None:
        """Add to the detail of an item already recorded (what a later step learnt about it)."""
        index = id_number(evidence_id) - 1
        entry = self.entries[index]
        if isinstance(entry, Evidence):
            self.entries[index] = dataclasses.replace(entry, detail={**entry.detail, **detail})
        else:
            answer, kind, notes = entry
            self.entries[index] = (answer, kind, detail if notes is None else {**notes, **detail})

    def record(self, answer: Answer, kind: str) -> str:
        """Evidence for a DNS answer (one per question, shared by every reader): the answer is
        kept as it is, its ``Evidence`` built when read (``evidence``, ``item()``)."""
        key = f"{answer.name} {answer.rdtype}"
        known = self.ids.get(key)
        if known is not None:
            return known
        self.entries.append((answer, kind, None))
        evidence_id = next_id(len(self.entries) - 1)
        self.ids[key] = evidence_id
        if answer.failed:
            self.failures.append((key, answer.status))
        return evidence_id

    def dns_statuses(self, name: str) -> set[str]:
        """What the DNS questions about ``name`` found, read without building evidence: NOERROR
        for an answer with records whatever its status (an NXDOMAIN with records is about the end
        of a CNAME chain, RFC 6604), else its status."""
        found: set[str] = set()
        for entry in self.entries:
            if isinstance(entry, Evidence):
                if entry.source == "dns" and entry.subject == name:
                    found.add("NOERROR" if entry.records else entry.status)
            elif entry[0].name == name:
                found.add("NOERROR" if entry[0].records else entry[0].status)
        return found

    def freeze(self) -> DomainObservation:
        """The observation attribution reads (the builder is not used after this)."""
        return DomainObservation(
            domain=self.domain, functions=self.functions, entries=tuple(self.entries),
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
