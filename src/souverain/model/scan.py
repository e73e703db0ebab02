"""The result of a scan: what ``souverain scan --format json`` writes and the store keeps.

The JSON form is a documented contract (ARCHITECTURE.md, "Contracts"), versioned by
``schema_version``; ``souverain schema scan`` prints its JSON Schema.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import ClassVar, Literal

from souverain.model.base import Model
from souverain.model.dependency import Dependency, Tier
from souverain.model.evidence import Evidence

FunctionState = Literal["exposed", "not-exposed", "unknown", "absent"]
Verdict = Literal["exposed", "partly-exposed", "undetermined", "not-exposed"]
MessageValue = str | int | float | bool | None  # a value shown in a message


@dataclasses.dataclass(frozen=True, slots=True)
class Tool(Model):
    name: str
    version: str


@dataclasses.dataclass(frozen=True, slots=True)
class BrowserSettings(Model):
    """How pages were run in headless Chromium (``scan --browser``)."""

    chromium: str
    timeout: float
    settle: float
    max_requests: int


@dataclasses.dataclass(frozen=True, slots=True)
class ScanMeta(Model):
    """When, how and against which name servers the scan ran."""

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"browser", "stored_id"})

    id: str
    domains: tuple[str, ...]
    at: str  # the date ownership and laws are read at (ISO 8601)
    started: str
    finished: str
    duration_s: float
    functions: tuple[str, ...]  # the groups of checks: mail, dns, web
    nameservers: tuple[str, ...]
    dns_stats: Mapping[str, int]
    browser: BrowserSettings | None = None
    stored_id: int | None = None  # the id in the store, once stored (not in the stored document)


@dataclasses.dataclass(frozen=True, slots=True)
class FunctionSummary(Model):
    """One business function over the scanned domains."""

    function: str
    name: str
    name_fr: str
    criticality: int
    state: FunctionState
    services: tuple[str, ...]
    controllers: tuple[str, ...]
    laws: tuple[str, ...]
    unknown: int


@dataclasses.dataclass(frozen=True, slots=True)
class ScorePart(Model):
    function: str
    criticality: int
    state: FunctionState


@dataclasses.dataclass(frozen=True, slots=True)
class Score(Model):
    """Share of the functions' weight (criticality) foreign laws reach; the worst case counts the
    unknown as reached."""

    exposure_pct: float
    exposure_worst_case_pct: float
    parts: tuple[ScorePart, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class LawRef(Model):
    id: str
    name: str
    country: str


@dataclasses.dataclass(frozen=True, slots=True)
class Alternative(Model):
    """A European alternative for a function foreign laws reach."""

    id: str
    name: str
    vendor: str
    country: str
    open_source: bool
    self_hostable: bool
    website: str
    replaces_current: bool  # it names a service found among those it would replace
    fact: str
    replaces_found: tuple[str, ...] = ()  # display names of the services found that it can replace
    foreign_laws: tuple[str, ...] = ()  # law ids of foreign laws compelling access that reach its vendor
    secnumcloud: bool = False  # its service holds a SecNumCloud qualification in the KB
    assessment: str | None = None  # id of a CSF assessment of its vendor's offer in the KB


@dataclasses.dataclass(frozen=True, slots=True)
class Counts(Model):
    """How many dependencies; ``by_tier``: how many rest on each tier (``registered``: on a
    network's registration only, ownership not researched)."""

    dependencies: int
    exposed: int
    unknown: int
    by_tier: Mapping[str, int]


@dataclasses.dataclass(frozen=True, slots=True)
class Summary(Model):
    """The organisation-level verdict: functions weighted by criticality, laws, alternatives."""

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"nonexistent"})

    verdict: Verdict
    critical_exposed: tuple[str, ...]
    critical_unknown: tuple[str, ...]
    laws: tuple[LawRef, ...]
    functions: tuple[FunctionSummary, ...]
    score: Score
    alternatives: Mapping[str, tuple[Alternative, ...]]
    counts: Counts
    min_confidence: Tier  # the weakest tier counted in the verdict, states and score (weaker: unknown)
    nonexistent: tuple[str, ...] | None = None  # scanned domains that do not exist (NXDOMAIN)


@dataclasses.dataclass(frozen=True, slots=True)
class Notice(Model):
    """What the reader must see besides the dependencies; ``id`` is a message id under "notice."."""

    domain: str | None  # None: about the whole scan
    id: str
    level: Literal["error", "warning"]
    evidence: tuple[str, ...]
    params: Mapping[str, MessageValue]


@dataclasses.dataclass(frozen=True, slots=True)
class Failure(Model):
    """A query that failed, with the network error behind it when there was one."""

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"error"})

    query: str
    status: str
    error: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ScanResult(Model):
    """One scan of an organisation's domains."""

    schema_version: str
    kb_version: str
    tool: Tool
    scan: ScanMeta
    summary: Summary
    notices: tuple[Notice, ...]
    dependencies: tuple[Dependency, ...]
    evidence: Mapping[str, tuple[Evidence, ...]]
    failures: Mapping[str, tuple[Failure, ...]]

    def evidence_of(self, domain: str) -> dict[str, Evidence]:
        """The evidence of ``domain`` by id."""
        return {item.id: item for item in self.evidence.get(domain, ())}
