"""A survey row: the flat summary stored per domain of a population run (``store.surveys``) and
exported as JSONL, CSV or Parquet. One status/service/controller/country/foreign/tier group of
columns per key function (``mail``, ``dns``, ``web``) and for the domain's ``registry`` and
``registrar`` when the run asked for them (``--functions registry,registrar``; their ``service``
column holds the registry's or registrar's name), the foreign laws of the key functions, and the
dependencies in a compact form; the input row's other columns come back as ``attr_<name>``.

``souverain schema survey-row`` prints the JSON Schema of one JSONL line.
"""

from __future__ import annotations

import dataclasses
import json
import operator
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple, Protocol

from souverain.model.base import JSONSchema, Model
from souverain.model.dependency import Confidence, Status, Tier
from souverain.model.scan import Verdict

ATTRIBUTE_PREFIX = "attr_"


@dataclasses.dataclass(frozen=True, slots=True)
class CompactDependency(Model):
    """A dependency as a survey keeps it: ids, not names (the KB has the names)."""

    function: str
    status: Status
    confidence: Confidence
    tier: Tier
    service: str | None
    controller: str | None
    country: str | None
    laws: tuple[str, ...]  # the foreign laws that reach it
    reason: str
    subject: str | None

    def as_dict(self) -> dict[str, Any]:  # by hand: a survey writes millions
        return {"function": self.function, "status": self.status, "confidence": self.confidence,
                "tier": self.tier, "service": self.service, "controller": self.controller, "country": self.country,
                "laws": list(self.laws), "reason": self.reason, "subject": self.subject}


@dataclasses.dataclass(frozen=True, slots=True)
class SurveyRow(Model):
    """One domain of a survey run."""

    domain: str
    status: Literal["ok", "unknown"]  # unknown: the domain could not be scanned (reason says why)
    reason: str | None
    verdict: Verdict | None
    foreign_laws: str | None  # law ids, space-separated
    mail_status: str | None = None
    mail_service: str | None = None
    mail_controller: str | None = None
    mail_country: str | None = None
    mail_foreign: bool | None = None
    mail_tier: Tier | None = None
    dns_status: str | None = None
    dns_service: str | None = None
    dns_controller: str | None = None
    dns_country: str | None = None
    dns_foreign: bool | None = None
    dns_tier: Tier | None = None
    web_status: str | None = None
    web_service: str | None = None
    web_controller: str | None = None
    web_country: str | None = None
    web_foreign: bool | None = None
    web_tier: Tier | None = None
    registry_status: str | None = None
    registry_service: str | None = None  # the registry (operator) name: it has no KB service
    registry_controller: str | None = None
    registry_country: str | None = None
    registry_foreign: bool | None = None
    registry_tier: Tier | None = None
    registrar_status: str | None = None
    registrar_service: str | None = None  # the registrar (operator) name: it has no KB service
    registrar_controller: str | None = None
    registrar_country: str | None = None
    registrar_foreign: bool | None = None
    registrar_tier: Tier | None = None
    finished: str = ""
    # the input row's other columns
    attrs: Mapping[str, str] = dataclasses.field(default_factory=dict)
    dependencies: tuple[CompactDependency, ...] = ()

    def flat(self) -> dict[str, Any]:
        """The columns and the input attributes (``attr_<name>``): a CSV or Parquet row."""
        out = {name: getattr(self, name) for name in COLUMNS}
        out.update({f"{ATTRIBUTE_PREFIX}{key}": value for key, value in self.attrs.items()})
        return out

    def as_dict(self) -> dict[str, Any]:
        """A JSONL line: the flat row and the dependencies."""
        out = self.flat()
        out["dependencies"] = [dep.as_dict() for dep in self.dependencies]
        return out

    @property
    def registration(self) -> bool:
        """Whether the row has registry or registrar columns (only when the run asked for them)."""
        return self.registry_status is not None or self.registrar_status is not None

    def values(self, registration: bool = True) -> tuple[Any, ...]:
        """The stored columns, in ``stored_columns(registration)`` order (dependencies as compact
        JSON; attributes stay with the targets): what a worker sends its parent, a plain tuple
        being far cheaper to pickle and to insert than the row. Without ``registration``, not the
        registry/registrar ones (left NULL: a run that did not ask for these functions binds no
        more columns than before they existed)."""
        deps = json.dumps([dep.as_dict() for dep in self.dependencies], ensure_ascii=False, separators=(",", ":"))
        return (_ALL_VALUES if registration else _UNREGISTERED_VALUES)(self) + (deps,)

    def record(self, registration: bool = True) -> dict[str, Any]:
        """The stored columns by name (``values`` as a mapping): what ``from_record`` reads back."""
        return dict(zip(stored_columns(registration), self.values(registration), strict=True))

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> SurveyRow:
        """A row read back from the store (``attrs`` joined from its target)."""
        deps = json.loads(data["dependencies"]) if data.get("dependencies") else []
        columns: dict[str, Any] = {name: data.get(name) for name in COLUMNS}
        return cls(**columns,
                   attrs=data.get("attrs") or {},
                   dependencies=tuple(CompactDependency(**{**dep, "laws": tuple(dep["laws"]),
                                                           "tier": dep.get("tier") or _old_tier(dep)})
                                      for dep in deps))

    @classmethod
    def adjust_schema(cls, schema: JSONSchema) -> None:
        properties = schema["properties"]
        del properties["attrs"]
        schema["required"] = [name for name in schema["required"] if name != "attrs"]
        schema["patternProperties"] = {f"^{ATTRIBUTE_PREFIX}": {"type": "string"}}


class Outcome(Protocol):
    """How a domain of a run ended, as a progress indicator sees it: a ``SurveyRow`` or a ``RowOutcome``."""

    @property
    def status(self) -> str: ...

    @property
    def verdict(self) -> str | None: ...


class RowOutcome(NamedTuple):
    """The outcome of a row stored from a worker's values (the parent does not rebuild the row)."""

    status: str
    verdict: str | None


def _old_tier(dep: Mapping[str, Any]) -> Tier:
    """The tier of a dependency stored before tiers existed (registration-only answers did not exist)."""
    return "unknown" if dep["status"] == "unknown" else "verified"


COLUMNS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(SurveyRow)
                                 if field.name not in ("attrs", "dependencies"))
REGISTRATION_COLUMNS = tuple(name for name in COLUMNS if name.startswith(("registry_", "registrar_")))
_UNREGISTERED = tuple(name for name in COLUMNS if name not in REGISTRATION_COLUMNS)
_ALL_VALUES = operator.attrgetter(*COLUMNS)
_UNREGISTERED_VALUES = operator.attrgetter(*_UNREGISTERED)


def stored_columns(registration: bool = True) -> tuple[str, ...]:
    """The columns of ``SurveyRow.values``, in its order."""
    return (*(COLUMNS if registration else _UNREGISTERED), "dependencies")
