"""Pydantic models of knowledge-base records: one model per folder under ``kb/data``.

Every record carries ``sources`` (url, title, retrieved date) and ``as_of``. Facts that
could not be verified are listed in ``unverified`` (field path -> reason) rather than guessed.
Field documentation lives in ``kb/data/README.md``; a test checks the two agree.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import string
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator
from pydantic_core import PydanticCustomError

from souverain.model.assessment import CertificationStatus
from souverain.model.dependency import Function, NetworkRole

ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*[a-z0-9]$"
RecordId = Annotated[str, Field(pattern=ID_PATTERN, min_length=2, max_length=80)]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Percent = Annotated[float, Field(ge=0, le=100)]

# one list of business functions: the result model's, which attribution and reports type against
FUNCTIONS: tuple[str, ...] = get_args(Function)

ServiceCategory = Literal[
    "mail-hosting",
    "mail-gateway",
    "mail-sending",
    "mail-reporting",
    "dns-hosting",
    "hosting-network",
    "cloud",
    "cdn",
    "certificate-authority",
    "saas",
    "web-analytics",
    "web-tag-manager",
    "web-fonts",
    "web-captcha",
    "web-video",
    "web-social",
    "web-chat",
    "web-maps",
    "web-payment",
    "web-consent",
    "web-advertising",
    "web-library-cdn",
    "web-other",
    "software",  # software components and SDKs a vendor publishes (SBOM suppliers)
]

# What a law can be scoped to: providers of electronic communication services (e-mail, messaging,
# telephony), of remote computing services (storage or processing for the public), operators of
# telecommunications networks, and operators with access to the equipment that carries or stores
# communications (data centres, colocation; FISA 702 since 2024).
ServiceRole = Literal["electronic-communication", "remote-computing", "telecommunications", "equipment-access"]

EntityType = Literal[
    "company",
    "listed-company",
    "nonprofit",
    "foundation",
    "investment-fund",
    "state",
    "public-body",
    "family",
    "cooperative",
    "partnership",
    "dispersed",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


SourceKind = Literal["primary", "secondary"]


class Source(Strict):
    url: HttpUrl
    title: str = Field(min_length=3)
    retrieved: dt.date
    published: dt.date | None = None
    publisher: str | None = None
    # primary: filings, registers, official journals, the company's (or its group's) own pages;
    # secondary: press, databases. Omitted: worked out from the URL (kb/sources.py)
    kind: SourceKind | None = None


class Record(Strict):
    """Fields every record has."""

    id: RecordId
    name: str = Field(min_length=1)
    sources: list[Source] = Field(min_length=1)
    as_of: dt.date
    unverified: dict[str, str] = Field(default_factory=dict)
    notes: str | None = None
    deprecated: bool = False


class Money(Strict):
    value: float = Field(ge=1000, description="absolute amount in currency units (8.5e9, not 8.5)")
    currency: Literal["EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "JPY", "CNY", "CAD"]


class Deal(Strict):
    """The transaction behind an ownership edge (acquisitions, take-privates, IPOs)."""

    announced: dt.date | None = None
    completed: dt.date | None = None
    amount: Money | None = None
    seller: str | None = None
    note: str | None = None


class OwnershipEdge(Strict):
    """A dated holding. ``since`` is the day it started; where no source gives that day,
    ``since_before`` is a day by which it is known to have been held (the start lies before it)
    and ``note`` says what was searched. Before that bound the edge is not asserted."""

    owner: RecordId
    capital_pct: Percent | None = None
    votes_pct: Percent | None = None
    since: dt.date | None = None
    since_before: dt.date | None = None
    until: dt.date | None = None
    veto: bool = False
    board_majority: bool = False
    control: bool | None = None
    deal: Deal | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _dated(self) -> OwnershipEdge:
        if self.since is None and self.since_before is None:
            raise PydanticCustomError(
                "undated_edge", "give `since` (the date the holding started) or `since_before` with a note")
        if self.since is not None and self.since_before is not None:
            raise PydanticCustomError(
                "twice_dated_edge", "give either `since` or `since_before`, not both")
        if self.since_before is not None and not (self.note or "").strip():
            raise PydanticCustomError(
                "bound_without_note", "`since_before` needs a `note` saying what was searched for the start date")
        if self.until and self.until < self.start:
            raise ValueError("until is before since")
        return self

    @property
    def start(self) -> dt.date:
        """The first day the edge is asserted: ``since``, else the ``since_before`` bound."""
        return self.since or self.since_before  # type: ignore[return-value]  # one is set (_dated)

    def valid_at(self, at: dt.date) -> bool:
        """Held at ``at``: from ``since`` (or, when only a bound is known, from ``since_before``:
        an earlier holding is not documented, so it is not asserted) until ``until`` (exclusive)."""
        return self.start <= at and (self.until is None or at < self.until)

    def controls(self) -> bool:
        """Control: explicit flag, else majority of votes (or of capital when votes unknown)."""
        if self.control is not None:
            return self.control
        if self.board_majority:
            return True
        share = self.votes_pct if self.votes_pct is not None else self.capital_pct
        return share is not None and share > 50


DomainName = Annotated[str, Field(pattern=r"^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]$", max_length=253)]


class Entity(Record):
    country: CountryCode
    type: EntityType = "company"
    registration: str | None = None
    lei: Annotated[str, Field(pattern=r"^[A-Z0-9]{20}$")] | None = None
    website: HttpUrl | None = None
    aliases: list[str] = Field(default_factory=list)
    owners: list[OwnershipEdge] = Field(default_factory=list)
    dissolved: dt.date | None = None
    # the kinds of service it provides, where laws are scoped to them (``Law.applies_to``); None:
    # taken from the services and networks it operates in the KB (kb.laws.entity_roles)
    provides: list[ServiceRole] | None = None
    # registrable domains the entity holds (``who skype.com``); unique across entities
    domains: list[DomainName] = Field(default_factory=list)
    # the top-level domains whose registry it operates per the IANA root zone database (``fr``);
    # unique across entities (attribute.registry)
    registry_tlds: list[Annotated[str, Field(pattern=r"^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")]] = Field(
        default_factory=list)
    # its IANA registrar id (RDAP publicIds "IANA Registrar ID"), for ``domain.registrar``
    iana_registrar_id: Annotated[int, Field(gt=0)] | None = None

    @field_validator("domains")
    @classmethod
    def _domains_once(cls, values: list[str]) -> list[str]:
        seen: set[str] = set()
        for value in values:
            if value in seen:
                raise ValueError(f"{value!r} is listed twice")
            seen.add(value)
        return values


class Certification(Strict):
    scheme: str
    scope: str | None = None
    issuer: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    status: CertificationStatus = "certified"


HostSuffix = Annotated[str, Field(pattern=r"^[a-z0-9_]([a-z0-9_.-]*[a-z0-9])?$", max_length=253)]


class Fingerprints(Strict):
    """What identifies a service in evidence. Host names are suffixes matched on label boundaries."""

    mx: list[HostSuffix] = Field(default_factory=list)
    spf: list[HostSuffix] = Field(default_factory=list)
    dkim: list[HostSuffix] = Field(default_factory=list)
    autodiscover: list[HostSuffix] = Field(default_factory=list)
    # domains of the mailboxes that receive DMARC (rua/ruf) and SMTP TLS (TLS-RPT) reports
    report: list[HostSuffix] = Field(default_factory=list)
    ns: list[HostSuffix] = Field(default_factory=list)
    cname: list[HostSuffix] = Field(default_factory=list)
    host: list[HostSuffix] = Field(default_factory=list)
    # URLs of embedded resources: "<host suffix>/<path prefix>", for services that share their hosts
    # with others (reCAPTCHA under www.google.com/recaptcha/); checked before host fingerprints
    url: list[Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+/\S*$")]] = Field(
        default_factory=list)
    txt: list[str] = Field(default_factory=list)
    header: list[Annotated[str, Field(pattern=r"^[a-z0-9-]+(:.+)?$")]] = Field(default_factory=list)
    ca: list[str] = Field(default_factory=list)
    asn: list[Annotated[int, Field(gt=0, lt=2**32)]] = Field(default_factory=list)
    # inventories (``souverain inventory``): Terraform provider source addresses (namespace/type, as
    # in ``registry.terraform.io/hashicorp/aws``), container registry hosts (suffixes), package URL
    # type/namespace prefixes (``maven/com.oracle``), SBOM supplier names (matched exactly,
    # case-insensitively), Kubernetes storage provisioners and load-balancer annotation prefixes
    terraform: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*/[a-z0-9][a-z0-9_-]*$")]] = Field(
        default_factory=list)
    registry: list[HostSuffix] = Field(default_factory=list)
    purl: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9.+-]*/[^\s/]\S*$")]] = Field(default_factory=list)
    supplier: list[Annotated[str, Field(min_length=2)]] = Field(default_factory=list)
    kubernetes: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9./_-]*$")]] = Field(default_factory=list)
    dkim_selectors: list[Annotated[str, Field(pattern=r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")]] = Field(default_factory=list)
    derived_hosts: list[Annotated[str, Field(pattern=r"^\{domain_dashed\}\.[a-z0-9.-]+$")]] = Field(default_factory=list)

    @field_validator("mx", "spf", "dkim", "autodiscover", "report", "ns", "cname", "host", "registry")
    @classmethod
    def _lower_no_dot(cls, values: list[str]) -> list[str]:
        for value in values:
            if value.endswith(".") or ".." in value:
                raise ValueError(f"{value!r}: write host suffixes without trailing or double dots")
        return values

    @field_validator("txt")
    @classmethod
    def _txt_prefix(cls, values: list[str]) -> list[str]:
        for value in values:
            if len(value) < 3:
                raise ValueError(f"{value!r}: a TXT token prefix needs at least 3 characters")
        return values

    def items(self) -> list[tuple[str, str]]:
        """(kind, value) pairs, values normalised for duplicate detection."""
        pairs: list[tuple[str, str]] = []
        for kind in ("mx", "spf", "dkim", "autodiscover", "report", "ns", "cname", "host", "url", "txt", "header", "ca",
                     "asn", "terraform", "registry", "purl", "supplier", "kubernetes"):
            for value in getattr(self, kind):
                pairs.append((kind, str(value).lower()))
        return pairs


class Service(Record):
    operator: RecordId
    category: ServiceCategory
    functions: list[Function] = Field(min_length=1)
    website: HttpUrl | None = None
    data_locations: list[CountryCode] = Field(default_factory=list)
    certifications: list[Certification] = Field(default_factory=list)
    fingerprints: Fingerprints = Field(default_factory=Fingerprints)
    alternatives: list[RecordId] = Field(default_factory=list)
    description: str | None = None
    # what an MX address in this network says about the data: held there (hosting, the default),
    # only carried (a TCP proxy or CDN: transit) or in others' servers housed there (colocation)
    network_role: NetworkRole = "hosting"

    @model_validator(mode="after")
    def _role_needs_networks(self) -> Service:
        if self.network_role != "hosting" and not self.fingerprints.asn:
            raise PydanticCustomError(
                "network_role", "network_role {role} needs fingerprints.asn (it describes address space)",
                {"role": self.network_role})
        return self


LawEffect = Literal["compels-access", "restricts-transfer", "transfer-basis", "retention"]
LawReach = Literal["seat", "control", "presence"]


class LawStatus(Strict):
    state: Literal["in-force", "lapsed", "repealed", "pending", "suspended", "annulled"]
    since: dt.date
    until: dt.date | None = None
    note: str | None = None


class Law(Record):
    # display names (report/names.py): French, and short forms for tables (r-reports)
    name_fr: str | None = None
    short_name: str | None = None
    short_name_fr: str | None = None
    country: CountryCode
    citation: str
    effect: LawEffect
    binds: str = Field(min_length=10, description="who the law binds, in words")
    reach: list[LawReach] = Field(min_length=1)
    # the kinds of provider it binds; empty: every organisation within its reach
    applies_to: list[ServiceRole] = Field(default_factory=list)
    seat_countries: list[CountryCode] = Field(min_length=1)
    extraterritorial: bool
    summary: str = Field(min_length=20)
    status: list[LawStatus] = Field(min_length=1)

    def status_at(self, at: dt.date) -> LawStatus | None:
        current = None
        for item in sorted(self.status, key=lambda s: s.since):
            if item.since <= at and (item.until is None or at < item.until):
                current = item
        return current


AlternativeCategory = Literal[
    "mail",
    "office-suite",
    "storage",
    "video-meetings",
    "chat",
    "analytics",
    "fonts-cdn",
    "captcha",
    "cloud-iaas",
    "paas",
    "dns",
    "ca",
    "cdn",
    "maps",
    "video-hosting",
    "consent",
    "forms",
    "search",
    "identity",
    "mail-gateway",
    "mail-sending",
    "mail-reporting",
    "payment",
    "web-hosting",
    "project-management",
]


# The kinds of service (``ServiceRole``) an operator provides by running a service of each category,
# for laws scoped to them (kb/laws.py): every category stores or carries its customers' data except
# a certificate authority; networks, clouds and CDNs also give access to the equipment.
_DATA: tuple[ServiceRole, ...] = ("electronic-communication", "remote-computing")
_EQUIPMENT: tuple[ServiceRole, ...] = (*_DATA, "equipment-access")
ROLES_BY_CATEGORY: dict[ServiceCategory, tuple[ServiceRole, ...]] = {
    category: () if category == "certificate-authority"
    else _EQUIPMENT if category in ("hosting-network", "cloud", "cdn")
    else _DATA
    for category in get_args(ServiceCategory)
}

# Which kinds of alternative can replace a service of each category. Empty: only alternatives that
# name the service in ``replaces`` are proposed (a SaaS or an ad network has no generic substitute).
ALTERNATIVE_CATEGORIES: dict[ServiceCategory, tuple[AlternativeCategory, ...]] = {
    "mail-hosting": ("mail", "office-suite"),
    "mail-gateway": ("mail-gateway",),
    "mail-sending": ("mail-sending",),
    "mail-reporting": ("mail-reporting",),
    "dns-hosting": ("dns",),
    "hosting-network": ("web-hosting", "cloud-iaas", "paas"),
    "cloud": ("cloud-iaas", "paas", "storage", "web-hosting"),
    "cdn": ("cdn",),
    "certificate-authority": ("ca",),
    "saas": (),
    "web-analytics": ("analytics",),
    "web-tag-manager": ("analytics",),  # a tag manager loads analytics: the alternative is first-party analytics
    "web-fonts": ("fonts-cdn",),
    "web-captcha": ("captcha",),
    "web-video": ("video-hosting",),
    "web-social": (),
    "web-chat": ("chat",),
    "web-maps": ("maps",),
    "web-payment": ("payment",),
    "web-consent": ("consent",),
    "web-advertising": (),
    "web-library-cdn": ("cdn",),
    "web-other": (),
    "software": (),
}


class Alternative(Record):
    categories: list[AlternativeCategory] = Field(min_length=1)
    functions: list[Function] = Field(default_factory=list)
    vendor: RecordId
    service: RecordId | None = None
    replaces: list[RecordId] = Field(default_factory=list)
    hq_country: CountryCode
    open_source: bool
    licence: str | None = None
    self_hostable: bool
    website: HttpUrl
    facts: list[str] = Field(min_length=1)


class Region(Record):
    name_fr: str | None = None  # display name in French (r-reports)
    members: list[CountryCode] = Field(min_length=1)


class FunctionInfo(Record):
    """A business function a scan attributes (``email.inbound``...): how critical, what replaces it."""

    criticality: Annotated[int, Field(ge=1, le=5)]
    # the check group (``scan --functions``) whose answers attribute it; None: not from a scan
    collected_by: Literal["mail", "dns", "web", "registry", "registrar"] | None
    name_fr: str | None = None
    description: str = Field(min_length=10)
    description_fr: str | None = None
    alternative_categories: list[AlternativeCategory] = Field(default_factory=list)


DerivedRule = Literal["control", "jurisdiction", "extraterritorial", "compelled-access", "technology"]

TechnologyComponent = Literal[
    "cloud-platform",
    "productivity-suite",
    "hypervisor",
    "container-platform",
    "operating-system",
    "database",
    "hardware",
    "firmware",
]
# How the offer depends on the technology provider (kb/data/README.md, `technology`):
# vendor-operated: the provider's own staff, data centres or control plane run the stack for the offer;
# licensed-stack-operated-locally: the offer's operator runs the provider's stack (licensed, or supplied
#   inside the provider's group; hardware and its firmware count here) itself, in the EU, with its own staff;
# open-source-fork: the operator builds the provider's open-source code itself and can maintain it alone.
TechnologyDependencyLevel = Literal["vendor-operated", "licensed-stack-operated-locally", "open-source-fork"]


# `*_fr` beside a framework's English texts: the French of the same text (souverain's translation of
# the framework's English wording); `kb validate --strict` requires one beside every English text
class CriterionOption(Strict):
    id: RecordId
    label: str = Field(min_length=2)
    label_fr: str | None = Field(default=None, min_length=2)
    points: float = Field(ge=0)
    seal: Annotated[int, Field(ge=0, le=4)] | None = None  # None: no SEAL mapping sourced


class Criterion(Strict):
    id: Annotated[str, Field(pattern=r"^SOV-[1-8]\.[0-9]+$")]
    name: str = Field(min_length=3)
    name_fr: str | None = Field(default=None, min_length=3)
    question: str | None = None
    question_fr: str | None = None
    derived: DerivedRule | None = None  # computed from the ownership graph and laws, never typed in
    mapping: Literal["sourced", "not-sourced", "inert"] = "sourced"
    options: list[CriterionOption] = Field(min_length=2)


class Objective(Strict):
    id: Annotated[str, Field(pattern=r"^SOV-[1-8]$")]
    name: str
    name_fr: str | None = None
    description: str | None = None
    description_fr: str | None = None
    criteria: list[Criterion] = Field(default_factory=list)


class WeightProfile(Strict):
    name: str
    name_fr: str | None = None
    method: Literal["objective-seal", "criterion-points"]
    weights: dict[str, float]

    @model_validator(mode="after")
    def _sums_to_100(self) -> WeightProfile:
        total = sum(self.weights.values())
        if abs(total - 100) > 0.01:
            raise ValueError(f"weights add up to {total:g}, not 100")
        return self


class OwnershipTest(Strict):
    """SecNumCloud 3.2 §19.6-style thresholds on non-home holdings."""

    home_region: RecordId
    individual_max_pct: Percent
    collective_max_pct: Percent
    forbid_veto: bool = True
    forbid_board_majority: bool = True
    other_conditions: list[str] = Field(default_factory=list)


Tristate = list[bool | None]  # allowed values of a yes/no/unknown fact; null in the list matches "unknown"


class TechnologyMatch(Strict):
    """One row of a technology rule: every condition given must hold for a technology item to match."""

    dependency: list[TechnologyDependencyLevel] | None = None
    component: list[TechnologyComponent] | None = None
    open_source: Tristate | None = None
    updates: Tristate | None = None  # updates_from_provider
    keys: Tristate | None = None  # keys_from_provider
    support: Tristate | None = None  # support_from_provider
    same_controller: bool | None = None  # provider and offer operator share their ultimate controller
    result: RecordId  # an option id of the criterion (CSF) or pass / fail / unknown (SecNumCloud)
    because: str = Field(min_length=3)  # the link shown in the derivation path
    because_fr: str | None = Field(default=None, min_length=3)


class TechnologyRule(Strict):
    """Which answer a criterion gets from the offer's technology items whose provider is foreign."""

    applies_to: str = Field(min_length=2)  # a criterion id (SOV-5.6) or a condition (19.6 c)
    rows: list[TechnologyMatch] = Field(min_length=1)  # first row matched by any foreign item wins
    otherwise: RecordId | None = None  # when foreign items match no row; None: no derived answer
    explanation: str = Field(min_length=20)  # why the ladder maps this way (shown in kb show)


class TechnologyTest(Strict):
    """Rules applied to an offer's technology providers controlled or seated outside ``home_region``."""

    home_region: RecordId
    rules: list[TechnologyRule] = Field(min_length=1)


class Framework(Record):
    version: str
    seal_levels: dict[int, str] = Field(default_factory=dict)
    objectives: list[Objective] = Field(default_factory=list)
    profiles: dict[RecordId, WeightProfile] = Field(default_factory=dict)
    ownership_test: OwnershipTest | None = None
    technology_test: TechnologyTest | None = None
    score_cap_pct: float | None = None

    @model_validator(mode="after")
    def _technology_rules_fit(self) -> Framework:
        if self.technology_test is None:
            return self
        if not self.objectives:  # a pass/fail test such as SecNumCloud §19.6
            for rule in self.technology_test.rules:
                for result in [*(row.result for row in rule.rows), *([rule.otherwise] if rule.otherwise else [])]:
                    if result not in ("pass", "fail", "unknown"):
                        raise ValueError(f"technology_test: {result!r} is not pass, fail or unknown")
            return self
        criteria = {c.id: c for o in self.objectives for c in o.criteria}
        for rule in self.technology_test.rules:
            criterion = criteria.get(rule.applies_to)
            if criterion is None:
                raise ValueError(f"technology_test: {rule.applies_to} is not a criterion of this framework")
            if criterion.derived != "technology":
                raise ValueError(f"technology_test: {rule.applies_to} must have derived: technology")
            options = {o.id for o in criterion.options}
            for result in [*(row.result for row in rule.rows), *([rule.otherwise] if rule.otherwise else [])]:
                if result not in options:
                    raise ValueError(f"technology_test: {result!r} is not an option of {rule.applies_to}")
        return self


# derived: computed from the KB graph (ownership, laws, technology), normally not typed in YAML;
# documented: the provider's contracts, certifications or technical docs, or a regulator/auditor;
# self-declared: marketing; assessor: our judgement, with a one-line rationale.
EvidenceKind = Literal["derived", "documented", "self-declared", "assessor"]
LEGACY_KINDS = {"audited": "documented", "regulator-listed": "documented"}
AnswerConfidence = Literal["high", "medium", "low"]


class Answer(Strict):
    """One CSF answer. ``option`` None (or omitted) is unknown: it then says what was searched."""

    option: RecordId | None = None
    kind: EvidenceKind = "self-declared"
    confidence: AnswerConfidence = "medium"
    evidence: str | None = None  # what the source says, one or two lines
    rationale: str | None = Field(default=None, min_length=5)  # why, for an assessor answer
    searched: list[Annotated[str, Field(min_length=3)]] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)

    @field_validator("kind", mode="before")
    @classmethod
    def _legacy_kind(cls, value: object) -> object:
        return LEGACY_KINDS.get(value, value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _complete(self) -> Answer:
        if self.kind == "assessor" and not self.rationale:
            raise ValueError("an assessor answer needs a rationale (one line: why)")
        if self.option is None and not self.searched:
            raise ValueError("an unknown answer (no option) needs searched: the public material "
                             "searched and found silent")
        if self.option is not None and self.kind != "derived" and not self.sources:  # unknown: `searched` instead
            raise ValueError(f"a {self.kind} answer needs at least one source")
        return self


class Claim(Strict):
    text: str = Field(min_length=5)
    criterion: Annotated[str, Field(pattern=r"^SOV-[1-8]\.[0-9]+$")] | None = None
    option: RecordId | None = None  # the answer the claim amounts to
    sources: list[Source] = Field(min_length=1)


class InlineEntity(Strict):
    """For answers files: the provider when it is not in the KB."""

    name: str
    country: CountryCode
    owners: list[OwnershipEdge] = Field(default_factory=list)


class TechnologyDependency(Strict):
    """Technology the offer runs on, licensed or operated by another company (``Assessment.technology``)."""

    entity: RecordId  # the technology provider, an entity of the KB
    component: TechnologyComponent
    product: str | None = None
    dependency: TechnologyDependencyLevel
    open_source: bool | None = None
    updates_from_provider: bool | None = None  # the provider builds and ships the updates the offer runs
    keys_from_provider: bool | None = None  # the provider holds or supplies the encryption keys
    support_from_provider: bool | None = None  # the provider's engineers support or escalate for the offer
    since: dt.date | None = None
    until: dt.date | None = None
    sources: list[Source] = Field(min_length=1)
    as_of: dt.date
    note: str | None = None

    @model_validator(mode="after")
    def _dates_ordered(self) -> TechnologyDependency:
        if self.since and self.until and self.until < self.since:
            raise ValueError("until is before since")
        return self

    def valid_at(self, at: dt.date) -> bool:
        return (self.since is None or self.since <= at) and (self.until is None or at < self.until)


class Assessment(Record):
    framework: RecordId = "eu-csf"
    provider: RecordId | None = None  # entity id in the KB
    provider_entity: InlineEntity | None = None
    service: RecordId | None = None
    category: Literal["iaas", "paas", "saas", "private-cloud", "colocation", "email", "collaboration", "provider"]
    scope: str | None = Field(default=None, min_length=3)  # what the assessment covers, e.g. "EU regions only"
    answers: dict[Annotated[str, Field(pattern=r"^SOV-[1-8]\.[0-9]+$")], Answer] = Field(default_factory=dict)
    claims: list[Claim] = Field(default_factory=list)
    certifications: list[Certification] = Field(default_factory=list)
    technology: list[TechnologyDependency] = Field(default_factory=list)

    @model_validator(mode="after")
    def _provider_given(self) -> Assessment:
        if (self.provider is None) == (self.provider_entity is None):
            raise ValueError("give exactly one of provider (a KB entity id) or provider_entity")
        return self


TLD = Annotated[str, Field(pattern=r"^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")]


class RDAPServer(Strict):
    """The RDAP service a TLD's registry documents outside IANA's bootstrap; ``url`` None: the
    registry documents none (its sources say where that was looked for)."""

    tld: TLD
    url: Annotated[str, Field(pattern=r"^https://[a-z0-9.-]+(:[0-9]+)?/\S*$", max_length=200)] | None
    registry: RecordId | None = None  # the entity that runs the TLD (its ``registry_tlds``)
    sources: list[Source] = Field(min_length=1)
    as_of: dt.date
    note: str | None = None
    unverified: str | None = None  # what the sources do not settle


class Checklist(Record):
    """A named list a collector probes (e.g. common DKIM selectors), or the RDAP servers of TLDs
    that IANA's bootstrap leaves out (``rdap_servers``)."""

    values: list[str] = Field(default_factory=list)
    rdap_servers: list[RDAPServer] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> Checklist:
        if not (self.values or self.rdap_servers):
            raise ValueError("give `values` (or `rdap_servers`): a list holds something")
        tlds = [server.tld for server in self.rdap_servers]
        if twice := sorted({tld for tld in tlds if tlds.count(tld) > 1}):
            raise ValueError(f"rdap_servers: TLD listed twice: {', '.join(twice)}")
        return self


class LoaderPattern(Strict):
    """A regular expression searched in a page's inline script; the value it finds is the text of
    its group, or of the whole match when it has none."""

    pattern: str = Field(min_length=1, max_length=500)
    when: str | None = Field(default=None, min_length=1)  # searched only if the script has this
    default: str | None = None  # in ``values``: the value when the pattern is not found
    end: str | None = Field(default=None, min_length=1)  # appended unless the value ends with it

    @field_validator("pattern")
    @classmethod
    def _one_group(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        if compiled.groups > 1:
            raise ValueError("give at most one group: its text is the value")
        return value

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern)


class LoaderFallback(Strict):
    url: str = Field(pattern=r"^(https?:)?//\S+$")
    when: str | None = Field(default=None, min_length=1)  # only if the script has this text


class TagLoader(Record):
    """A well-known tag loader snippet (Google Tag Manager, Meta Pixel...): it builds the URL of
    what it loads from pieces, which the page's generic URL scan cannot read whole."""

    when: str | None = Field(default=None, min_length=1)  # the snippet's mark in the script
    ids: list[LoaderPattern] = Field(default_factory=list)  # one URL per distinct value found
    values: dict[Annotated[str, Field(pattern=r"^[a-z][a-z_]*$")], LoaderPattern] = Field(
        default_factory=dict)  # named values: the first found, or the default
    url: str = Field(min_length=3)  # template: {id}, and {name} for each of values
    fallback: LoaderFallback | None = None  # when an id or a value without default is not found

    @model_validator(mode="after")
    def _template_names_known(self) -> TagLoader:
        if not (self.when or self.ids or self.values):
            raise ValueError("give `when`, `ids` or `values`: what to find in the script")
        if "id" in self.values:
            raise ValueError("values: `id` is the name of the ids' value; choose another name")
        if any(p.default is not None for p in self.ids):
            raise ValueError("ids: a `default` only applies to values")
        known = set(self.values) | ({"id"} if self.ids else set())
        try:
            fields = [(name, spec, conversion)
                      for _, name, spec, conversion in string.Formatter().parse(self.url)
                      if name is not None]
        except ValueError as exc:
            raise ValueError(f"url: {exc}") from None
        for name, spec, conversion in fields:
            if name not in known:
                raise ValueError(f"url: {{{name}}} is not one of {sorted(known) or 'nothing'}")
            if spec or conversion:
                raise ValueError(f"url: write {{{name}}} plainly, without conversion or format")
        return self


KINDS: dict[str, type[Record]] = {
    "entities": Entity,
    "services": Service,
    "laws": Law,
    "alternatives": Alternative,
    "regions": Region,
    "lists": Checklist,
    "loaders": TagLoader,
    "functions": FunctionInfo,
    "frameworks": Framework,
    "assessments": Assessment,
}

_SLUG = re.compile(ID_PATTERN)


def is_valid_id(value: str) -> bool:
    return bool(_SLUG.match(value))
