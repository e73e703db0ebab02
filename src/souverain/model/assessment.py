"""The assessment of one offer: EU Cloud Sovereignty Framework score and SEALs, the SecNumCloud
§19.6 ownership test, the laws with their paths, technology providers, claims versus facts.

What ``souverain assess --format json`` writes; ``souverain schema assess`` prints its JSON Schema.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from souverain.model.base import JSONSchema, Model
from souverain.model.dependency import ChainEntry, EntityRef, LawReach

# what a criterion's answer rests on: the KB graph, the provider's documents (or a regulator's),
# marketing, our judgement, or nothing (unknown)
AnswerSource = Literal["derived", "documented", "self-declared", "assessor", "unknown"]
Basis = Literal["estimate", "floor"]
SCHEMA_VERSION = "2"  # of ``souverain assess --format json``; 2: estimate and evidenced floor, scope
TestStatus = Literal["pass", "fail", "unknown"]
CertificationStatus = Literal["certified", "in-progress", "expired", "claimed"]


@dataclasses.dataclass(frozen=True, slots=True)
class Message(Model):
    """A sentence of the assessment by message id (``report/messages``) and values, so that reports
    render it in their language; the English text stays beside it. A value is a string or number,
    the laws (``laws``: ``[{"id", "name"}]``), per-language text (``{"en": ..., "fr": ...}``, framework
    data), KB text quoted as written (``{"quoted": ...}``) or a nested message (``{"key", "params"}``)."""

    key: str
    params: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Source(Model):
    """A source of a fact: the document, its title and the date it was read."""

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"published", "publisher"})

    url: str
    title: str
    retrieved: dt.date
    published: dt.date | None = None
    publisher: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Certification(Model):
    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"scope", "issuer", "valid_from", "valid_to"})

    scheme: str
    scope: str | None = None
    issuer: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    status: CertificationStatus = "certified"


@dataclasses.dataclass(frozen=True, slots=True)
class OfferRef(Model):
    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"scope"})

    id: str
    name: str
    category: str
    service: str | None
    scope: str | None = None  # what the assessment covers (regions, zones, product line)


@dataclasses.dataclass(frozen=True, slots=True)
class OfferLaw(LawReach):
    """A law that binds the provider, and whether it compels access from outside the EU."""

    foreign_access: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class TechnologyLaw(Model):
    id: str
    name: str
    via: Literal["seat", "control"]
    path_text: str


@dataclasses.dataclass(frozen=True, slots=True)
class TechnologyItem(Model):
    """Technology the offer runs on, its provider's controller and the laws that reach it."""

    entity: str
    name: str
    country: str
    controller: EntityRef
    component: str
    product: str | None
    dependency: str  # vendor-operated, licensed-stack-operated-locally, open-source-fork
    open_source: bool | None
    updates_from_provider: bool | None
    keys_from_provider: bool | None
    support_from_provider: bool | None
    foreign: bool
    same_controller: bool
    chain_text: str
    path: str
    laws: tuple[TechnologyLaw, ...]
    note: str | None
    sources: tuple[Source, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Profile(Model):
    id: str
    name: str
    method: Literal["objective-seal", "criterion-points"]
    weights: Mapping[str, float]


@dataclasses.dataclass(frozen=True, slots=True)
class ObjectiveResult(Model):
    """One objective (SOV-n): weight, points and SEAL (its weakest criterion) for the estimate and
    for the evidenced floor, and what limits the floor."""

    id: str
    name: str
    weight: float
    max_points: float
    points_estimate: float  # over the criteria with an answer (unknown left out)
    seal_estimate: int | None  # None: no criterion of the objective has an answer
    points_floor: float  # unknown and assessor answers at the worst option
    seal_floor: int | None
    unknown: int
    assessor: int
    limiting: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class CriterionResult(Model):
    """The answer a criterion gets, where it comes from, and the claim it is compared with.
    An unknown answer shows the worst option (what the floor counts)."""

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"confidence", "rationale", "evidence_message"})

    id: str
    objective: str
    name: str
    option: str
    label: str
    points: float
    max_points: float
    seal: int | None
    source: AnswerSource
    evidence: str | None
    mapping: str
    claimed: str | None = None  # option claimed by the offer, when it differs
    contradiction: bool = False  # a known answer (derived or evidenced) contradicts the claim
    unsupported: bool = False  # the claim is better than the worst case but nothing supports it
    confidence: str | None = None  # high, medium, low (typed answers)
    rationale: str | None = None  # why, for an assessor answer
    searched: tuple[str, ...] = ()  # what was searched and found silent, for an unknown answer
    sources: tuple[Source, ...] = ()
    evidence_message: Message | None = None  # ``evidence`` by message id, for a derived answer


@dataclasses.dataclass(frozen=True, slots=True)
class Gate(Model):
    """The minimum SEAL asked for (``--min-seal``), overall or per objective, on the evidenced floor
    (default) or the estimate (``--gate estimate``), and if it is met."""

    required: int | Mapping[str, int] | None
    passed: bool | None
    failing: tuple[str, ...]
    basis: Basis = "floor"


@dataclasses.dataclass(frozen=True, slots=True)
class Headline(Model):
    """Score and SEAL under one reading of the answers.

    ``estimate``: every answer but unknown counts as given (unknown criteria are left out and the
    weights of what remains rescaled); ``floor``: unknown and assessor answers count as the worst
    option, so only derived, documented and self-declared answers lift it.
    """

    basis: Basis
    score_pct: float
    score_raw_pct: float
    score_parts: Mapping[str, float]
    seal: int | None
    seal_by_objective: Mapping[str, int | None]
    counted: int  # criteria counted as answered
    at_worst: int  # criteria counted at the worst option (floor) or left out (estimate)


@dataclasses.dataclass(frozen=True, slots=True)
class CsfResult(Model):
    """The EU Cloud Sovereignty Framework: the estimate and the evidenced floor, with their parts,
    SEAL per objective, and every criterion's answer."""

    profile: Profile
    estimate: Headline
    floor: Headline
    assessor: tuple[str, ...]  # criteria answered by our judgement (counted in the estimate only)
    objectives: tuple[ObjectiveResult, ...]
    criteria: tuple[CriterionResult, ...]
    unknown: tuple[str, ...]
    contradictions: tuple[CriterionResult, ...]
    unsupported_claims: tuple[CriterionResult, ...]
    gate: Gate


@dataclasses.dataclass(frozen=True, slots=True)
class Holding(Model):
    """A holder outside the home region and its looked-through stake."""

    holder: str
    name: str
    country: str
    capital_pct: float
    votes_pct: float
    paths: tuple[tuple[str, ...], ...]
    veto: bool = False
    board_majority: bool = False
    unknown_share: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class TechnologyCondition(Model):
    """A §19.6 condition applied to one technology provider."""

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"reason_message"})

    condition: str
    status: str
    entity: str
    name: str
    reason: str
    reason_message: Message | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class OwnershipResult(Model):
    """The SecNumCloud 3.2 §19.6 ownership test at a date."""

    COMPUTED: ClassVar[Mapping[str, JSONSchema]] = {
        "status": {"enum": ["pass", "fail", "unknown"], "type": "string"},
    }

    entity: str
    at: dt.date
    seat_ok: bool
    holdings: tuple[Holding, ...]
    collective_capital: float
    collective_votes: float
    failures: tuple[str, ...]
    unknowns: tuple[str, ...]
    other_conditions: tuple[str, ...]
    technology: tuple[TechnologyCondition, ...] = ()  # per provider and condition
    # ``failures`` and ``unknowns`` by message id, in the same order
    failure_messages: tuple[Message, ...] = ()
    unknown_messages: tuple[Message, ...] = ()

    @property
    def status(self) -> TestStatus:
        if self.failures:
            return "fail"
        if self.unknowns:
            return "unknown"
        return "pass"


@dataclasses.dataclass(frozen=True, slots=True)
class Claim(Model):
    """A marketing claim of the offer, and the criterion option it amounts to."""

    text: str
    criterion: str | None
    option: str | None
    sources: tuple[Source, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Assessment(Model):
    """One offer assessed at a date."""

    schema_version: str
    offer: OfferRef
    at: dt.date
    provider: EntityRef
    controller: EntityRef
    chain: tuple[ChainEntry, ...]
    laws: tuple[OfferLaw, ...]
    technology: tuple[TechnologyItem, ...]
    csf: CsfResult
    secnumcloud_19_6: OwnershipResult | None
    claims: tuple[Claim, ...]
    certifications: tuple[Certification, ...]
    sources: tuple[Source, ...]
    kb_version: str

