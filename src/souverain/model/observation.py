"""What collection found about one domain: the facts attribution reads, each pointing back to
evidence ids. Built by ``collect`` (a mutable builder there) and frozen before attribution.
Models (``model.base.Model``) for their cheaper ``__init__``: a survey builds them per domain,
but they are not written to any output as such.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from souverain.model.base import Model
from souverain.model.evidence import Evidence, PendingAnswer, expanded, id_number


@dataclasses.dataclass(frozen=True, slots=True)
class HostAddresses(Model):
    """A host's A and AAAA addresses, with the CNAME chain followed to reach them."""

    host: str
    cnames: tuple[str, ...]
    ipv4: tuple[str, ...]
    ipv6: tuple[str, ...]
    evidence: tuple[str, ...]
    status: str  # NOERROR, NXDOMAIN, TIMEOUT, CNAME-LOOP, CNAME-CHAIN-TOO-LONG...
    loop: bool = False

    @property
    def addresses(self) -> tuple[str, ...]:
        return self.ipv6 + self.ipv4


@dataclasses.dataclass(frozen=True, slots=True)
class ReportDestination(Model):
    """Where a DMARC or TLS-RPT record asks for reports, and whether an outside one accepts them."""

    kind: str  # dmarc-aggregate | dmarc-failure | tls-rpt
    uri: str
    host: str | None  # None when the URI is unusable
    problem: str | None
    authorised: bool | None  # its _report._dmarc record says so; None: not asked, or unknown
    evidence: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class DkimSelector(Model):
    """A DKIM selector that answered: the CNAME chain it delegates through; a key there?"""

    cnames: tuple[str, ...]
    key: bool
    evidence: str


@dataclasses.dataclass(frozen=True, slots=True)
class DomainObservation(Model):
    """Everything collected about one domain. ``site`` is the web collector's result
    (``collect.web.WebResult``), ``spf`` the SPF evaluation (``collect.spf.SPFExpansion``) and
    ``browser`` the headless-browser run (``collect.page_run.BrowserResult``): collector types,
    read by attribution, never written to an output (their evidence is).

    ``entries`` holds the evidence in id order, DNS answers as they came (``PendingAnswer``):
    ``evidence`` builds the items on first read, so attribution that reads only ids (a survey
    row) never pays for them."""

    domain: str
    functions: tuple[str, ...]
    entries: tuple[Evidence | PendingAnswer, ...] = ()
    mx: tuple[tuple[int, str], ...] = ()
    mx_status: str | None = None
    null_mx: bool = False
    mx_hosts: Mapping[str, HostAddresses] = dataclasses.field(default_factory=dict)
    txt: tuple[str, ...] = ()
    txt_status: str | None = None
    spf: Any = None
    dmarc: str | None = None
    tlsrpt: str | None = None
    reports: tuple[ReportDestination, ...] = ()
    dkim: Mapping[str, DkimSelector] = dataclasses.field(default_factory=dict)
    autodiscover: tuple[str, ...] = ()
    derived: Mapping[str, HostAddresses] = dataclasses.field(default_factory=dict)
    mta_sts: str | None = None
    ns: tuple[str, ...] = ()
    ns_status: str | None = None
    ns_hosts: Mapping[str, HostAddresses] = dataclasses.field(default_factory=dict)
    soa: str | None = None
    web_hosts: Mapping[str, HostAddresses] = dataclasses.field(default_factory=dict)
    # the page's own subdomains and where their CNAME chains lead (metrics.example.fr -> a tracker)
    first_party_hosts: Mapping[str, HostAddresses] = dataclasses.field(default_factory=dict)
    caa: tuple[str, ...] = ()
    site: Any = None
    site_evidence: str | None = None
    browser: Any = None
    failures: tuple[tuple[str, str], ...] = ()  # (query, status)
    ids: Mapping[str, str] = dataclasses.field(default_factory=dict)  # "<name> <type>" -> its id
    # the domain's own name is NXDOMAIN (and no question about it says otherwise): it does not exist
    nxdomain: bool = False
    _evidence: tuple[Evidence, ...] | None = dataclasses.field(default=None, init=False, repr=False, compare=False)

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        built = self._evidence
        if built is None:
            built = tuple(expanded(number, entry) for number, entry in enumerate(self.entries, 1))
            object.__setattr__(self, "_evidence", built)  # a cache: the observation itself does not change
        return built

    def item(self, evidence_id: str) -> Evidence:
        return self.evidence[id_number(evidence_id) - 1]
